package org.ttt4j.lm.infer;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.eval.Latency;
import org.ttt4j.lm.eval.Scorer;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;

/** Every method read through the one session interface gives what its own forward gives, however the input is cut. */
class InferenceSessionTest {
    static Decoder model(String method) {
        ModelConfig tiny = Presets.byName("tiny");
        ModelConfig c = method.equals("e2e") ? new E2eSettings(1, 4, 1.0, 1.0, null).matched(tiny.withMixers("swa", 8)) : tiny.withMixers(method, 8);
        return new Decoder(c.validate(), 3);
    }

    static final String[] METHODS = {"full", "swa", "swa:1,full:1", "ttt_linear", "ttt_mlp", "e2e"};

    @Test
    void readingInAnyPiecesGivesTheSameLogitsAsScoring() {
        int[] tokens = Latency.randomIds(new SplittableRandom(5), 45, 257);
        for (String method : METHODS) {
            Decoder m = model(method);
            // Per-token losses of the whole sequence: the reference every reading must reproduce at its last token.
            float[] losses = Scorer.tokenLosses(m, tokens, 45);
            for (int piece : new int[] {1, 5, 16, 64}) {
                try (var off = GradMode.disabled()) {
                    InferenceSession s = InferenceSession.open(m, piece);
                    float[] last = s.read(java.util.Arrays.copyOf(tokens, 44));
                    assertEquals(44, s.position(), method);
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (float v : last) max = Math.max(max, v);
                    for (float v : last) sum += Math.exp(v - max);
                    double loss = max + Math.log(sum) - last[tokens[44]];
                    assertEquals(losses[43], loss, 2e-4, method + " piece " + piece);
                }
            }
        }
    }

    @Test
    void slidingWindowStateIsFlatAndFullAttentionGrows() {
        var rng = new SplittableRandom(2);
        for (String method : METHODS) {
            Decoder m = model(method);
            double a = Latency.measure(m, 64, 2, 16, rng).stateMib(), b = Latency.measure(m, 256, 2, 16, rng).stateMib();
            boolean grows = method.contains("full");
            if (grows) assertTrue(b > 3 * a, method + ": " + a + " -> " + b + " MiB");
            else assertEquals(a, b, 1e-12, method + " state must not grow with context");
            // Full attention: keys and values of every position in every layer (2 layers, width 32, 66 positions), in a
            // cache whose capacity at most doubles past what it holds.
            double exact = 2 * 2 * 32 * 66 * 4 / (double) (1 << 20);
            if (method.equals("full")) assertTrue(a >= exact && a <= 2 * exact, a + " MiB for " + exact);
        }
    }

    @Test
    void latencyFiguresAreConsistent() {
        var p = Latency.measure(model("swa"), 100, 5, 16, new SplittableRandom(1));
        assertEquals(100, p.context());
        assertTrue(p.prefillTokensPerS() > 0 && p.decodeMsPerToken() > 0 && p.decodeMedianMs() > 0);
        assertEquals(1000 / p.prefillTokensPerS(), p.prefillMsPerToken(), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> Latency.measure(model("swa"), 0, 5, 16, new SplittableRandom(1)));
        assertThrows(IllegalArgumentException.class, () -> InferenceSession.open(model("full"), 0));
    }
}
