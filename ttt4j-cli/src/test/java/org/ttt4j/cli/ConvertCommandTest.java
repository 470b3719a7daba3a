package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.methods.e2e.E2eSettings;

/**
 * {@code convert} on the route a user takes from a model of the field: a Hugging Face folder (here
 * a tiny run exported as one, with its tokenizer.json) converted to TTT-E2E, the converted folder
 * opened again (same tokenizer), scored, adapted by qTTT, and fine-tuned with {@code train --model},
 * whose run keeps the tokenizer.json and scores again.
 */
class ConvertCommandTest {
    @Test
    void fromAHuggingFaceFolderToATrainedE2eRun(@TempDir Path dir) throws Exception {
        Path run = Cli.trainTiny(dir, "bpe:300", Cli.CODE, 3);
        Path hf = dir.resolve("hf"), e2e = dir.resolve("e2e"), tuned = dir.resolve("tuned");
        assertEquals(0, Cli.printed("export", "--model", run.toString(), "--format", "hf", "--out", hf.toString()).status());
        var converted = Cli.printed("convert", "--to", "e2e", "--model", hf.toString(), "--out", e2e.toString(), "--window", "16", "--chunk", "8");
        assertEquals(0, converted.status(), converted.err());
        assertTrue(converted.out().matches("(?s).*max \\|logit difference\\| 0(\\.0+)?\\s.*"), converted.out());
        assertTrue(Files.isRegularFile(e2e.resolve("tokenizer.json")), "the Hugging Face tokenizer travels with the model");
        var loaded = ModelFolders.load(e2e);
        var source = ModelFolders.load(hf);
        assertArrayEquals(source.tokenizer().encode("public static void"), loaded.tokenizer().encode("public static void"));
        assertNotNull(E2eSettings.of(loaded.model().config()));
        assertEquals(0, Cli.printed("score", "--model", e2e.toString(), "--file", dir.resolve("t.txt").toString(), "--max-tokens", "64").status());
        // qTTT runs on the converted model and on the Hugging Face folder it came from.
        for (Path m : new Path[] {e2e, hf}) {
            var q = Cli.printed("generate", "--model", m.toString(), "--qttt", "--qttt-steps", "2", "--max-tokens", "4", "--temperature", "0",
                    "public static void main(String[] args) { return");
            assertEquals(0, q.status(), q.err());
        }
        var train = Cli.printed("train", "--model", e2e.toString(), "--corpus", dir.resolve("t.txt").toString(), "--steps", "2", "--batch", "2",
                "--eval-batches", "0", "--out", tuned.toString());
        assertEquals(0, train.status(), train.err());
        assertTrue(Files.isRegularFile(tuned.resolve("tokenizer/tokenizer.json")));
        var after = ModelFolders.load(tuned);
        assertArrayEquals(source.tokenizer().encode("return value;"), after.tokenizer().encode("return value;"));
        assertEquals(0, Cli.printed("score", "--model", tuned.toString(), "--file", dir.resolve("t.txt").toString(), "--max-tokens", "64").status());
        // Exported, the fine-tuned run takes its tokenizer.json (kept in the run's tokenizer/ folder) along.
        Path exported = dir.resolve("exported");
        assertEquals(0, Cli.printed("export", "--model", tuned.toString(), "--out", exported.toString()).status());
        assertArrayEquals(source.tokenizer().encode("return value;"), ModelFolders.load(exported).tokenizer().encode("return value;"));
        // A relative model folder of two names (runs/x, as the README's tour has it) starts a run too.
        Path rel = Path.of("convert-test-" + ProcessHandle.current().pid(), "e2e");
        try {
            Files.createDirectories(rel.getParent());
            assertEquals(0, Cli.printed("convert", "--to", "e2e", "--model", hf.toString(), "--out", rel.toString()).status());
            var relTrain = Cli.printed("train", "--model", rel.toString(), "--corpus", dir.resolve("t.txt").toString(), "--steps", "1",
                    "--batch", "2", "--eval-batches", "0", "--out", dir.resolve("tuned-rel").toString());
            assertEquals(0, relTrain.status(), relTrain.err());
        } finally {
            try (var files = Files.walk(rel.getParent())) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(f);
            }
        }
        // Converting again, or into a folder in use, is refused with the reason.
        var again = Cli.printed("convert", "--to", "swa", "--model", e2e.toString(), "--out", dir.resolve("x").toString());
        assertEquals(1, again.status());
        assertTrue(again.err().contains("already"), again.err());
        var full = Cli.printed("convert", "--to", "swa", "--model", hf.toString(), "--out", e2e.toString());
        assertEquals(1, full.status());
        assertTrue(full.err().contains("not empty"), full.err());
    }
}
