package org.ttt4j.lm.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.ttt4j.lm.tokenizer.Tokenizer;

/**
 * A corpus tokenised once into binary shards on disk and memory-mapped for training.
 *
 * <p>Tokenising 200 MB of text takes minutes, so the result is cached in
 * {@code cacheRoot/<tokenizer>-<fingerprint>/}. The fingerprint hashes the corpus entries (ids,
 * sizes, mtimes or zip CRCs), the globs, the split and the tokenizer (name, vocabulary size,
 * boundary id and the ids it gives a fixed probe text), so the cache is reused exactly when
 * nothing that affects the tokens changed. A cache is built in a temporary directory, every file
 * is fsynced, and the directory is renamed into place: a killed run leaves either no cache or a
 * complete one. On open, every shard's length is checked against the manifest and a bad cache is
 * rebuilt with a message.
 *
 * <p>Layout: documents in id order, each followed by {@link Tokenizer#documentBoundary()}, split
 * into train and validation by {@link Split}; each split in shards of about
 * {@link Options#shardTokens()} tokens cut at document ends; uint16 little-endian when the
 * vocabulary fits in 65536 ids, else int32. Documents are tokenised on several threads but written
 * in order, so the files are bit-identical for any thread count (the tokenizer's {@code encode}
 * must be thread-safe when {@code threads > 1}).
 */
public final class TokenizedCorpus implements AutoCloseable {
    private static final String PROBE = "The quick brown fox jumps over the lazy dog.\n"
            + "public static void main(String[] args) { int x = 42; }\n\tÉtude naïve — 東京 😀 \u0000\u00ff";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * Build settings.
     *
     * @param threads          tokenisation threads
     * @param shardTokens      target tokens per shard (shards end at document ends)
     * @param log              where progress and cache messages go (System.err by default)
     * @param progressSeconds  seconds between progress lines
     */
    public record Options(int threads, long shardTokens, PrintStream log, double progressSeconds) {
        public Options {
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1");
            if (shardTokens < 1) throw new IllegalArgumentException("shardTokens must be >= 1");
        }

        /** min(4, cores) threads, 64M-token shards, progress on stderr every 5 s. */
        public static Options defaults() {
            return new Options(Math.min(4, Runtime.getRuntime().availableProcessors()), 1L << 26, System.err, 5);
        }

        public Options withThreads(int t) {
            return new Options(t, shardTokens, log, progressSeconds);
        }

        public Options withShardTokens(long n) {
            return new Options(threads, n, log, progressSeconds);
        }

        public Options withLog(PrintStream l) {
            return new Options(threads, shardTokens, l, progressSeconds);
        }
    }

    private final Path directory;
    private final ShardManifest manifest;
    private final boolean built;
    private final Arena arena;
    private final TokenShards train;
    private final TokenShards validation;

    private TokenizedCorpus(Path directory, ShardManifest manifest, boolean built) throws IOException {
        this.directory = directory;
        this.manifest = manifest;
        this.built = built;
        this.arena = Arena.ofShared();
        try {
            this.train = new TokenShards(directory, manifest.train(), manifest.dtype(), arena);
            this.validation = new TokenShards(directory, manifest.validation(), manifest.dtype(), arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Opens (or builds) the token cache of a corpus with default options. */
    public static TokenizedCorpus open(CorpusSource source, Tokenizer tokenizer, Split split, Path cacheRoot) {
        return open(source, tokenizer, split, cacheRoot, Options.defaults());
    }

    /**
     * Opens the cache for (source, tokenizer, split) under {@code cacheRoot}, building it first if
     * it is missing or damaged.
     */
    public static TokenizedCorpus open(CorpusSource source, Tokenizer tokenizer, Split split, Path cacheRoot,
                                       Options options) {
        String fingerprint = fingerprint(source, tokenizer, split);
        Path dir = cacheRoot.resolve(sanitize(tokenizer.name()) + "-" + fingerprint.substring(0, 16));
        try {
            Files.createDirectories(cacheRoot);
            cleanAbandoned(cacheRoot, options.log());
            if (Files.isDirectory(dir)) {
                String problem = check(dir, fingerprint);
                if (problem == null) return new TokenizedCorpus(dir, readManifest(dir), false);
                options.log().println("token cache " + dir + " is damaged (" + problem + "): rebuilding it");
                deleteTree(dir);
            }
            build(source, tokenizer, split, cacheRoot, dir, fingerprint, options);
            String problem = check(dir, fingerprint);
            if (problem != null) throw new IOException("token cache " + dir + " is invalid right after building: " + problem);
            return new TokenizedCorpus(dir, readManifest(dir), true);
        } catch (IOException e) {
            throw new UncheckedIOException("token cache " + dir + " for " + source.description() + ": " + e.getMessage(), e);
        }
    }

    /** The directory holding manifest.json and the shards. */
    public Path directory() {
        return directory;
    }

    public ShardManifest manifest() {
        return manifest;
    }

    public String fingerprint() {
        return manifest.fingerprint();
    }

    /** True when this open tokenised the corpus, false when an existing cache was reused. */
    public boolean wasBuilt() {
        return built;
    }

    public int documentBoundary() {
        return manifest.documentBoundary();
    }

    public TokenShards train() {
        return train;
    }

    public TokenShards validation() {
        return validation;
    }

    /** Random training windows of {@code contextLength + 1} tokens; see {@link BatchSampler}. */
    public BatchSampler sampler(int batchSize, int contextLength, long seed) {
        return new BatchSampler(train, batchSize, contextLength, seed, manifest.fingerprint());
    }

    /** Fixed validation batches over whole held-out documents; see {@link TokenShards#windows}. */
    public List<Batch> validationBatches(int batchSize, int contextLength) {
        return validation.windows(batchSize, contextLength, manifest.documentBoundary());
    }

    /** The n longest held-out documents with at least minTokens tokens, as whole token arrays. */
    public List<TokenDocument> longestDocuments(int n, int minTokens) {
        return validation.longestDocuments(n, minTokens);
    }

    /** Unmaps the shards; batches already returned stay valid, the shards cannot be read afterwards. */
    @Override
    public void close() {
        arena.close();
    }

    // ---------------------------------------------------------------- fingerprint and checks

    /** The cache key of (source, tokenizer, split), as 64 hex digits. */
    public static String fingerprint(CorpusSource source, Tokenizer tokenizer, Split split) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            StringBuilder sb = new StringBuilder();
            sb.append("ttt4j-token-cache format=").append(ShardManifest.FORMAT).append('\n');
            sb.append("include=").append(source.globs().include()).append('\n');
            sb.append("exclude=").append(source.globs().exclude()).append('\n');
            sb.append("split=").append(split.seed()).append(',').append(split.validationFraction()).append('\n');
            sb.append("tokenizer=").append(tokenizer.name()).append(',').append(tokenizer.vocabSize())
                    .append(',').append(tokenizer.documentBoundary()).append('\n');
            int[] probe = tokenizer.encode(PROBE.getBytes(StandardCharsets.UTF_8));
            sb.append("probe=");
            for (int id : probe) sb.append(id).append(',');
            sb.append('\n');
            md.update(sb.toString().getBytes(StandardCharsets.UTF_8));
            for (CorpusSource.DocumentInfo e : source.entries()) {
                md.update((e.id() + '\t' + e.size() + '\t' + e.stamp() + '\n').getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ShardManifest readManifest(Path dir) throws IOException {
        return JSON.readValue(dir.resolve("manifest.json").toFile(), ShardManifest.class);
    }

    /** Null when the cache in dir is complete and matches the fingerprint, else what is wrong. */
    private static String check(Path dir, String fingerprint) {
        Path mf = dir.resolve("manifest.json");
        if (!Files.isRegularFile(mf)) return "no manifest.json";
        ShardManifest m;
        try {
            m = readManifest(dir);
        } catch (IOException e) {
            return "unreadable manifest.json: " + e.getMessage();
        }
        if (m.format() != ShardManifest.FORMAT) return "format " + m.format() + ", expected " + ShardManifest.FORMAT;
        if (!fingerprint.equals(m.fingerprint())) return "fingerprint differs";
        for (ShardManifest.SplitManifest s : List.of(m.train(), m.validation())) {
            long tokens = 0;
            for (ShardManifest.Shard shard : s.shards()) {
                Path f = dir.resolve(shard.file());
                long expected = shard.tokens() * m.bytesPerToken();
                long actual = size(f);
                if (actual != expected) {
                    return "shard " + f.getFileName() + " has " + actual + " bytes, manifest says " + expected;
                }
                tokens += shard.tokens();
            }
            if (tokens != s.tokens()) return s.name() + " shards sum to " + tokens + " tokens, manifest says " + s.tokens();
            long idx = size(dir.resolve(s.name() + ".index"));
            if (idx != s.documents() * 12) return s.name() + ".index has " + idx + " bytes, expected " + s.documents() * 12;
            if (size(dir.resolve(s.name() + ".ids")) < 0) return "no " + s.name() + ".ids";
        }
        return null;
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return -1;
        }
    }

    // ---------------------------------------------------------------- building

    private record Chunk(List<String> ids, List<byte[]> contents, boolean[] validation, long bytes) {}

    private static void build(CorpusSource source, Tokenizer tokenizer, Split split, Path cacheRoot, Path dir,
                              String fingerprint, Options options) throws IOException {
        PrintStream log = options.log();
        Path tmp = cacheRoot.resolve(".tmp-" + dir.getFileName() + "-" + ProcessHandle.current().pid());
        deleteTree(tmp);
        Files.createDirectories(tmp);
        String dtype = tokenizer.vocabSize() <= 65536 ? "uint16" : "int32";
        Set<String> validationIds = split.validationIds(source.entries());
        long totalDocs = source.entries().size();
        long totalBytes = source.totalBytes();
        log.printf("tokenising %s with %s (%d documents, %.1f MB, %d held out) into %s%n", source.description(),
                tokenizer.name(), totalDocs, totalBytes / 1e6, validationIds.size(), dir);

        long startNanos = System.nanoTime();
        ExecutorService pool = options.threads() > 1 ? Executors.newFixedThreadPool(options.threads(), r -> {
            Thread t = new Thread(r, "tokenise");
            t.setDaemon(true);
            return t;
        }) : null;
        try (SplitWriter trainW = new SplitWriter(tmp, "train", dtype, options.shardTokens(), tokenizer);
             SplitWriter validW = new SplitWriter(tmp, "validation", dtype, options.shardTokens(), tokenizer);
             Stream<Document> docs = source.documents()) {
            ArrayDeque<Future<int[][]>> futures = new ArrayDeque<>();
            ArrayDeque<Chunk> chunks = new ArrayDeque<>();
            long[] progress = new long[3]; // docs, bytes, tokens
            long[] lastReport = {System.nanoTime()};
            Runnable drainOne = () -> {
                Chunk c = chunks.poll();
                int[][] tokens;
                try {
                    tokens = futures.poll().get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while tokenising", e);
                } catch (ExecutionException e) {
                    throw new IllegalStateException("tokenising failed: " + e.getCause(), e.getCause());
                }
                for (int i = 0; i < tokens.length; i++) {
                    (c.validation()[i] ? validW : trainW).add(c.ids().get(i), tokens[i]);
                    progress[2] += tokens[i].length + 1;
                }
                progress[0] += tokens.length;
                progress[1] += c.bytes();
                long now = System.nanoTime();
                if ((now - lastReport[0]) / 1e9 >= options.progressSeconds()) {
                    lastReport[0] = now;
                    report(log, progress, totalDocs, totalBytes, startNanos);
                }
            };
            List<String> ids = new ArrayList<>();
            List<byte[]> contents = new ArrayList<>();
            long bytes = 0;
            Iterator<Document> it = docs.iterator();
            while (it.hasNext() || !ids.isEmpty()) {
                if (it.hasNext()) {
                    Document d = it.next();
                    ids.add(d.id());
                    contents.add(d.content());
                    bytes += d.content().length;
                    if (it.hasNext() && bytes < (1 << 20) && ids.size() < 64) continue;
                }
                boolean[] val = new boolean[ids.size()];
                for (int i = 0; i < val.length; i++) val[i] = validationIds.contains(ids.get(i));
                Chunk chunk = new Chunk(List.copyOf(ids), List.copyOf(contents), val, bytes);
                java.util.concurrent.Callable<int[][]> task = () -> {
                    int[][] out = new int[chunk.contents().size()][];
                    for (int i = 0; i < out.length; i++) out[i] = tokenizer.encode(chunk.contents().get(i));
                    return out;
                };
                chunks.add(chunk);
                if (pool != null) {
                    futures.add(pool.submit(task));
                } else {
                    java.util.concurrent.FutureTask<int[][]> f = new java.util.concurrent.FutureTask<>(task);
                    f.run();
                    futures.add(f);
                }
                ids.clear();
                contents.clear();
                bytes = 0;
                while (futures.size() > 2L * options.threads()) drainOne.run();
            }
            while (!futures.isEmpty()) drainOne.run();
            report(log, progress, totalDocs, totalBytes, startNanos);

            ShardManifest.SplitManifest tm = trainW.finish();
            ShardManifest.SplitManifest vm = validW.finish();
            ShardManifest m = new ShardManifest(ShardManifest.FORMAT, fingerprint, source.description(), tokenizer.name(),
                    tokenizer.vocabSize(), tokenizer.documentBoundary(), dtype, split.seed(), split.validationFraction(),
                    tm, vm);
            Path mf = tmp.resolve("manifest.json");
            Files.write(mf, JSON.writeValueAsBytes(m));
            fsync(mf);
            fsync(tmp);
        } catch (RuntimeException | IOException e) {
            deleteTree(tmp);
            throw e;
        } finally {
            if (pool != null) pool.shutdownNow();
        }
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
            // another process finished the same cache first: keep theirs if it is sound
            deleteTree(tmp);
            if (check(dir, fingerprint) != null) throw new IOException("cannot move " + tmp + " to " + dir + ": " + e, e);
            log.println("token cache " + dir + " was built concurrently by another process; using it");
        }
        fsync(cacheRoot);
    }

    private static void report(PrintStream log, long[] p, long totalDocs, long totalBytes, long startNanos) {
        double secs = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
        log.printf("  %d/%d documents, %.1f/%.1f MB, %.2fM tokens, %.1f MB/s%n", p[0], totalDocs, p[1] / 1e6,
                totalBytes / 1e6, p[2] / 1e6, p[1] / 1e6 / secs);
    }

    /** Writes one split: shards of tokens, the document index and the ids. */
    private static final class SplitWriter implements AutoCloseable {
        private final Path dir;
        private final String name;
        private final boolean uint16;
        private final long shardTokens;
        private final Tokenizer tokenizer;
        private final int boundary;
        private final int vocab;
        private final List<ShardManifest.Shard> shards = new ArrayList<>();
        private final FileChannel index;
        private final FileChannel idsOut;
        private final ByteBuffer indexBuf = ByteBuffer.allocate(12 << 12).order(ByteOrder.LITTLE_ENDIAN);
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private FileChannel shard;
        private long shardTokenCount;
        private long shardDocs;
        private long total;
        private long docs;

        SplitWriter(Path dir, String name, String dtype, long shardTokens, Tokenizer tokenizer) throws IOException {
            this.dir = dir;
            this.name = name;
            this.uint16 = dtype.equals("uint16");
            this.shardTokens = shardTokens;
            this.tokenizer = tokenizer;
            this.boundary = tokenizer.documentBoundary();
            this.vocab = tokenizer.vocabSize();
            this.index = open(dir.resolve(name + ".index"));
            this.idsOut = open(dir.resolve(name + ".ids"));
        }

        private static FileChannel open(Path p) throws IOException {
            return FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }

        void add(String id, int[] tokens) {
            try {
                if (shard != null && shardTokenCount > 0 && shardTokenCount + tokens.length + 1 > shardTokens) {
                    closeShard();
                }
                if (shard == null) {
                    shard = open(dir.resolve(String.format("%s-%05d.bin", name, shards.size())));
                }
                if (indexBuf.remaining() < 12) flush(indexBuf, index);
                indexBuf.putLong(total).putInt(tokens.length);
                if (id.indexOf('\n') >= 0) throw new IllegalArgumentException("document id contains a newline: " + id);
                ByteBuffer idBytes = ByteBuffer.wrap((id + "\n").getBytes(StandardCharsets.UTF_8));
                while (idBytes.hasRemaining()) idsOut.write(idBytes);
                for (int t : tokens) put(t, id);
                put(boundary, id);
                shardDocs++;
                docs++;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write token shard in " + dir + ": " + e.getMessage(), e);
            }
        }

        private void put(int t, String id) throws IOException {
            if (t < 0 || t >= vocab) {
                throw new IllegalStateException("tokenizer " + tokenizer.name() + " produced id " + t + " outside [0, "
                        + vocab + ") for document " + id);
            }
            if (buf.remaining() < 4) flush(buf, shard);
            if (uint16) buf.putShort((short) t);
            else buf.putInt(t);
            shardTokenCount++;
            total++;
        }

        private static void flush(ByteBuffer b, FileChannel ch) throws IOException {
            b.flip();
            while (b.hasRemaining()) ch.write(b);
            b.clear();
        }

        private void closeShard() throws IOException {
            flush(buf, shard);
            shard.force(true);
            shard.close();
            shards.add(new ShardManifest.Shard(String.format("%s-%05d.bin", name, shards.size()), shardTokenCount, shardDocs));
            shard = null;
            shardTokenCount = 0;
            shardDocs = 0;
        }

        ShardManifest.SplitManifest finish() throws IOException {
            if (shard != null) closeShard();
            flush(indexBuf, index);
            index.force(true);
            idsOut.force(true);
            return new ShardManifest.SplitManifest(name, docs, total, List.copyOf(shards));
        }

        @Override
        public void close() throws IOException {
            if (shard != null) shard.close();
            index.close();
            idsOut.close();
        }
    }

    // ---------------------------------------------------------------- file helpers

    private static void fsync(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // directories cannot be synced on every platform; the rename is still atomic
        }
    }

    private static String sanitize(String s) {
        String out = s.replaceAll("[^A-Za-z0-9._-]", "_");
        return out.isEmpty() ? "tokens" : out;
    }

    /** Removes temporary build directories left by processes that no longer run. */
    private static void cleanAbandoned(Path cacheRoot, PrintStream log) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(cacheRoot, ".tmp-*")) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                try {
                    long pid = Long.parseLong(n.substring(n.lastIndexOf('-') + 1));
                    if (pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).isEmpty()) {
                        log.println("removing unfinished token cache " + p + " (its process " + pid + " is gone)");
                        deleteTree(p);
                    }
                } catch (NumberFormatException ignored) {
                    // not ours
                }
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
