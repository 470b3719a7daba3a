package org.ttt4j.lm.methods.qttt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.E2eSettings;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;

class QtttSessionTest {
    private static ModelConfig config(String mixers, int window) {
        return Presets.byName("tiny").withMixers(mixers, window).withContext(512).validate();
    }

    private static int[] tokens(int n, int vocab, long seed) {
        var rng = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rng.nextInt(vocab);
        return t;
    }

    /** A sequence of {@code n} random tokens repeated {@code times} times: later copies are predictable from earlier ones. */
    private static int[] repeated(int n, int times, long seed) {
        int[] once = tokens(n, 257, seed), out = new int[n * times];
        for (int r = 0; r < times; r++) System.arraycopy(once, 0, out, r * n, n);
        return out;
    }

    /** Before any step, a span's loss against the frozen cache is the plain forward's loss of those tokens. */
    @Test
    void spanLossAgainstTheFrozenCacheEqualsThePlainForward() {
        for (String mixers : new String[] {"full", "swa", "swa:1,full:1"}) {
            Decoder m = new Decoder(config(mixers, 8), 3);
            int[] ctx = tokens(61, 257, 4);
            QtttSession s = QtttSession.prefill(m, ctx, 16);
            float[] plain;
            try (var off = GradMode.disabled()) {
                plain = m.tokenLosses(Arrays.copyOf(ctx, 60), Arrays.copyOfRange(ctx, 1, 61), 1, 60).toFloatArray();
            }
            for (int[] span : new int[][] {{0, 60}, {7, 13}, {40, 20}, {59, 1}}) {
                double expected = 0;
                for (int i = span[0]; i < span[0] + span[1]; i++) expected += plain[i] / span[1];
                try (var off = GradMode.disabled()) {
                    assertEquals(expected, s.spanLoss(span[0], span[1]).item(), 2e-5, mixers + " span " + Arrays.toString(span));
                }
            }
        }
    }

    /** Only the session's W_Q copies change: the model's parameters and the cached keys and values are bit-identical afterwards. */
    @Test
    void onlyTheQueriesChange() {
        Decoder m = new Decoder(config("swa:1,full:1", 8), 5);
        Map<String, float[]> before = new LinkedHashMap<>();
        m.params().all().forEach((n, t) -> before.put(n, t.toFloatArray()));
        int[] ctx = repeated(20, 4, 1);
        QtttSession s = QtttSession.prefill(m, ctx, 32);
        KvCache.Snapshot[] caches = new KvCache.Snapshot[2];
        for (int i = 0; i < 2; i++) caches[i] = s.cache(i).snapshot();
        s.adapt(new QtttOptions(4, 16, 1e-2, 0.01, 1.0, 7), null);
        for (int i = 0; i < 2; i++) {
            assertArrayEquals(caches[i].keys(), s.cache(i).snapshot().keys(), "keys of layer " + i);
            assertArrayEquals(caches[i].values(), s.cache(i).snapshot().values(), "values of layer " + i);
        }
        m.params().all().forEach((n, t) -> assertArrayEquals(before.get(n), t.toFloatArray(), n + " of the model"));
        assertEquals(2, s.queries().size());
        s.queries().forEach((n, q) -> assertFalse(Arrays.equals(before.get(n), q.toFloatArray()), n + " adapted"));
        s.keep();
        s.queries().forEach((n, q) -> assertArrayEquals(q.toFloatArray(), m.params().get(n).toFloatArray(), n + " kept"));
    }

    /** The gradient the steps follow is the span loss's: finite differences on W_Q entries of both layers. */
    @Test
    void queryGradientsMatchFiniteDifferences() {
        Decoder m = new Decoder(config("swa:1,full:1", 8), 6);
        QtttSession s = QtttSession.prefill(m, tokens(40, 257, 2), 8);
        for (var e : s.queries().entrySet()) {
            Tensor w = e.getValue();
            Tensor g;
            try (var on = GradMode.enabled()) {
                w.requiresGrad(true);
                g = Autograd.grad(s.spanLoss(10, 25), w, false);
                w.requiresGrad(false);
            }
            for (int idx : new int[] {0, 37, w.size() - 1}) {
                float old = (float) w.get(idx);
                double h = 1e-2;
                w.set(idx, old + h);
                double up = s.spanLoss(10, 25).item();
                w.set(idx, old - h);
                double down = s.spanLoss(10, 25).item();
                w.set(idx, old);
                double fd = (up - down) / (2 * h);
                assertEquals(fd, g.get(idx), 2e-3 + 2e-2 * Math.abs(fd), e.getKey() + "[" + idx + "]");
            }
        }
    }

    /** After adapting, the answer's first logits use the new queries; with lr 0 they are the prefill's. */
    @Test
    void lastLogitsFollowTheAdaptedQueries() {
        Decoder m = new Decoder(config("swa:1,full:1", 8), 7);
        int[] ctx = repeated(12, 4, 9);
        for (double lr : new double[] {0, 1e-1}) {
            QtttSession s = QtttSession.prefill(m, ctx, 16);
            float[] before = s.lastLogits();
            s.adapt(new QtttOptions(3, 12, lr, 0.01, 1.0, 3), null);
            float[] after = s.lastLogits();
            double diff = 0;
            for (int i = 0; i < before.length; i++) diff = Math.max(diff, Math.abs(before[i] - after[i]));
            if (lr == 0) assertTrue(diff < 1e-5, "lr 0 recomputes the same logits: " + diff);
            else assertTrue(diff > 1e-3, "adapted queries change the answer's logits: " + diff);
        }
    }

    /** On a context that repeats itself, adapting the queries lowers the loss of its spans. */
    @Test
    void spanLossFallsOverTheSteps() {
        Decoder m = new Decoder(config("full", 0), 2);
        int[] ctx = repeated(24, 5, 3);
        QtttSession s = QtttSession.prefill(m, ctx, 64);
        double before = s.spanLoss(40, 79).item();
        s.adapt(new QtttOptions(40, 32, 3e-2, 0.01, 1.0, 1), null);
        double after = s.spanLoss(40, 79).item();
        assertTrue(after < before - 0.05, "loss " + before + " -> " + after);
        var steps = s.steps();
        double first = steps.subList(0, 5).stream().mapToDouble(QtttSession.Step::loss).average().orElseThrow();
        double last = steps.subList(35, 40).stream().mapToDouble(QtttSession.Step::loss).average().orElseThrow();
        assertTrue(last < first, "sampled-span losses " + first + " -> " + last);
    }

    /** Same seed, same spans and the same adapted weights, bit for bit; another seed draws other spans. */
    @Test
    void deterministicWithASeed() {
        Decoder m = new Decoder(config("full", 0), 4);
        int[] ctx = tokens(90, 257, 8);
        float[][] q = new float[3][];
        int[][] starts = new int[3][];
        for (int r = 0; r < 3; r++) {
            QtttSession s = QtttSession.prefill(m, ctx, 32);
            s.adapt(new QtttOptions(5, 16, 1e-2, 0.01, 1.0, r < 2 ? 11 : 12), null);
            q[r] = s.queries().get("model.layers.1.self_attn.q_proj.weight").toFloatArray();
            starts[r] = s.steps().stream().mapToInt(QtttSession.Step::spanStart).toArray();
        }
        assertArrayEquals(q[0], q[1]);
        assertArrayEquals(starts[0], starts[1]);
        assertFalse(Arrays.equals(starts[0], starts[2]));
    }

    /** TTT-E2E models: the session reads with its inner loop, adapts W_Q, and answers; the KV cache stays frozen. */
    @Test
    void worksOnTttE2eModels() {
        ModelConfig c = new E2eSettings(1, 8, 1.0, 1.0, null).matched(config("swa", 8)).validate();
        Decoder m = new Decoder(c, 9);
        QtttSession s = QtttSession.prefill(m, repeated(16, 4, 5), 16);
        float[] keys = s.cache(1).snapshot().keys();
        double before = s.spanLoss(20, 40).item();
        s.adapt(new QtttOptions(20, 24, 3e-2, 0.01, 1.0, 2), null);
        assertArrayEquals(keys, s.cache(1).snapshot().keys());
        assertTrue(s.spanLoss(20, 40).item() < before, "the span loss falls");
        assertEquals(257, s.feed(new int[] {1, 2}).dim(-1));
    }

    @Test
    void refusesModelsWithoutAttentionEverywhere() {
        Decoder m = new Decoder(config("ttt_linear:1,full:1", 0), 1);
        var e = assertThrows(IllegalArgumentException.class, () -> QtttSession.prefill(m, tokens(10, 257, 1), 8));
        assertTrue(e.getMessage().contains("attention in every block"), e.getMessage());
        var bad = assertThrows(IllegalArgumentException.class, () -> new QtttOptions(3, 0, 1e-3, 0.01, 1, 0).validate());
        assertTrue(bad.getMessage().contains("span"), bad.getMessage());
    }
}
