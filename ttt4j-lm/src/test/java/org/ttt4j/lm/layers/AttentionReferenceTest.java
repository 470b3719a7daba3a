package org.ttt4j.lm.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

/**
 * Attention and RoPE held against plain loops written here from docs/methods.md, section 1, not
 * against another ttt4j path: RoPE turns pair (f, f + d/2) (Hugging Face) or (2f, 2f + 1) (the TTT
 * reference) by position * theta^(-2f/d); query i of a sliding window k sees keys j with
 * i - k < j <= i. Prefill, chunked passes with a carried window (TTT-E2E) and cached decoding are
 * each compared with the loop, for two thetas, so a changed frequency, pair layout or window
 * boundary fails here whichever kernel it hides in.
 */
class AttentionReferenceTest {
    private static final int D = 16, HEADS = 2, HD = D / HEADS, T = 11;

    /** Plain RoPE of one head vector at {@code position}. */
    static double[] rope(double[] x, int position, double theta, boolean interleaved) {
        int d = x.length;
        double[] out = new double[d];
        for (int f = 0; f < d / 2; f++) {
            double angle = position * Math.pow(theta, -2.0 * f / d), cos = Math.cos(angle), sin = Math.sin(angle);
            int a = interleaved ? 2 * f : f, b = interleaved ? 2 * f + 1 : f + d / 2;
            out[a] = x[a] * cos - x[b] * sin;
            out[b] = x[a] * sin + x[b] * cos;
        }
        return out;
    }

    @Test
    void ropeOpMatchesAPlainCosSinLoop() {
        var rng = new SplittableRandom(3);
        int t = 7, d = 12;
        int[] positions = {0, 1, 2, 5, 17, 300, 4095};
        for (double theta : new double[] {10_000, 500_000}) {
            for (boolean interleaved : new boolean[] {false, true}) {
                float[] x = new float[t * d];
                for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
                float[] got = Nn.rope(Tensor.of(x, 1, t, d), positions, theta, interleaved).toFloatArray();
                for (int i = 0; i < t; i++) {
                    double[] row = new double[d];
                    for (int j = 0; j < d; j++) row[j] = x[i * d + j];
                    double[] want = rope(row, positions[i], theta, interleaved);
                    for (int j = 0; j < d; j++) {
                        assertEquals(want[j], got[i * d + j], 2e-5, "theta " + theta + (interleaved ? " interleaved" : " half-split")
                                + ", position " + positions[i] + ", dim " + j);
                    }
                }
            }
        }
    }

    /** x W^T for one row; W is [out, in]. */
    private static double[] linear(float[] w, double[] x, int out) {
        double[] y = new double[out];
        for (int o = 0; o < out; o++) for (int i = 0; i < x.length; i++) y[o] += w[o * x.length + i] * x[i];
        return y;
    }

    private static double[] rmsNorm(double[] x, float[] w, double eps) {
        double ms = 0;
        for (double v : x) ms += v * v / x.length;
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] / Math.sqrt(ms + eps) * w[i];
        return y;
    }

    private static double[] head(double[] full, int h) {
        double[] r = new double[HD];
        System.arraycopy(full, h * HD, r, 0, HD);
        return r;
    }

    /** The layer's output for x [T][D] at positions 0.., by loops: q/k per-head RMSNorm, RoPE, causal window, softmax, o_proj. */
    private static double[][] reference(SelfAttention a, float[] x, double theta, int window, double eps) {
        float[] wq = a.q().weight().toFloatArray(), wk = a.k().weight().toFloatArray(), wv = a.v().weight().toFloatArray();
        float[] wo = a.o().weight().toFloatArray(), gq = a.qNorm().weight().toFloatArray(), gk = a.kNorm().weight().toFloatArray();
        double[][][] q = new double[T][HEADS][], k = new double[T][HEADS][], v = new double[T][HEADS][];
        for (int t = 0; t < T; t++) {
            double[] row = new double[D];
            for (int i = 0; i < D; i++) row[i] = x[t * D + i];
            double[] qf = linear(wq, row, D), kf = linear(wk, row, D), vf = linear(wv, row, D);
            for (int h = 0; h < HEADS; h++) {
                q[t][h] = rope(rmsNorm(head(qf, h), gq, eps), t, theta, false);
                k[t][h] = rope(rmsNorm(head(kf, h), gk, eps), t, theta, false);
                v[t][h] = head(vf, h);
            }
        }
        double[][] out = new double[T][];
        for (int i = 0; i < T; i++) {
            double[] merged = new double[D];
            for (int h = 0; h < HEADS; h++) {
                int from = window > 0 ? Math.max(0, i - window + 1) : 0; // keys j with i - k < j <= i
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = from; j <= i; j++) {
                    for (int c = 0; c < HD; c++) s[j] += q[i][h][c] * k[j][h][c] / Math.sqrt(HD);
                    max = Math.max(max, s[j]);
                }
                for (int j = from; j <= i; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int j = from; j <= i; j++) for (int c = 0; c < HD; c++) merged[h * HD + c] += s[j] / sum * v[j][h][c];
            }
            out[i] = linear(wo, merged, D);
        }
        return out;
    }

    private static SelfAttention layer(double theta, String mixers, int window) {
        ModelConfig c = ModelConfig.builder().vocabSize(32).dModel(D).layers(1).heads(HEADS).dFf(24).ropeTheta(theta).qkNorm(true).mixers(mixers).window(window).initStd(0.3).build().validate();
        Decoder m = new Decoder(c, 5);
        var rng = new SplittableRandom(6);
        for (var e : m.params().all().entrySet()) {
            if (!e.getKey().contains("_norm.")) continue;
            Tensor w = e.getValue(); // norm scales away from 1, so a missing or misplaced norm shows
            for (int i = 0; i < w.size(); i++) w.set(i, 1 + 0.5 * rng.nextGaussian());
        }
        return assertInstanceOf(SelfAttention.class, m.blocks().getFirst().mixing().mixer());
    }

    private static void assertClose(double[][] want, float[] got, String what) {
        for (int t = 0; t < want.length; t++) {
            for (int i = 0; i < D; i++) assertEquals(want[t][i], got[t * D + i], 1e-4, what + ": position " + t + ", dim " + i);
        }
    }

    @Test
    void prefillChunkedAndCachedAttentionMatchThePlainLoop() {
        var rng = new SplittableRandom(8);
        float[] x = new float[T * D];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        for (double theta : new double[] {10_000, 500_000}) {
            for (int window : new int[] {0, 3}) {
                SelfAttention a = layer(theta, window == 0 ? "full" : "swa", window);
                double[][] want = reference(a, x, theta, window, 1e-6);
                String what = "theta " + theta + ", window " + window;
                try (var off = GradMode.disabled()) {
                    Tensor in = Tensor.of(x, 1, T, D);
                    assertClose(want, a.apply(in, 0).toFloatArray(), what + ", prefill");
                    // Chunks of 4, 4, 3 carrying the window (TTT-E2E's inner loop).
                    float[] chunked = new float[T * D];
                    SelfAttention.Window past = null;
                    for (int at = 0; at < T; at += 4) {
                        int end = Math.min(T, at + 4);
                        var out = a.apply(Layout.slice(in, 1, at, end), at, past);
                        System.arraycopy(out.out().toFloatArray(), 0, chunked, at * D, (end - at) * D);
                        past = out.window();
                    }
                    assertClose(want, chunked, what + ", chunked");
                    // Token by token against the cache.
                    float[] decoded = new float[T * D];
                    KvCache cache = a.newCache(1);
                    for (int t = 0; t < T; t++) {
                        System.arraycopy(a.apply(Layout.slice(in, 1, t, t + 1), cache).toFloatArray(), 0, decoded, t * D, D);
                    }
                    assertClose(want, decoded, what + ", cached decoding");
                }
            }
        }
    }
}
