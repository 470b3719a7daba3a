package org.ttt4j.lm.io;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Crash-safe writes. A training run that is killed (OOM killer, power loss, Ctrl-C) while saving a
 * checkpoint must not destroy the previous one or leave a half-written file under the final name,
 * because the next start would load garbage. Everything here follows the same pattern: write the
 * content under a temporary sibling name, fsync it, then atomically rename it into place and fsync
 * the parent directory (where the OS allows opening directories; it does on Linux and macOS, and
 * silently not on Windows, where the rename itself is already journaled by NTFS).
 *
 * <p>Temporary names are {@code <name>.tmp-<16 hex digits>} in the target's own directory (a rename
 * is only atomic within one file system), so loaders that look for {@code <name>} never see them.
 *
 * <p><b>Directories</b> ({@link #replaceDirectory}) cannot be renamed over a non-empty directory,
 * so replacing one takes three renames. The invariant is that at every moment a complete copy
 * exists under {@code <name>} or {@code <name>.old}, and {@code <name>} is always complete when it
 * exists (it only ever appears through the rename of a finished, fsynced directory):
 * <ol>
 *   <li>write the new content into {@code <name>.tmp-XXXX}, fsync every file and directory in it;
 *       a crash here leaves the old {@code <name>} untouched;</li>
 *   <li>if {@code <name>} exists: delete a stale {@code <name>.old} (only possible because
 *       {@code <name>} is complete), rename {@code <name>} to {@code <name>.old}, fsync the parent;
 *       a crash here leaves only {@code <name>.old}, complete;</li>
 *   <li>rename {@code <name>.tmp-XXXX} to {@code <name>}, fsync the parent; a crash here leaves
 *       both, and {@code <name>} wins;</li>
 *   <li>delete {@code <name>.old}; a crash midway leaves a partial {@code <name>.old}, which is
 *       harmless because {@code <name>} exists and wins, and is removed by the next replace.</li>
 * </ol>
 * Loaders therefore use {@link #findDirectory}: {@code <name>} if it exists, else
 * {@code <name>.old}. One writer per target at a time: {@link #replaceDirectory} removes leftover
 * {@code <name>.tmp-*} siblings of earlier crashed writes.
 */
public final class AtomicFiles {
    private static final String TMP_MARK = ".tmp-";
    private static final String OLD_SUFFIX = ".old";
    private static final int BUFFER = 1 << 16;

    private AtomicFiles() {}

    /** Writes the content of a file to a stream; the stream need not be closed by the writer. */
    @FunctionalInterface
    public interface StreamWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    /** Fills a fresh, empty directory with the content of a directory being replaced. */
    @FunctionalInterface
    public interface DirectoryWriter {
        void writeInto(Path directory) throws IOException;
    }

    /** Atomically creates or replaces {@code target} with {@code content}. */
    public static void write(Path target, byte[] content) throws IOException {
        Objects.requireNonNull(content, "content");
        write(target, out -> out.write(content));
    }

    /**
     * Atomically creates or replaces {@code target} with what {@code writer} produces. If the writer
     * throws, the target is unchanged and the temporary file is removed. Parent directories are
     * created as needed.
     */
    public static void write(Path target, StreamWriter writer) throws IOException {
        Objects.requireNonNull(writer, "writer");
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = createTempSibling(abs, false);
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                OutputStream buffered = new BufferedOutputStream(Channels.newOutputStream(ch), BUFFER);
                // The writer may close what it is given; keep the channel open for the fsync.
                writer.writeTo(new FilterOutputStream(buffered) {
                    @Override public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                    }

                    @Override public void close() throws IOException {
                        flush();
                    }
                });
                buffered.flush();
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
        } finally {
            if (!done) Files.deleteIfExists(tmp);
        }
        fsyncDirectory(dir);
    }

    /**
     * Atomically replaces (or creates) the directory {@code target} with one filled by
     * {@code writer}, following the protocol in the class comment. If the writer throws, the target
     * is unchanged and the temporary directory is removed.
     */
    /**
     * Refuses anything but a regular file (following links) before it is opened for reading: a
     * directory gives a clear message instead of "Is a directory", and a FIFO or device would
     * block or never end.
     */
    public static void requireRegularFile(Path file) throws IOException {
        if (Files.isRegularFile(file)) return;
        if (!Files.exists(file)) throw new java.nio.file.NoSuchFileException(file.toString());
        String kind = Files.isDirectory(file) ? "a directory" : "not a regular file (a FIFO, socket or device?)";
        throw new IOException(file + " is " + kind + ", expected a file");
    }

    /** The text of a regular file that must be UTF-8; a file that is not names the first bad byte's offset. */
    public static String readUtf8(Path file) throws IOException {
        requireRegularFile(file);
        byte[] bytes = Files.readAllBytes(file);
        var decoder = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT).onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        var in = java.nio.ByteBuffer.wrap(bytes);
        try {
            return decoder.decode(in).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(file + " is not UTF-8 text (an invalid byte near offset " + in.position() + ")", e);
        }
    }

    public static void replaceDirectory(Path target, DirectoryWriter writer) throws IOException {
        Objects.requireNonNull(writer, "writer");
        Path abs = target.toAbsolutePath();
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        removeStaleTemporaries(abs);
        Path tmp = createTempSibling(abs, true);
        boolean filled = false;
        try {
            writer.writeInto(tmp);
            fsyncTree(tmp);
            filled = true;
        } finally {
            if (!filled) deleteRecursively(tmp);
        }
        Path old = oldSibling(abs);
        if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
            // <name> is complete, so a leftover <name>.old is a stale copy (or a partial delete).
            deleteRecursively(old);
            Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
            fsyncDirectory(parent);
        }
        Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(parent);
        deleteRecursively(old);
    }

    /**
     * The directory a loader should read for {@code target}: {@code target} itself if it exists,
     * else {@code target.old} (left by a crash in the middle of {@link #replaceDirectory}), else
     * empty.
     */
    public static Optional<Path> findDirectory(Path target) {
        if (Files.isDirectory(target)) return Optional.of(target);
        Path old = oldSibling(target);
        if (Files.isDirectory(old)) return Optional.of(old);
        return Optional.empty();
    }

    /** {@code <name>.old} next to {@code target}: where the previous copy waits during a replace. */
    public static Path oldSibling(Path target) {
        Path abs = target.toAbsolutePath();
        return abs.resolveSibling(abs.getFileName() + OLD_SUFFIX);
    }

    /** Forces a directory's entries (creations, renames) to disk; a no-op where the OS refuses. */
    public static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Windows cannot open directories; there the rename is durable through the NTFS journal.
        }
    }

    private static Path createTempSibling(Path abs, boolean directory) throws IOException {
        String base = abs.getFileName() + TMP_MARK;
        for (int attempt = 0; ; attempt++) {
            Path tmp = abs.resolveSibling(base + String.format("%016x", ThreadLocalRandom.current().nextLong()));
            try {
                if (directory) {
                    Files.createDirectory(tmp);
                } else {
                    Files.newByteChannel(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                }
                return tmp;
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 16) throw e;
            }
        }
    }

    private static void removeStaleTemporaries(Path abs) throws IOException {
        String prefix = abs.getFileName() + TMP_MARK;
        List<Path> stale = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(abs.getParent(), p -> p.getFileName().toString().startsWith(prefix))) {
            ds.forEach(stale::add);
        }
        for (Path p : stale) deleteRecursively(p);
    }

    private static void fsyncTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) fsyncFile(file);
                return FileVisitResult.CONTINUE;
            }

            @Override public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) throw e;
                fsyncDirectory(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static void fsyncFile(Path file) throws IOException {
        try (FileChannel ch = openForSync(file)) {
            ch.force(true);
        }
    }

    private static FileChannel openForSync(Path file) throws IOException {
        try {
            return FileChannel.open(file, StandardOpenOption.WRITE); // Windows needs write access to flush
        } catch (IOException e) {
            return FileChannel.open(file, StandardOpenOption.READ); // read-only file: POSIX fsync accepts it
        }
    }

    /** Deletes a file or directory tree if present; symbolic links are removed, not followed. */
    static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return;
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) throw e;
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
