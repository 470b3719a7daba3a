package org.ttt4j.lm.methods.qttt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.autograd.GradCheck;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.optim.TextbookAdamW;

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

    /**
     * A model small enough for float64 finite differences on every W_Q entry: 2 blocks (a sliding
     * window of 4, then full attention) with qk-norm, width 8 in 2 heads, 13 tokens.
     */
    private static ModelConfig small() {
        return ModelConfig.builder().vocabSize(13).dModel(8).dFf(16).qkNorm(true).mixers("swa:1,full:1").window(4).initStd(0.3).build().validate();
    }

    /** The names of the W_Q tensors, in layer order. */
    private static List<String> queryNames(Decoder m) {
        return m.params().all().keySet().stream().filter(n -> n.endsWith(".self_attn.q_proj.weight")).toList();
    }

    /** Float64 copies of every parameter of {@code m}. */
    private static Map<String, Tensor> fp64(Decoder m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        m.params().all().forEach((n, v) -> out.put(n, v.to(DType.FP64).copy()));
        return out;
    }

    /**
     * The span loss of {@link QtttSession#spanLoss} as a function of the queries in float64: the
     * model's weights in FP64 with {@code queries} (layer order) as W_Q, the span's tokens through
     * every block against the session's frozen caches (whose keys and values do not depend on W_Q),
     * then the mean next-token cross-entropy.
     */
    private static Tensor spanLoss64(QtttSession s, ModelConfig c, Map<String, Tensor> weights64, List<String> names, Tensor[] queries,
                                     int[] context, int start, int k) {
        Map<String, Tensor> given = new LinkedHashMap<>(weights64);
        for (int i = 0; i < names.size(); i++) given.put(names.get(i), queries[i]);
        Decoder m = new Decoder(c, new Params(given));
        int[] ids = Arrays.copyOfRange(context, start, start + k), targets = Arrays.copyOfRange(context, start + 1, start + k + 1);
        Tensor h = m.embed(ids, 1, k);
        for (int i = 0; i < m.blocks().size(); i++) h = m.blocks().get(i).applyFrozen(h, start, s.cache(i), java.util.Map.of());
        return Nn.crossEntropyMean(Layout.reshape(m.head(h), k, -1), targets, -1);
    }

    /** Central finite differences of {@link #spanLoss64} in float64 (step 1e-6) for every W_Q entry, by layer. */
    private static double[][] finiteDifferences64(QtttSession s, ModelConfig c, Map<String, Tensor> weights64, List<String> names,
                                                  int[] context, int start, int k) {
        Tensor[] queries = names.stream().map(n -> weights64.get(n).copy()).toArray(Tensor[]::new);
        double[][] g = new double[queries.length][];
        double h = 1e-6;
        try (var off = GradMode.disabled()) {
            for (int q = 0; q < queries.length; q++) {
                g[q] = new double[queries[q].size()];
                for (int i = 0; i < g[q].length; i++) {
                    double old = queries[q].get(i);
                    queries[q].set(i, old + h);
                    double up = spanLoss64(s, c, weights64, names, queries, context, start, k).item();
                    queries[q].set(i, old - h);
                    double down = spanLoss64(s, c, weights64, names, queries, context, start, k).item();
                    queries[q].set(i, old);
                    g[q][i] = (up - down) / (2 * h);
                }
            }
        }
        return g;
    }

    /**
     * In float64, autograd's gradient of the span loss with respect to both layers' W_Q equals central
     * finite differences to 1e-6 (GradCheck), and that float64 function is the session's span loss.
     */
    @Test
    void queryGradientMatchesFiniteDifferencesInFloat64() {
        ModelConfig c = small();
        Decoder m = new Decoder(c, 6);
        int[] ctx = tokens(30, 13, 2);
        QtttSession s = QtttSession.prefill(m, ctx, 8);
        Map<String, Tensor> w64 = fp64(m);
        List<String> names = queryNames(m);
        assertEquals(2, names.size());
        int start = 9, k = 17;
        try (var off = GradMode.disabled()) {
            Tensor[] initial = names.stream().map(w64::get).toArray(Tensor[]::new);
            assertEquals(s.spanLoss(start, k).item(), spanLoss64(s, c, w64, names, initial, ctx, start, k).item(), 1e-5,
                    "the float64 span loss is the session's");
        }
        var r = GradCheck.firstOrder(x -> spanLoss64(s, c, w64, names, x, ctx, start, k), names.stream().map(w64::get).toArray(Tensor[]::new), 5);
        assertTrue(r.passed(), r.toString());
    }

    /**
     * The gradient the session computes in FP32 (what its steps follow) is the float64 finite-difference
     * gradient up to FP32 rounding, for every W_Q entry of both layers.
     */
    @Test
    void queryGradientsMatchFiniteDifferences() {
        ModelConfig c = small();
        Decoder m = new Decoder(c, 6);
        int[] ctx = tokens(30, 13, 2);
        QtttSession s = QtttSession.prefill(m, ctx, 8);
        List<String> names = queryNames(m);
        int start = 4, k = 20;
        double[][] fd = finiteDifferences64(s, c, fp64(m), names, ctx, start, k);
        double largest = Arrays.stream(fd).flatMapToDouble(Arrays::stream).map(Math::abs).max().orElseThrow();
        for (int q = 0; q < names.size(); q++) {
            Tensor w = s.queries().get(names.get(q));
            Tensor g;
            try (var on = GradMode.enabled()) {
                w.requiresGrad(true);
                g = Autograd.grad(s.spanLoss(start, k), w, false);
                w.requiresGrad(false);
            }
            for (int i = 0; i < fd[q].length; i++) {
                assertEquals(fd[q][i], g.get(i), 1e-5 * largest + 1e-4 * Math.abs(fd[q][i]), names.get(q) + "[" + i + "]");
            }
        }
    }

    /**
     * One adaptation step moves W_Q as the textbook AdamW step (betas 0.9 and 0.999, eps 1e-8, decay)
     * from the float64 finite-difference gradient of the step's span, clipped to the global norm
     * {@code clip} by hand, does. A first AdamW step is about lr against the sign of each gradient
     * entry, so a step along the gradient is off by about 2 lr everywhere; the entries are all far from
     * zero compared with FP32 rounding, so the session's FP32 gradient has the same signs.
     */
    @Test
    void firstStepFollowsTheTextbookAdamWStepOnTheFloat64Gradient() {
        ModelConfig c = small();
        Decoder m = new Decoder(c, 8);
        int[] ctx = tokens(40, 13, 3);
        List<String> names = queryNames(m);
        Map<String, Tensor> w64 = fp64(m);
        double lr = 1e-2, decay = 0.05, clip = 0.5;
        int span = 16;
        QtttSession s = QtttSession.prefill(m, ctx, 8);
        s.adapt(new QtttOptions(1, span, lr, decay, clip, 4), null);
        int start = s.steps().getFirst().spanStart();
        double[][] g = finiteDifferences64(s, c, w64, names, ctx, start, span);
        double squares = 0, largest = 0;
        for (double[] layer : g) {
            for (double x : layer) {
                squares += x * x;
                largest = Math.max(largest, Math.abs(x));
            }
        }
        double norm = Math.sqrt(squares);
        assertEquals(norm, s.steps().getFirst().gradNorm(), 1e-4 * norm, "the step's gradient norm (before clipping)");
        assertTrue(norm > clip, "the gradient norm " + norm + " exceeds the clip " + clip + ", so the step clips");
        for (double[] layer : g) {
            for (double x : layer) assertTrue(Math.abs(x) > 1e-4 * largest, "gradient entry " + x + " is far from 0 (largest " + largest + ")");
        }
        double scale = clip / (norm + 1e-6);
        for (int q = 0; q < names.size(); q++) {
            double[] clipped = g[q].clone();
            for (int i = 0; i < clipped.length; i++) clipped[i] *= scale;
            var adam = new TextbookAdamW(w64.get(names.get(q)).toDoubleArray(), 0.9, 0.999, 1e-8, decay, true);
            adam.step(clipped, lr);
            double[] expected = adam.weights();
            Tensor actual = s.queries().get(names.get(q));
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], actual.get(i), 1e-6, names.get(q) + "[" + i + "], gradient " + g[q][i]);
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
