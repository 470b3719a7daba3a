package org.ttt4j.lm.layers.ttt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.kernel.Team;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.ttt.InnerLoop.Kind;

/**
 * {@link TttLayer#decodeOne} against {@link TttLayer#apply(Tensor, org.ttt4j.lm.layers.MixerCache)}
 * of one token: outputs and the cache's whole state afterwards, for both inner models, share_qk and
 * the gate on and off, mini-batches of 1, 4 and 16, tokens crossing mini-batch boundaries, and
 * chunks through apply between runs of decoded tokens.
 */
class TttDecodeOneTest {
    private static final double TOL = 1e-5;

    private static TttOptions options(Kind kind, boolean gate, boolean shareQk, int b, boolean innerNorm, boolean learnableLr) {
        return new TttOptions(kind, gate, shareQk, false, b, TttOptions.defaultBaseLr(kind), innerNorm, learnableLr, 4, 10000, 1e-6);
    }

    /** A layer whose parameters all differ from their initial zeros and ones (biases, norms, rate offsets). */
    private static TttLayer layer(int width, int heads, TttOptions opts, long seed) {
        return new TttLayer(new Params(parameters(width, heads, opts, seed)), "l", width, heads, opts);
    }

    private static Map<String, Tensor> parameters(int width, int heads, TttOptions opts, long seed) {
        Params init = new Params(seed, 0.3);
        new TttLayer(init, "l", width, heads, opts);
        SplittableRandom rng = new SplittableRandom(seed + 1);
        Map<String, Tensor> given = new LinkedHashMap<>();
        init.all().forEach((n, t) -> {
            Tensor c = t.detach().copy();
            for (int i = 0; i < c.size(); i++) c.set(i, c.get(i) + 0.1 * Tensor.gaussian(rng));
            given.put(n, c);
        });
        return given;
    }

    private static Map<String, Tensor> saved(TttCache c) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        c.saveState("", t, new LinkedHashMap<>());
        return t;
    }

    private static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        double scale = 0;
        for (float w : want) scale = Math.max(scale, Math.abs(w));
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], TOL * (1 + scale), what + " [" + i + "]");
    }

    private static void assertSameState(TttCache want, TttCache got, String what) {
        assertEquals(want.position(), got.position(), what + " position");
        Map<String, Tensor> a = saved(want), b = saved(got);
        assertEquals(a.keySet(), b.keySet(), what + " fields");
        for (String n : a.keySet()) assertClose(a.get(n).toFloatArray(), b.get(n).toFloatArray(), what + " " + n);
    }

    /**
     * Feeds {@code xs} [T, D] to a cache following {@code plan}: a positive entry n is a chunk of n
     * tokens through apply, a negative one -n is n tokens through decodeOne; the reference cache
     * reads every token alone through apply. Outputs and states are compared after every step.
     */
    private static void check(TttLayer layer, int width, float[][] xs, int[] plan, String what) {
        TttCache ref = layer.newCache(16), got = layer.newCache(16);
        float[] out = new float[width];
        int t = 0;
        for (int step : plan) {
            int n = Math.abs(step);
            float[][] want = new float[n][];
            for (int i = 0; i < n; i++) want[i] = layer.apply(Tensor.of(xs[t + i], 1, 1, width), ref).toFloatArray();
            if (step > 0) {
                float[] chunk = new float[n * width];
                for (int i = 0; i < n; i++) System.arraycopy(xs[t + i], 0, chunk, i * width, width);
                float[] y = layer.apply(Tensor.of(chunk, 1, n, width), got).toFloatArray();
                for (int i = 0; i < n; i++) assertClose(want[i], Arrays.copyOfRange(y, i * width, (i + 1) * width), what + ": chunk token " + (t + i));
            } else {
                for (int i = 0; i < n; i++) {
                    float[] x = xs[t + i].clone();
                    Arrays.fill(out, Float.NaN);
                    assertTrue(layer.decodeOne(x, out, got), what + ": the fast path is taken");
                    assertArrayEquals(xs[t + i], x, what + ": the input is left alone");
                    assertClose(want[i], out, what + ": decoded token " + (t + i));
                }
            }
            t += n;
            assertSameState(ref, got, what + " after token " + t);
        }
    }

    private static float[][] inputs(int t, int width, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[][] xs = new float[t][width];
        for (float[] x : xs) for (int i = 0; i < width; i++) x[i] = (float) Tensor.gaussian(rng);
        return xs;
    }

    @Test
    void decodedTokensMatchApplyForEveryConfiguration() {
        int width = 64, heads = 2;
        try (var off = GradMode.disabled()) {
            for (Kind kind : Kind.values()) {
                for (boolean shareQk : new boolean[] {false, true}) {
                    for (boolean gate : new boolean[] {false, true}) {
                        for (int b : new int[] {1, 4, 16}) {
                            TttLayer layer = layer(width, heads, options(kind, gate, shareQk, b, true, true), 7 + b);
                            float[][] xs = inputs(44, width, b);
                            String what = kind + (shareQk ? " share_qk" : "") + (gate ? " gate" : "") + " b=" + b;
                            // decoded from the start past two boundaries; a chunk that ends mid-mini-batch, decoding on; a chunk
                            // from mid-mini-batch over a boundary; decoding up to and over the next one
                            check(layer, width, xs, new int[] {-19, 3, -5, 9, -8}, what);
                        }
                    }
                }
            }
        }
    }

    @Test
    void plainInnerModelFixedRatesAndOtherHeadWidths() {
        try (var off = GradMode.disabled()) {
            for (Kind kind : Kind.values()) {
                for (boolean simd : new boolean[] {true, false}) {
                    boolean was = Simd.setEnabled(simd);
                    try {
                        // head widths 16 (one vector), 12 (no whole vectors), 48 (three); inner norm / learnable rate off
                        int[][] shapes = {{48, 3}, {24, 2}, {96, 2}};
                        for (int[] s : shapes) {
                            for (int variant = 0; variant < 3; variant++) {
                                TttOptions o = options(kind, variant == 2, variant == 2, 4, variant != 0, variant != 1);
                                String what = kind + " " + Arrays.toString(s) + " variant " + variant + (simd ? "" : " scalar");
                                check(layer(s[0], s[1], o, 3), s[0], inputs(14, s[0], 5), new int[] {-6, 2, -6}, what);
                            }
                        }
                    } finally {
                        Simd.setEnabled(was);
                    }
                }
            }
        }
    }

    /** A mini-batch too long for a table of RoPE angles (each token computes its own), and the partial mini-batch of a sequence that ends. */
    @Test
    void longMiniBatches() {
        try (var off = GradMode.disabled()) {
            for (Kind kind : Kind.values()) {
                TttLayer layer = layer(32, 2, options(kind, true, true, 4096, true, true), 19);
                check(layer, 32, inputs(12, 32, 8), new int[] {3, -5, 2, -2}, kind + " b=4096");
            }
        }
    }

    @Test
    void theLayersParametersStayUntouchedAndCachesAreIndependent() {
        int width = 32, heads = 2;
        TttOptions opts = options(Kind.MLP, true, true, 4, true, true);
        Map<String, Tensor> params = parameters(width, heads, opts, 11);
        TttLayer layer = new TttLayer(new Params(params), "l", width, heads, opts);
        Map<String, float[]> before = new LinkedHashMap<>();
        params.forEach((n, t) -> before.put(n, t.toFloatArray()));
        float[][] xs = inputs(10, width, 2);
        try (var off = GradMode.disabled()) {
            TttCache a = layer.newCache(4), b = layer.newCache(4), alone = layer.newCache(4);
            float[] oa = new float[width], ob = new float[width], o1 = new float[width];
            List<float[]> fromA = new ArrayList<>();
            for (int t = 0; t < xs.length; t++) {
                assertTrue(layer.decodeOne(xs[t], oa, a));
                fromA.add(oa.clone());
                assertTrue(layer.decodeOne(xs[xs.length - 1 - t], ob, b)); // another session in between
            }
            for (int t = 0; t < xs.length; t++) {
                assertTrue(layer.decodeOne(xs[t], o1, alone));
                assertArrayEquals(fromA.get(t), o1, "token " + t + ": a cache's results do not depend on another's");
            }
            // a fresh cache starts from the layer's W1, b1, W2, b2 again
            TttCache fresh = layer.newCache(4), viaApply = layer.newCache(4);
            assertTrue(layer.decodeOne(xs[0], o1, fresh));
            assertClose(layer.apply(Tensor.of(xs[0], 1, 1, width), viaApply).toFloatArray(), o1, "a fresh cache after others decoded");
        }
        params.forEach((n, t) -> assertArrayEquals(before.get(n), t.toFloatArray(), n + " is the layer's, not a cache's"));
    }

    /** The engine's team shares a token's work; alone (here: inside another region of the team) it gives the same bits. */
    @Test
    void theBitsDoNotDependOnTheTeam() {
        int width = 96, heads = 3;
        for (Kind kind : Kind.values()) {
            TttLayer layer = layer(width, heads, options(kind, true, true, 4, true, true), 17);
            float[][] xs = inputs(9, width, 6);
            try (var off = GradMode.disabled()) {
                TttCache shared = layer.newCache(4), alone = layer.newCache(4);
                float[] a = new float[width], b = new float[width];
                for (float[] x : xs) {
                    assertTrue(layer.decodeOne(x, a, shared));
                    boolean[] taken = new boolean[1];
                    Team.engine().run((m, n, t) -> {
                        if (m == 0) taken[0] = layer.decodeOne(x, b, alone);
                    });
                    assertTrue(taken[0]);
                    assertArrayEquals(a, b, kind + ": outputs");
                }
                Map<String, Tensor> sa = saved(shared), sb = saved(alone);
                for (String n : sa.keySet()) assertArrayEquals(sa.get(n).toFloatArray(), sb.get(n).toFloatArray(), kind + ": " + n);
            }
        }
    }

    @Test
    void savedAndLoadedStatesContinueThroughEitherPath() {
        int width = 32, heads = 2;
        TttLayer layer = layer(width, heads, options(Kind.LINEAR, true, true, 4, true, true), 13);
        float[][] xs = inputs(12, width, 4);
        try (var off = GradMode.disabled()) {
            TttCache a = layer.newCache(4);
            float[] out = new float[width], again = new float[width];
            for (int t = 0; t < 6; t++) assertTrue(layer.decodeOne(xs[t], out, a));
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> meta = new LinkedHashMap<>();
            a.saveState("c.", tensors, meta);
            TttCache b = layer.newCache(4);
            b.loadState("c.", tensors, meta, "test");
            for (int t = 6; t < 12; t++) {
                assertTrue(layer.decodeOne(xs[t], out, a));
                assertTrue(layer.decodeOne(xs[t], again, b));
                assertArrayEquals(out, again, "token " + t + " after a save and load");
            }
            assertSameState(a, b, "loaded");
        }
    }

    @Test
    void otherDtypesAndRecordedGradientsKeepToTheTensorPath() {
        int width = 16, heads = 2;
        TttOptions o = options(Kind.LINEAR, false, false, 4, true, true);
        Map<String, Tensor> init = parameters(width, heads, o, 1), fp64 = new LinkedHashMap<>();
        init.forEach((n, t) -> fp64.put(n, t.to(DType.FP64)));
        TttLayer wide = new TttLayer(new Params(fp64), "l", width, heads, o);
        float[] x = inputs(1, width, 1)[0], out = new float[width];
        try (var off = GradMode.disabled()) {
            TttCache c = wide.newCache(4);
            Map<String, Tensor> before = saved(c);
            assertFalse(wide.decodeOne(x, out, c));
            assertEquals(0, c.position());
            Map<String, Tensor> after = saved(c);
            for (String n : before.keySet()) assertArrayEquals(before.get(n).toDoubleArray(), after.get(n).toDoubleArray(), n);
        }
        TttLayer layer = new TttLayer(new Params(init), "l", width, heads, o);
        TttCache c = layer.newCache(4);
        assertFalse(layer.decodeOne(x, out, c), "gradients are being recorded");
        assertEquals(0, c.position());
    }
}
