package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.io.FolderLock;

/** {@code train} and {@code experiment} refuse a folder another writer holds, and say who holds it; nothing is written. */
class OneWriterTest {
    @Test
    void trainAndExperimentRefuseAHeldFolder(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, "abc ".repeat(300));
        Path run = tmp.resolve("run"), exp = tmp.resolve("exp");
        try (var held = FolderLock.acquire(run, "another train")) {
            var err = new StringWriter();
            assertEquals(1, Cli.run(err, "train", "--preset", "tiny", "--tokenizer", "bytes", "--corpus", text.toString(), "--steps", "1",
                    "--batch", "2", "--out", run.toString()));
            assertTrue(err.toString().contains("is in use by another ttt4j process") && err.toString().contains("another train"), err.toString());
            assertFalse(Files.exists(run.resolve("checkpoints")) || Files.exists(run.resolve("metrics.jsonl")), "nothing written");
        }
        try (var held = FolderLock.acquire(exp, "another experiment")) {
            var err = new StringWriter();
            assertEquals(1, Cli.run(err, "experiment", "smoke", "--corpus", text.toString(), "--out", exp.toString()));
            assertTrue(err.toString().contains("is in use by another ttt4j process"), err.toString());
            assertFalse(Files.exists(exp.resolve("runs")), "nothing trained");
        }
        // Released: the folder can be used again.
        var err = new StringWriter();
        assertEquals(0, Cli.run(err, "train", "--preset", "tiny", "--tokenizer", "bytes", "--corpus", text.toString(), "--steps", "1",
                "--batch", "2", "--context", "16", "--eval-batches", "0", "--out", run.toString()), err.toString());
        // An export target is locked through its hidden sibling (the folder itself is replaced whole).
        Path model = tmp.resolve("model");
        try (var held = FolderLock.acquireSibling(model, "another export")) {
            var refused = new StringWriter();
            assertEquals(1, Cli.run(refused, "export", "--model", run.toString(), "--out", model.toString()));
            assertTrue(refused.toString().contains("another export"), refused.toString());
            assertFalse(Files.exists(model), "nothing exported");
        }
        assertEquals(0, Cli.run(err, "export", "--model", run.toString(), "--out", model.toString()), err.toString());
    }
}
