package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.tokenizer.BpeTokenizer;
import org.ttt4j.lm.train.CheckpointStore;

/** A model is used with its own tokenizer or not at all, and a damaged optimizer file does not stop inference. */
class NoSilentFallbackTest {
    @Test
    void aCheckpointWithoutTrainerStateUsesItsRunsTokenizerOrFails(@TempDir Path tmp) throws Exception {
        Path run = Cli.trainTiny(tmp, "bpe:300", Cli.CODE, 2);
        Path ck = new CheckpointStore(run).latest().orElseThrow();
        Files.delete(ck.resolve("trainer.json"));
        var loaded = Checkpoints.load(ck);
        assertTrue(loaded.tokenizer() instanceof BpeTokenizer, "the run's own BPE, not bytes: " + loaded.tokenizer().name());
        assertEquals(BpeTokenizer.load(run.resolve("tokenizer")).vocabSize(), loaded.tokenizer().vocabSize());
        assertEquals(loaded.model().config().vocabSize(), loaded.tokenizer().vocabSize());

        Path alone = tmp.resolve("alone");
        Files.createDirectories(alone);
        for (String f : new String[] {"config.json", "model.safetensors"}) Files.copy(ck.resolve(f), alone.resolve(f));
        var e = assertThrows(IOException.class, () -> Checkpoints.load(alone));
        assertTrue(e.getMessage().contains("names no tokenizer") && e.getMessage().contains("trainer.json"), e.getMessage());
    }

    @Test
    void aDamagedOptimizerFileDoesNotStopGenerateButStopsAResume(@TempDir Path tmp) throws Exception {
        Path run = Cli.trainTiny(tmp, "bytes", "abc def ".repeat(400), 2);
        var err = new StringWriter();
        Path opt = new CheckpointStore(run).latest().orElseThrow().resolve("optimizer.safetensors");
        Files.write(opt, java.util.Arrays.copyOf(Files.readAllBytes(opt), 100)); // truncated
        assertNull(Checkpoints.load(run).checkpoint().optimizer(), "inference does not read the optimizer state");
        err = new StringWriter();
        assertEquals(0, Cli.run(err, "generate", "--model", run.toString(), "--max-tokens", "3", "abc"), err.toString());
        assertThrows(IOException.class, () -> CheckpointStore.load(run), "training needs it, and says so");
    }
}
