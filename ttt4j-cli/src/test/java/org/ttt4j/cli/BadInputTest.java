package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Presets;

/** Bad inputs get a message naming the file and what was expected, never a hang, a bare JDK message or a blocked retry. */
class BadInputTest {
    @Test
    void aFifoDirectoryOrNonUtf8FileIsRefusedWithItsName(@TempDir Path tmp) throws Exception {
        Path run = Cli.trainTiny(tmp, "bytes", "abc def ".repeat(400), 1);
        Path fifo = tmp.resolve("model-fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        var err = new StringWriter();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertEquals(1, Cli.run(err, "inspect", "--model", fifo.toString())));
        assertTrue(err.toString().contains(fifo + " is not a regular file"), err.toString());

        var dirErr = new StringWriter();
        assertEquals(1, Cli.run(dirErr, "generate", "--model", run.toString(), "--prompt-file", tmp.toString()));
        assertTrue(dirErr.toString().contains(tmp + " is a directory, expected a file"), dirErr.toString());

        Path latin1 = tmp.resolve("prompt.txt");
        Files.write(latin1, new byte[] {'c', 'a', 'f', (byte) 0xE9, ' ', 'x'});
        var utfErr = new StringWriter();
        assertEquals(1, Cli.run(utfErr, "generate", "--model", run.toString(), "--prompt-file", latin1.toString()));
        assertTrue(utfErr.toString().contains(latin1 + " is not UTF-8 text") && utfErr.toString().contains("offset 3"), utfErr.toString());
    }

    @Test
    void aFailedExportLeavesNothingThatBlocksTheNext(@TempDir Path tmp) throws Exception {
        Path run = Cli.trainTiny(tmp, "bpe:300", Cli.CODE, 1);
        var err = new StringWriter();
        // A fault midway through the export: a folder where the tokenizer's files are copied from, after the weights are written.
        Path fault = Files.createDirectories(run.resolve("tokenizer").resolve("zz-not-a-file"));
        Path out = tmp.resolve("model");
        err = new StringWriter();
        assertEquals(1, Cli.run(err, "export", "--model", run.toString(), "--out", out.toString()));
        assertFalse(Files.exists(out), "nothing half-written is left: " + err);
        Files.delete(fault);
        err = new StringWriter();
        assertEquals(0, Cli.run(err, "export", "--model", run.toString(), "--out", out.toString()), err.toString());
        assertTrue(Files.exists(out.resolve("model.safetensors")) && Files.isDirectory(out.resolve("tokenizer")));
        try (var leftovers = Files.list(tmp)) {
            assertTrue(leftovers.noneMatch(p -> p.getFileName().toString().startsWith("model") && !p.equals(out)), "no temporary siblings");
        }
    }

    @Test
    void theInnerLrErrorStatesTheBoundItChecks() {
        var c = Presets.byName("tiny").withMixers("swa", 16);
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new E2eSettings(1, 2, 2e6, null, null).matched(c).validate());
        assertTrue(e.getMessage().contains("must be in [0, 1e6)"), e.getMessage());
    }
}
