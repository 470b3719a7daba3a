package org.ttt4j.lm.methods.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.eval.Scorer;
import org.ttt4j.lm.infer.InferenceSession;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.ModelParts;
import org.ttt4j.lm.train.BatchSource;
import org.ttt4j.lm.train.CheckpointStore;
import org.ttt4j.lm.train.TrainOptions;
import org.ttt4j.lm.train.Trainer;

/**
 * A mixer that lives outside the library (this test package plus one registry line) is built,
 * trained, scored and decoded by the library's own trainer, scorer and sessions.
 */
class TokenShiftTest {
    static final ModelConfig CONFIG = ModelConfig.builder().mixers("token_shift:1,full:1").build().validate();

    @Test
    void theRegistryFindsIt() {
        assertTrue(ModelParts.mixerNames().contains("token_shift"), ModelParts.mixerNames().toString());
        assertEquals("token_shift", Methods.of(CONFIG).name());
        var model = new Decoder(CONFIG, 1);
        assertTrue(model.params().all().containsKey("model.layers.0.shift.proj.weight"), model.params().all().keySet().toString());
        assertTrue(model.params().all().containsKey("model.layers.0.ffn_norm.weight"));
    }

    @Test
    void decodingTokenByTokenGivesTheWholeSequenceLogits() {
        var model = new Decoder(CONFIG, 2);
        int[] ids = new SplittableRandom(3).ints(40, 0, 257).toArray();
        try (var off = GradMode.disabled()) {
            float[] whole = model.logits(ids, 1, ids.length, 0).toFloatArray();
            InferenceSession s = InferenceSession.open(model, 7);
            float[] pieces = new float[whole.length];
            int v = CONFIG.vocabSize();
            for (int at = 0; at < ids.length; at += 5) {
                int[] chunk = java.util.Arrays.copyOfRange(ids, at, Math.min(ids.length, at + 5));
                System.arraycopy(s.feed(chunk).toFloatArray(), 0, pieces, at * v, chunk.length * v);
            }
            for (int i = 0; i < whole.length; i++) assertEquals(whole[i], pieces[i], 1e-4, "logit " + i);
            assertEquals(ids.length, s.position());
        }
    }

    @Test
    void theScorerAndTheTrainerUseIt(@TempDir Path dir) throws Exception {
        var model = new Decoder(CONFIG, 4);
        int[] text = new int[2000];
        for (int i = 0; i < text.length; i++) text[i] = 40 + (i * 7) % 17; // each token follows from the one before
        float[] losses = Scorer.tokenLosses(model, java.util.Arrays.copyOf(text, 65), 16);
        Tensor reference;
        try (var off = GradMode.disabled()) {
            reference = model.tokenLosses(java.util.Arrays.copyOf(text, 64), java.util.Arrays.copyOfRange(text, 1, 65), 1, 64);
        }
        for (int i = 0; i < 64; i++) assertEquals(reference.toFloatArray()[i], losses[i], 1e-4, "token " + i);

        var options = TrainOptions.builder().steps(30).batch(4).context(32).lr(1e-2).evalEvery(0).checkpointEvery(30).build().validate();
        var result = new Trainer(model, windows(text, 4, 32), List::of, options, dir, "bytes", new PrintStream(new ByteArrayOutputStream())).run();
        assertEquals(Trainer.Outcome.FINISHED, result.outcome());
        assertTrue(result.lastLoss() < 2.0, "a shift of one token predicts this text; loss " + result.lastLoss());
        var saved = CheckpointStore.load(result.lastCheckpoint());
        assertEquals(CONFIG, saved.config());
        var config = new ObjectMapper().readValue(Files.readString(result.lastCheckpoint().resolve("config.json")), ModelConfig.class);
        assertEquals("token_shift:1,full:1", config.mixers());
    }

    private static BatchSource windows(int[] tokens, int batch, int context) {
        return new BatchSource() {
            long step;

            @Override
            public int[] next() {
                var rng = new SplittableRandom(step++);
                int[] out = new int[batch * (context + 1)];
                for (int r = 0; r < batch; r++) System.arraycopy(tokens, rng.nextInt(tokens.length - context - 1), out, r * (context + 1), context + 1);
                return out;
            }

            @Override public Map<String, Object> state() { return Map.of("step", step); }
            @Override public void restore(Map<String, Object> state) { step = ((Number) state.get("step")).longValue(); }
        };
    }
}
