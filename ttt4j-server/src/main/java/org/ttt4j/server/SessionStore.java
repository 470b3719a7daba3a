package org.ttt4j.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.api.Session;
import org.ttt4j.lm.io.FolderLock;
import org.ttt4j.lm.io.SafeTensors;

/**
 * The server's sessions: every session is a state file {@code <id>.safetensors} in the state folder,
 * rewritten atomically after each request that changed it, and at most {@code maxInMemory} of them
 * are also held in memory (least recently used leave first; those in use never). A restart finds
 * every session on disk as the last answered request left it.
 *
 * <p>Only the engine thread reads and changes sessions; listing and exporting may come from any
 * thread, so the bookkeeping is synchronized.
 */
final class SessionStore implements AutoCloseable {
    /** What a session id may be: letters, digits, '-' and '_', 1 to 64 of them (no path can be formed). */
    static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final String SUFFIX = ".safetensors";
    /** What a crash can leave behind: a state file being written ({@code AtomicFiles}' temporary sibling) or an upload. */
    private static final Pattern LEFTOVER = Pattern.compile("[A-Za-z0-9_-]{1,64}\\.safetensors\\.tmp-[0-9a-f]+|\\.import-.*\\.part");

    /** One session as listed. */
    record Info(String id, long position, long stateBytes, long fileBytes, boolean inMemory) {}

    private final LanguageModel model;
    private final Path dir;
    private final int maxInMemory;
    private final FolderLock lock;
    private final SecureRandom random = new SecureRandom();
    /** Sessions on disk by id; the value is the session when it is in memory, else null. Access order: LRU first. */
    private final LinkedHashMap<String, Session> sessions = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<String, Integer> pinned = new LinkedHashMap<>();
    /** Position and state bytes of each session as last saved (listing never reads a session being changed). */
    private final Map<String, long[]> saved = new java.util.HashMap<>();

    SessionStore(LanguageModel model, Path dir, int maxInMemory) throws IOException {
        if (maxInMemory < 1) throw new IllegalArgumentException("max sessions in memory must be >= 1, got " + maxInMemory);
        this.model = model;
        this.dir = dir;
        this.maxInMemory = maxInMemory;
        Files.createDirectories(dir);
        this.lock = FolderLock.acquire(dir, "serve");
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            var found = new TreeMap<String, Session>();
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (LEFTOVER.matcher(name).matches()) {
                    Files.deleteIfExists(f);
                } else if (name.endsWith(SUFFIX) && ID.matcher(name.substring(0, name.length() - SUFFIX.length())).matches()) {
                    found.put(name.substring(0, name.length() - SUFFIX.length()), null);
                }
            }
            sessions.putAll(found);
        }
    }

    /** The state folder. */
    Path dir() {
        return dir;
    }

    /** Throws {@link ApiException} 400 unless {@code id} is a valid session id. */
    static String checkId(String id, String field) {
        if (id == null || !ID.matcher(id).matches()) {
            throw ApiException.badRequest(field, field + " must be 1 to 64 letters, digits, '-' or '_', got "
                    + (id == null ? "nothing" : "\"" + Json.clip(id) + "\""));
        }
        return id;
    }

    /** The state file of session {@code id}. */
    Path file(String id) {
        return dir.resolve(checkId(id, "session") + SUFFIX);
    }

    synchronized boolean exists(String id) {
        return sessions.containsKey(id);
    }

    /** A new id no session has. */
    synchronized String newId() {
        String id;
        do {
            byte[] b = new byte[9];
            random.nextBytes(b);
            id = "sess_" + HexFormat.of().formatHex(b);
        } while (sessions.containsKey(id));
        return id;
    }

    /**
     * Session {@code id}, loaded from its file if it is not in memory. The caller holds it until
     * {@link #release}: it is not evicted meanwhile.
     */
    Session acquire(String id) throws IOException {
        Session s;
        synchronized (this) {
            if (!sessions.containsKey(id)) throw ApiException.notFound("session", "no session \"" + id + "\"");
            pinned.merge(id, 1, Integer::sum);
            s = sessions.get(id);
        }
        if (s == null) {
            try {
                s = model.loadSession(file(id));
            } catch (IOException | RuntimeException e) {
                release(id);
                throw e;
            }
            synchronized (this) {
                if (sessions.containsKey(id)) sessions.put(id, s);
                evict();
            }
        }
        return s;
    }

    /** Ends a hold taken by {@link #acquire} or {@link #put}. */
    synchronized void release(String id) {
        pinned.computeIfPresent(id, (k, n) -> n == 1 ? null : n - 1);
        evict();
    }

    /** Forgets the in-memory copy of {@code id} (after a failed request): the next use reloads its file. */
    synchronized void forget(String id) {
        if (sessions.containsKey(id)) sessions.put(id, null);
    }

    /**
     * Saves {@code session} as {@code id} (atomically; a new id is created) and keeps it in memory,
     * held by the caller until {@link #release} if {@code hold}.
     */
    void put(String id, Session session, boolean hold) throws IOException {
        session.save(file(id));
        long[] figures = {session.position(), 4 * session.stateFloats()};
        synchronized (this) {
            sessions.put(id, session);
            saved.put(id, figures);
            if (hold) pinned.merge(id, 1, Integer::sum);
            evict();
        }
    }

    /** Deletes session {@code id}, its file first. */
    void delete(String id) throws IOException {
        synchronized (this) {
            if (!sessions.containsKey(id)) throw ApiException.notFound("session", "no session \"" + id + "\"");
        }
        Files.deleteIfExists(file(id));
        synchronized (this) {
            sessions.remove(id);
            saved.remove(id);
        }
    }

    synchronized int inMemory() {
        int n = 0;
        for (Session s : sessions.values()) if (s != null) n++;
        return n;
    }

    synchronized int onDisk() {
        return sessions.size();
    }

    /** Every session, in id order. */
    List<Info> list() {
        List<String> ids;
        synchronized (this) {
            ids = new ArrayList<>(new TreeMap<>(sessions).keySet());
        }
        List<Info> out = new ArrayList<>();
        for (String id : ids) {
            try {
                out.add(info(id));
            } catch (ApiException gone) {
                // deleted meanwhile
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
        return out;
    }

    /** Session {@code id} as last saved. */
    Info info(String id) throws IOException {
        long[] figures;
        boolean inMemory;
        synchronized (this) {
            if (!sessions.containsKey(id)) throw ApiException.notFound("session", "no session \"" + id + "\"");
            figures = saved.get(id);
            inMemory = sessions.get(id) != null;
        }
        Path f = file(id);
        try {
            long bytes = Files.size(f);
            if (figures == null) {
                String p = SafeTensors.readHeader(f).metadata().get("position");
                figures = new long[] {p == null ? -1 : Long.parseLong(p), -1};
            }
            return new Info(id, figures[0], figures[1], bytes, inMemory);
        } catch (NoSuchFileException gone) {
            throw ApiException.notFound("session", "no session \"" + id + "\"");
        }
    }

    /** Drops least recently used sessions from memory (never a held one) until at most the limit are there. */
    private void evict() {
        int n = inMemory();
        if (n <= maxInMemory) return;
        Set<String> held = pinned.keySet();
        for (var e : sessions.entrySet()) {
            if (n <= maxInMemory) break;
            if (e.getValue() != null && !held.contains(e.getKey())) {
                e.setValue(null);
                n--;
            }
        }
    }

    @Override
    public void close() throws IOException {
        lock.close();
    }
}
