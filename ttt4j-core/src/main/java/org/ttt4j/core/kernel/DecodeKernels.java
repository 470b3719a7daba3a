package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The row kernels of one decoding step besides the matrix products ({@link MatVec}): RMSNorm of a
 * row, SiLU-gated product, rotary embedding of a head, and one query attending over a cached head.
 * They work on plain arrays and allocate nothing. Scalar twins: {@link DecodeKernelsReference}.
 */
public final class DecodeKernels {
    private static final VectorSpecies<Float> S = Simd.F;

    private DecodeKernels() {}

    /** out = x / sqrt(mean(x^2) + eps) * weight (weight null: none), over n values. */
    public static void rmsNorm(float[] x, int xo, float[] weight, float[] out, int oo, int n, float eps) {
        if (!Simd.enabled()) {
            DecodeKernelsReference.rmsNorm(x, xo, weight, out, oo, n, eps);
            return;
        }
        float r = (float) (1 / Math.sqrt(Reductions.dot(x, xo, x, xo, n) / n + eps));
        int i = 0;
        if (weight == null) {
            for (int upper = S.loopBound(n); i < upper; i += S.length()) FloatVector.fromArray(S, x, xo + i).mul(r).intoArray(out, oo + i);
            for (; i < n; i++) out[oo + i] = x[xo + i] * r;
        } else {
            for (int upper = S.loopBound(n); i < upper; i += S.length()) {
                FloatVector.fromArray(S, x, xo + i).mul(r).mul(FloatVector.fromArray(S, weight, i)).intoArray(out, oo + i);
            }
            for (; i < n; i++) out[oo + i] = x[xo + i] * r * weight[i];
        }
    }

    /** out[i] = silu(g[i]) * u[i] = g / (1 + exp(-g)) * u for i in [from, to) (all at the same offset). */
    public static void siluMul(float[] g, float[] u, float[] out, int from, int to) {
        if (!Simd.enabled()) {
            DecodeKernelsReference.siluMul(g, u, out, from, to);
            return;
        }
        // The tail runs masked through the same vector formula: an element's value does not depend
        // on where a range split puts it.
        for (int i = from; i < to; i += S.length()) {
            var mask = S.indexInRange(i, to);
            var x = FloatVector.fromArray(S, g, i, mask);
            x.mul(VectorMath.sigmoid(x)).mul(FloatVector.fromArray(S, u, i, mask)).intoArray(out, i, mask);
        }
    }

    /** y[yo..] += x[xo..] over n values. */
    public static void add(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        if (Simd.enabled()) {
            for (int upper = S.loopBound(n); i < upper; i += S.length()) {
                FloatVector.fromArray(S, y, yo + i).add(FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
            }
        }
        for (; i < n; i++) y[yo + i] += x[xo + i];
    }

    /**
     * Rotary embedding of one head of width d in place, pairs (f, f + d/2) turned by the angles
     * whose cosines and sines are {@code cos[f]}, {@code sin[f]} (Hugging Face Llama's layout).
     */
    public static void rope(float[] x, int xo, int d, double[] cos, double[] sin) {
        DecodeKernelsReference.rope(x, xo, d, cos, sin);
    }

    /**
     * One query q (width d at qo) attending to the cached keys and values of one head: positions
     * [from, to], position p at slot {@code p % ring} (ring 0: slot p) of rows of width d starting
     * at {@code base} in keys and values. Softmax of q.k * scale, then the weighted sum of values
     * into out (width d at oo). {@code scores} holds at least to - from + 1 floats.
     */
    public static void attend(float[] q, int qo, float[] keys, float[] values, int base, int d, long from, long to, int ring,
                              float scale, float[] scores, float[] out, int oo) {
        if (!Simd.enabled()) {
            DecodeKernelsReference.attend(q, qo, keys, values, base, d, from, to, ring, scale, scores, out, oo);
            return;
        }
        int n = (int) (to - from + 1);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            int slot = ring == 0 ? (int) (from + j) : (int) ((from + j) % ring);
            float s = Reductions.dot(q, qo, keys, base + slot * d, d) * scale;
            scores[j] = s;
            max = Math.max(max, s);
        }
        float sum = 0;
        for (int j = 0; j < n; j++) sum += scores[j] = (float) Math.exp(scores[j] - max);
        float inv = 1 / sum;
        java.util.Arrays.fill(out, oo, oo + d, 0f);
        int upper = S.loopBound(d);
        for (int j = 0; j < n; j++) {
            int slot = ring == 0 ? (int) (from + j) : (int) ((from + j) % ring);
            int vo = base + slot * d;
            float p = scores[j] * inv;
            int i = 0;
            for (; i < upper; i += S.length()) {
                FloatVector.fromArray(S, values, vo + i).fma(FloatVector.broadcast(S, p), FloatVector.fromArray(S, out, oo + i)).intoArray(out, oo + i);
            }
            for (; i < d; i++) out[oo + i] = Math.fma(values[vo + i], p, out[oo + i]);
        }
    }
}
