package org.ttt4j.lm.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void writesBytesCreatingParentsAndLeavesNoTemporaries() throws IOException {
        Path f = dir.resolve("a/b/state.bin");
        AtomicFiles.write(f, utf8("hello"));
        assertEquals("hello", Files.readString(f));
        AtomicFiles.write(f, utf8("second"));
        assertEquals("second", Files.readString(f));
        try (Stream<Path> s = Files.list(f.getParent())) {
            assertEquals(List.of("state.bin"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void streamingWriterMayCloseItsStream() throws IOException {
        Path f = dir.resolve("big.bin");
        byte[] block = new byte[100_000];
        for (int i = 0; i < block.length; i++) block[i] = (byte) i;
        AtomicFiles.write(f, out -> {
            try (OutputStream o = out) {
                for (int i = 0; i < 5; i++) o.write(block);
                o.write(7);
            }
        });
        byte[] got = Files.readAllBytes(f);
        assertEquals(500_001, got.length);
        assertEquals(7, got[500_000]);
        assertEquals(block[12345], got[400_000 + 12345]);
    }

    @Test
    void failingWriterLeavesTargetUntouchedAndNoTemporary() throws IOException {
        Path f = dir.resolve("ckpt.safetensors");
        AtomicFiles.write(f, utf8("old"));
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            out.write(utf8("partial new content"));
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertEquals("old", Files.readString(f));
        assertEquals(List.of("ckpt.safetensors"), names());

        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(dir.resolve("new.bin"), out -> {
            out.write(1);
            throw new IllegalStateException("bug");
        }));
        assertEquals(List.of("ckpt.safetensors"), names());
    }

    @Test
    void replacesDirectoryCompletely() throws IOException {
        Path d = dir.resolve("step-100");
        AtomicFiles.replaceDirectory(d, tmp -> {
            Files.writeString(tmp.resolve("model.safetensors"), "v1");
            Files.createDirectories(tmp.resolve("sub"));
            Files.writeString(tmp.resolve("sub/optim.bin"), "o1");
            Files.writeString(tmp.resolve("only-in-v1"), "x");
        });
        assertEquals("v1", Files.readString(d.resolve("model.safetensors")));
        assertEquals("o1", Files.readString(d.resolve("sub/optim.bin")));

        AtomicFiles.replaceDirectory(d, tmp -> {
            assertTrue(tmp.getFileName().toString().startsWith("step-100.tmp-"));
            Files.writeString(tmp.resolve("model.safetensors"), "v2");
        });
        assertEquals("v2", Files.readString(d.resolve("model.safetensors")));
        assertFalse(Files.exists(d.resolve("only-in-v1")), "old content must not leak into the new folder");
        assertFalse(Files.exists(d.resolve("sub")));
        assertEquals(List.of("step-100"), names());
        assertEquals(Optional.of(d), AtomicFiles.findDirectory(d));
    }

    @Test
    void failingDirectoryWriterKeepsOldFolder() throws IOException {
        Path d = dir.resolve("ckpt");
        AtomicFiles.replaceDirectory(d, tmp -> Files.writeString(tmp.resolve("w"), "good"));
        assertThrows(IOException.class, () -> AtomicFiles.replaceDirectory(d, tmp -> {
            Files.writeString(tmp.resolve("w"), "half");
            throw new IOException("killed");
        }));
        assertEquals("good", Files.readString(d.resolve("w")));
        assertEquals(List.of("ckpt"), names());
    }

    @Test
    void loaderFallsBackToOldWhenCrashHitBetweenRenames() throws IOException {
        Path d = dir.resolve("ckpt");
        Path old = AtomicFiles.oldSibling(d);
        assertEquals(dir.resolve("ckpt.old").toAbsolutePath(), old);
        assertEquals(Optional.empty(), AtomicFiles.findDirectory(d));

        // Crash after "rename <name> to <name>.old", before "rename tmp to <name>".
        Files.createDirectories(old);
        Files.writeString(old.resolve("w"), "previous");
        Files.createDirectories(dir.resolve("ckpt.tmp-00000000deadbeef"));
        Files.writeString(dir.resolve("ckpt.tmp-00000000deadbeef/w"), "torn");
        assertEquals(Optional.of(old), AtomicFiles.findDirectory(d));

        // The next save recovers: stale temporary removed, new folder in, old one gone.
        AtomicFiles.replaceDirectory(d, tmp -> Files.writeString(tmp.resolve("w"), "next"));
        assertEquals("next", Files.readString(d.resolve("w")));
        assertEquals(List.of("ckpt"), names());
    }

    @Test
    void completeNameWinsOverLeftoverOld() throws IOException {
        Path d = dir.resolve("ckpt");
        // Crash after "rename tmp to <name>", during the deletion of <name>.old.
        Files.createDirectories(d);
        Files.writeString(d.resolve("w"), "new");
        Path old = AtomicFiles.oldSibling(d);
        Files.createDirectories(old);
        Files.writeString(old.resolve("partial"), "half-deleted");
        assertEquals(Optional.of(d), AtomicFiles.findDirectory(d));

        AtomicFiles.replaceDirectory(d, tmp -> Files.writeString(tmp.resolve("w"), "newer"));
        assertEquals("newer", Files.readString(d.resolve("w")));
        assertEquals(List.of("ckpt"), names());
    }

    @Test
    void byteContentIsExact() throws IOException {
        Path f = dir.resolve("x");
        byte[] data = new byte[256];
        for (int i = 0; i < 256; i++) data[i] = (byte) i;
        AtomicFiles.write(f, data);
        assertArrayEquals(data, Files.readAllBytes(f));
        AtomicFiles.write(f, new byte[0]);
        assertEquals(0, Files.size(f));
    }
}
