package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.train.CheckpointStore;

/** {@code train --init-from} (extension fine-tunes) and {@code eval --e2e-inner-lr} (the naive baseline). */
class InitFromTest {
    /** A run started from another's checkpoint begins at its weights, with a new context; model options are refused. */
    @Test
    void startsFromTheCheckpointsWeightsAtANewContext(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, "the quick brown fox jumps over the lazy dog; ".repeat(400));
        var err = new StringWriter();
        String[] common = {"--tokenizer", "bytes", "--corpus", text.toString(), "--batch", "2", "--eval-batches", "1"};
        assertEquals(0, Cli.run(err, concat(new String[] {"train", "--preset", "tiny", "--context", "16", "--steps", "3", "--out",
                tmp.resolve("a").toString()}, common)), err.toString());
        // One step at a learning rate of 1e-9: the weights move by about 1e-9, so they must be the source's.
        assertEquals(0, Cli.run(err, "train", "--model", tmp.resolve("a").toString(), "--context", "32", "--steps", "1", "--lr", "1e-9",
                "--corpus", text.toString(), "--batch", "2", "--eval-batches", "1", "--out", tmp.resolve("b").toString()), err.toString());
        var a = CheckpointStore.load(tmp.resolve("a")).model();
        var b = CheckpointStore.load(tmp.resolve("b"));
        assertEquals(32, b.config().context());
        double moved = 0, fresh = 0;
        Map<String, Tensor> init = new Decoder(b.config(), 1234).params().all();
        for (var e : a.entrySet()) {
            Tensor w = b.model().get(e.getKey());
            for (int i = 0; i < w.size(); i++) {
                moved = Math.max(moved, Math.abs(w.get(i) - e.getValue().get(i)));
                fresh = Math.max(fresh, Math.abs(init.get(e.getKey()).get(i) - e.getValue().get(i)));
            }
        }
        assertTrue(moved < 1e-6, "weights moved by " + moved);
        assertTrue(fresh > 1e-3, "a freshly initialised model would differ: " + fresh);
        var refused = new StringWriter();
        assertEquals(1, Cli.run(refused, "train", "--model", tmp.resolve("a").toString(), "--mixers", "swa", "--out", tmp.resolve("c").toString()));
        assertTrue(refused.toString().contains("only --context may change it"), refused.toString());
    }

    @Test
    void innerLrOverrideKeepsTheWeightsAndRefusesOtherModels() {
        var base = Presets.byName("tiny");
        Decoder e2e = new Decoder(new E2eSettings(1, 8, 1.0, 1.0, null).matched(base.withMixers("swa", 16)).validate(), 3);
        Decoder naive = EvalCommand.withInnerLr(e2e, 0.25);
        assertEquals(0.25, E2eSettings.of(naive.config()).innerLearningRate());
        assertSame(e2e.params().get("model.embed_tokens.weight"), naive.params().get("model.embed_tokens.weight"));
        var e = assertThrows(IllegalArgumentException.class, () -> EvalCommand.withInnerLr(new Decoder(base, 3), 1.0));
        assertTrue(e.getMessage().contains("not TTT-E2E"), e.getMessage());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
