package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input gets one clear line naming the command and the problem, and exit status 1 (2 for usage errors). */
class CommandLineErrorsTest {
    private record Run(int status, String err) {}

    private static Run run(String... args) {
        var cl = Main.commandLine();
        var err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(new StringWriter()));
        return new Run(cl.execute(args), err.toString());
    }

    @Test
    void unknownPresetAndMissingFiles(@TempDir Path tmp) throws Exception {
        var r = run("train", "--preset", "huge", "--out", tmp.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().startsWith("train: unknown preset \"huge\""), r.err());
        r = run("inspect", "--model", tmp.resolve("nothing.safetensors").toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("no such file"), r.err());
        Path bad = tmp.resolve("bad.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        r = run("inspect", "--model", bad.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("shorter than the 8-byte header"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test
    void invalidConfigNamesTheField(@TempDir Path tmp) throws Exception {
        Path cfg = tmp.resolve("c.json");
        Files.writeString(cfg, """
                {"vocab_size": 257, "d_model": 30, "layers": 2, "heads": 4, "d_ff": 64, "context": 64,
                 "rope_theta": 10000, "qk_norm": false, "post_norm": false, "tied_embeddings": true,
                 "mixers": "full", "window": 0, "norm_eps": 1e-6, "init_std": 0.02}""");
        var r = run("train", "--config", cfg.toString(), "--tokenizer", "bytes", "--corpus", cfg.toString(), "--out", tmp.resolve("run").toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("config field heads"), r.err());
    }

    @Test
    void invalidTttOptionsNameTheField(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, "some text to tokenize ".repeat(200));
        var r = run("train", "--preset", "tiny", "--mixers", "ttt_linear", "--ttt-backbone", "rnn", "--tokenizer", "bytes",
                "--corpus", text.toString(), "--out", tmp.resolve("run").toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("config field ttt.backbone: unknown \"rnn\""), r.err());
        r = run("bench", "layer", "--width", "30", "--heads", "4");
        assertEquals(1, r.status());
        assertTrue(r.err().contains("--width 30 is not divisible by --heads 4"), r.err());
        r = run("bench", "e2e", "--methods", "e2e,mamba");
        assertEquals(1, r.status());
        assertTrue(r.err().contains("unknown method \"mamba\""), r.err());
    }

    @Test
    void usageErrorsExitWithTwo() {
        var r = run("generate");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--model"), r.err());
    }
}
