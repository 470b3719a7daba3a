package org.ttt4j.lm.api;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;

/**
 * {@link Convert}: every source weight kept; with the prime MLPs zeroed out the converted model's
 * logits are the source's wherever the window covers the context, and differ beyond it; TTT-E2E's
 * first chunk scores like the source (its prime weights have not moved yet), later chunks do not.
 */
class ConvertTest {
    private static final ModelConfig SOURCE = Presets.byName("tiny").toBuilder().context(64).qkNorm(true).postNorm(true).build().validate();

    private static int[] tokens(int n, int vocab) {
        var rng = new SplittableRandom(9);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rng.nextInt(vocab);
        return t;
    }

    private static double maxDiff(Decoder a, Decoder b, int[] ids) {
        try (var off = GradMode.disabled()) {
            float[] x = a.logits(ids, 1, ids.length, 0).toFloatArray(), y = b.logits(ids, 1, ids.length, 0).toFloatArray();
            double worst = 0;
            for (int i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
            return worst;
        }
    }

    @Test
    void everyTargetKeepsTheSourcesOutputInsideTheWindowAndChangesItBeyond() {
        Decoder source = new Decoder(SOURCE, 5);
        int[] inside = tokens(24, SOURCE.vocabSize()), beyond = tokens(64, SOURCE.vocabSize());
        for (Convert.Target to : Convert.Target.values()) {
            Decoder c = Convert.convert(source, new Convert.Options(to, 24, to == Convert.Target.E2E ? 8 : null, null, null, null, 1));
            for (var e : source.params().all().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), c.params().get(e.getKey()).toFloatArray(), to + " keeps " + e.getKey());
            }
            assertEquals(24, c.config().window());
            assertEquals(0, maxDiff(source, c, inside), 1e-5, to + ": 24 tokens, window 24");
            assertTrue(maxDiff(source, c, beyond) > 1e-3, to + ": 64 tokens see less than the source with a window of 24");
        }
        Decoder e2e = Convert.convert(source, new Convert.Options(Convert.Target.E2E, 24, 8, null, null, null, 1));
        assertEquals("swa", e2e.config().mixers());
        assertEquals(1, E2eSettings.of(e2e.config()).suffixBlocks(e2e.config()), "a quarter of the blocks, at least one");
        assertEquals(SOURCE.dFf(), e2e.config().dFf(), "the static MLPs keep their width");
        var added = Convert.added(source, e2e);
        assertFalse(added.isEmpty());
        for (var e : added.entrySet()) {
            assertTrue(e.getKey().contains(".prime_"), e.getKey());
            if (e.getKey().endsWith("prime_mlp.down_proj.weight")) {
                for (float v : e.getValue().toFloatArray()) assertEquals(0f, v, "zero-out: down projection zero");
            }
        }
        assertEquals("swa:3,full:1", Convert.convert(source, Convert.Options.to(Convert.Target.HYBRID)).config().mixers());
        assertEquals(SOURCE.context(), Convert.config(SOURCE, Convert.Options.to(Convert.Target.SWA)).window(), "default window: the source's context");
    }

    @Test
    void primeInitCopyAndRandomChangeTheOutputZeroOutDoesNot() {
        Decoder source = new Decoder(SOURCE, 5);
        int[] ids = tokens(16, SOURCE.vocabSize());
        for (Convert.PrimeInit init : Convert.PrimeInit.values()) {
            Decoder c = Convert.convert(source, new Convert.Options(Convert.Target.E2E, 32, 8, null, init, null, 1));
            double d = maxDiff(source, c, ids);
            if (init == Convert.PrimeInit.ZERO_OUT) assertEquals(0, d, 1e-5);
            else assertTrue(d > 1e-4, init + " changes the output: " + d);
            if (init == Convert.PrimeInit.COPY) {
                String block = "model.layers." + (SOURCE.layers() - 1) + ".";
                assertArrayEquals(source.params().get(block + "mlp.up_proj.weight").toFloatArray(),
                        c.params().get(block + "prime_mlp.up_proj.weight").toFloatArray());
            }
        }
    }

    @Test
    void theE2eFirstChunkScoresLikeTheSourceThenItLearns() {
        Decoder source = new Decoder(SOURCE, 5);
        Decoder e2e = Convert.convert(source, new Convert.Options(Convert.Target.E2E, 32, 8, null, null, null, 1));
        int[] doc = tokens(33, SOURCE.vocabSize());
        float[] before = Methods.of(source.config()).tokenLosses(source, doc, 32);
        float[] after = Methods.of(e2e.config()).tokenLosses(e2e, doc, 32);
        assertEquals(before.length, after.length);
        for (int i = 0; i < 8; i++) assertEquals(before[i], after[i], 1e-4, "token " + i + " of the first chunk");
        double moved = 0;
        for (int i = 8; i < after.length; i++) moved = Math.max(moved, Math.abs(before[i] - after[i]));
        assertTrue(moved > 1e-5, "after the first inner step the prime MLPs have learned: " + moved);
    }

    @Test
    void refusesWhatItCannotConvert() {
        var ttt = Presets.byName("tiny").withMixers("ttt_linear", 8);
        var e = assertThrows(IllegalArgumentException.class, () -> Convert.config(ttt, Convert.Options.to(Convert.Target.E2E)));
        assertTrue(e.getMessage().contains("attention model"), e.getMessage());
        var already = Convert.config(SOURCE, Convert.Options.to(Convert.Target.E2E));
        e = assertThrows(IllegalArgumentException.class, () -> Convert.config(already, Convert.Options.to(Convert.Target.E2E)));
        assertTrue(e.getMessage().contains("already"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Convert.config(SOURCE, new Convert.Options(Convert.Target.SWA, null, 8, null, null, null, 0)));
        assertTrue(e.getMessage().contains("--to e2e"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Convert.Target.parse("mamba"));
        assertThrows(IllegalArgumentException.class, () -> Convert.PrimeInit.parse("ones"));
    }
}
