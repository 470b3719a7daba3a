package org.ttt4j.lm.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One writer per folder: a second holder is refused with the first one's PID, and a killed holder leaves nothing locked. */
class FolderLockTest {
    /** Holds the lock on args[0] until its standard input closes; prints "locked" once it has it. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            try (var lock = FolderLock.acquire(Path.of(args[0]), "test holder")) {
                System.out.println("locked");
                System.out.flush();
                while (System.in.read() >= 0) {
                    // wait for the parent to close our input (or kill us)
                }
            }
        }
    }

    @Test
    void aSecondHolderInTheSameProcessIsRefusedUntilTheFirstCloses(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        try (var first = FolderLock.acquire(run, "train")) {
            var e = assertThrows(IllegalStateException.class, () -> FolderLock.acquire(run, "train"));
            assertTrue(e.getMessage().contains(run.toString()) && e.getMessage().contains("pid " + ProcessHandle.current().pid())
                    && e.getMessage().contains("one writer per folder"), e.getMessage());
            assertTrue(Files.readString(first.file()).startsWith("pid " + ProcessHandle.current().pid() + ", started "));
        }
        try (var again = FolderLock.acquire(run, "train")) {
            assertTrue(Files.exists(again.file()));
        }
    }

    @Test
    void anotherProcessIsRefusedAndAKilledHolderReleasesTheFolder(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process holder = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(), run.toString()))
                .redirectErrorStream(true).start();
        try {
            var out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("locked", out.readLine(), "the holder process took the lock");
            var e = assertThrows(IllegalStateException.class, () -> FolderLock.acquire(run, "train"));
            assertTrue(e.getMessage().contains("pid " + holder.pid()) && e.getMessage().contains("test holder"), e.getMessage());
            holder.destroyForcibly(); // kill -9: no code of the holder runs
            assertTrue(holder.waitFor(60, TimeUnit.SECONDS));
            try (var mine = FolderLock.acquire(run, "train")) {
                assertTrue(Files.readString(mine.file()).startsWith("pid " + ProcessHandle.current().pid()), "the stale description is replaced");
            }
        } finally {
            holder.destroyForcibly();
        }
    }
}
