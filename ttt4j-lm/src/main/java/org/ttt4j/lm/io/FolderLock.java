package org.ttt4j.lm.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * One writer per folder: an exclusive lock on {@code <folder>/.ttt4j.lock}, held by an open
 * {@link FileChannel} for as long as this object is open (a run, an experiment, an export). The
 * file names the holder (PID, start time, what it does), so a second writer is refused with a
 * message that says who has the folder. The operating system releases the lock when the holding
 * process dies, however it dies, so a crash never leaves a folder locked; the next holder
 * overwrites the stale description.
 */
public final class FolderLock implements AutoCloseable {
    /** The lock file's name inside the folder. */
    public static final String FILE = ".ttt4j.lock";

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private FolderLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code folder} (created if missing) for {@code what} (e.g. "train"), or throws
     * IllegalStateException naming the folder and the process that holds it.
     */
    public static FolderLock acquire(Path folder, String what) throws IOException {
        Files.createDirectories(folder);
        return acquireFile(folder.resolve(FILE), folder.toString(), what);
    }

    /**
     * Locks a folder that is replaced whole when it is written (an export target): the lock file
     * is its hidden sibling {@code .<name>.ttt4j.lock}, which the replacement does not touch.
     */
    public static FolderLock acquireSibling(Path target, String what) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        return acquireFile(abs.resolveSibling("." + abs.getFileName() + FILE), target.toString(), what);
    }

    private static FolderLock acquireFile(Path file, String folder, String what) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException sameProcess) {
            lock = null;
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot lock " + file + ": " + e.getMessage(), e);
        }
        if (lock == null) {
            String holder = holder(ch);
            ch.close();
            throw new IllegalStateException(folder + " is in use by another ttt4j process (" + holder + "); one writer per folder:"
                    + " wait for it to finish or stop it, or use another folder");
        }
        ProcessHandle self = ProcessHandle.current();
        String started = self.info().startInstant().map(Instant::toString).orElse("unknown");
        byte[] text = ("pid " + self.pid() + ", started " + started + ", " + what + "\n").getBytes(StandardCharsets.UTF_8);
        ch.truncate(0);
        ch.write(ByteBuffer.wrap(text), 0);
        ch.force(true);
        return new FolderLock(file, ch, lock);
    }

    /** What the lock file says about its holder (its first line), or that it says nothing. */
    private static String holder(FileChannel ch) throws IOException {
        long size = Math.min(ch.size(), 4096);
        ByteBuffer b = ByteBuffer.allocate((int) size);
        ch.read(b, 0);
        String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
        int nl = s.indexOf('\n');
        s = nl >= 0 ? s.substring(0, nl) : s;
        return s.isEmpty() ? "holder unknown" : s;
    }

    public Path file() {
        return file;
    }

    /** Releases the lock (the file stays: removing it could race with the next holder). */
    @Override
    public void close() throws IOException {
        try {
            if (lock.isValid()) lock.release();
        } finally {
            channel.close();
        }
    }
}
