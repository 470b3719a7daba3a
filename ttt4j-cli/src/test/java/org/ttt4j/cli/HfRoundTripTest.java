package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.api.LanguageModel;

/**
 * A model exported as a Hugging Face folder (or, for TTT layers, as an official ttt-lm-pytorch folder) opens again through the Hugging Face import (config.json
 * with model_type, tokenizer.json read by HfTokenizer) and scores every token exactly as the run does.
 */
class HfRoundTripTest {
    @Test
    void anExportedHfFolderScoresAsItsRun(@TempDir Path dir) throws Exception {
        Path run = Cli.trainTiny(dir, "bpe:300", Cli.CODE, 4);
        Path hf = dir.resolve("hf");
        var export = Cli.printed("export", "--model", run.toString(), "--format", "hf", "--out", hf.toString());
        assertEquals(0, export.status(), export.err());
        // The literal text of the boundary token is ordinary text to the run's tokenizer; the exported
        // tokenizer_config.json says so (split_special_tokens) and the import honours it.
        String text = "public static void main(String[] args) { return value; } <|endoftext|> x";
        var fromRun = Cli.printed("score", "--model", run.toString(), "--text", text);
        var fromHf = Cli.printed("score", "--model", hf.toString(), "--text", text);
        assertEquals(0, fromHf.status(), fromHf.err());
        String[] a = fromRun.out().strip().split("\n"), b = fromHf.out().strip().split("\n");
        assertEquals(a.length, b.length);
        assertTrue(a.length > 5, fromRun.out());
        for (int i = 0; i < a.length - 1; i++) assertEquals(a[i], b[i], "token line " + i);

        var inspect = Cli.printed("inspect", "--model", hf.toString());
        assertEquals(0, inspect.status(), inspect.err());
        assertTrue(inspect.out().contains("Hugging Face folder") && inspect.out().contains("model.embed_tokens.weight"), inspect.out());

        // A Hugging Face folder starts a run that keeps its tokenizer.json.
        var train = Cli.printed("train", "--model", hf.toString(), "--steps", "1", "--batch", "2", "--eval-batches", "0",
                "--corpus", dir.resolve("t.txt").toString(), "--out", dir.resolve("warm").toString());
        assertEquals(0, train.status(), train.err());
        assertTrue(java.nio.file.Files.isRegularFile(dir.resolve("warm/tokenizer/tokenizer.json")));

        // An exported ttt4j folder starts a run with its own BPE (not a byte tokenizer).
        Path exported = dir.resolve("exported"), warm = dir.resolve("warm2");
        assertEquals(0, Cli.printed("export", "--model", run.toString(), "--out", exported.toString()).status());
        var again = Cli.printed("train", "--model", exported.toString(), "--corpus", dir.resolve("t.txt").toString(), "--steps", "1",
                "--batch", "2", "--context", "16", "--eval-batches", "0", "--out", warm.toString());
        assertEquals(0, again.status(), again.err());
        assertTrue(java.nio.file.Files.readString(warm.resolve("checkpoints/step-00000001/trainer.json")).contains("\"bpe:"),
                "the run keeps the exported model's BPE");

        LanguageModel lm = LanguageModel.open(hf);
        assertEquals("full", lm.method());
        assertEquals(LanguageModel.open(run).score(text).mean(), lm.score(text).mean(), 0.0);
    }

    @Test
    void anOfficialTttFolderOpensWithModelAndScoresAsItsRun(@TempDir Path dir) throws Exception {
        Path corpus = dir.resolve("t.txt"), run = dir.resolve("run"), official = dir.resolve("official");
        java.nio.file.Files.writeString(corpus, Cli.CODE);
        var train = Cli.printed("train", "--preset", "tiny", "--mixers", "ttt_linear", "--ttt-mini-batch", "4", "--tokenizer", "bpe:300",
                "--corpus", corpus.toString(), "--steps", "3", "--batch", "2", "--context", "16", "--eval-batches", "0", "--out", run.toString());
        assertEquals(0, train.status(), train.err());
        var export = Cli.printed("export", "--model", run.toString(), "--format", "ttt", "--out", official.toString());
        assertEquals(0, export.status(), export.err());
        assertTrue(java.nio.file.Files.readString(official.resolve("config.json")).contains("\"ttt_layer_type\""));
        String text = "public static void main(String[] args) { return value; }";
        var fromRun = Cli.printed("score", "--model", run.toString(), "--text", text);
        var fromOfficial = Cli.printed("score", "--model", official.toString(), "--text", text);
        assertEquals(0, fromOfficial.status(), fromOfficial.err());
        String[] a = fromRun.out().strip().split("\n"), b = fromOfficial.out().strip().split("\n");
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length - 1; i++) assertEquals(a[i], b[i], "token line " + i);
    }
}
