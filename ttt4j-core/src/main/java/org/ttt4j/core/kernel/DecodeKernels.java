package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The row kernels of one decoding step besides the matrix products ({@link MatVec}): RMSNorm of a
 * row, SiLU-gated product, rotary embedding of a head, and one query attending over a cached head.
 * They work on plain arrays and allocate nothing. Scalar twins: {@link DecodeKernelsReference}.
 */
public final class DecodeKernels {
    private static final VectorSpecies<Float> S = Simd.F;
    private static final VectorSpecies<Integer> I = S.withLanes(int.class);
    /** Shorts of one vector's lanes (bfloat16 keys and values), widened to S. */
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(S.length() * 16));

    private DecodeKernels() {}

    /**
     * The dot product of two runs of n floats: vector partial sums, their lanes summed by a fixed
     * halving tree ({@link #laneSum}), then the tail. The order is fixed: the bits do not depend on
     * the JIT tier.
     */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        var acc = FloatVector.zero(S);
        int i = 0, l = S.length();
        for (int upper = S.loopBound(n); i < upper; i += l) acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
        float s = laneSum(acc);
        for (; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    /** Shuffles that bring lane k + w to lane k, for w = L/2, L/4, ..., 1. */
    private static final VectorShuffle<Float>[] HALVES = halves();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] halves() {
        int levels = Integer.numberOfTrailingZeros(S.length());
        VectorShuffle<Float>[] h = new VectorShuffle[levels];
        for (int j = 0, w = S.length() / 2; w >= 1; j++, w /= 2) h[j] = VectorShuffle.iota(S, w, 1, true);
        return h;
    }

    /**
     * The sum of the lanes by a fixed halving tree (lane k + lane k + w for w = L/2 .. 1, then lane
     * 0), in registers: the same operations in every JIT tier, where {@code reduceLanes} leaves the
     * order to the compiler.
     */
    static float laneSum(FloatVector acc) {
        for (VectorShuffle<Float> h : HALVES) acc = acc.add(acc.rearrange(h));
        return acc.lane(0);
    }

    /**
     * {@link #dot} with b stored as bfloat16: each b widened exactly, then the same operations in
     * the same order, so it gives the bits of {@code dot} over the widened values.
     */
    static float dot(float[] a, int ao, short[] b, int bo, int n) {
        var acc = FloatVector.zero(S);
        int i = 0, l = S.length();
        for (int upper = S.loopBound(n); i < upper; i += l) acc = FloatVector.fromArray(S, a, ao + i).fma(bf16(b, bo + i), acc);
        float s = laneSum(acc);
        for (; i < n; i++) s += a[ao + i] * PackedMatrix.fromBf16(b[bo + i]);
        return s;
    }

    /** One vector of bfloat16 at b[off..] widened to fp32 (exact). */
    private static FloatVector bf16(short[] b, int off) {
        return ((IntVector) ShortVector.fromArray(H, b, off).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

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
     * into out (width d at oo). {@code scores} holds at least to - from + 1 floats plus one
     * vector's room.
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
            float s = dot(q, qo, keys, base + slot * d, d) * scale;
            scores[j] = s;
            max = Math.max(max, s);
        }
        float inv = softmax(scores, n, max);
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

    /**
     * scores[0..n) = exp(score - max) by the vector formula for every score (the tail masked: no
     * scalar exp per key); returns 1 / their sum, summed by lanes then a fixed halving tree in the
     * room past the scores.
     */
    private static float softmax(float[] scores, int n, float max) {
        var vmax = FloatVector.broadcast(S, max);
        var acc = FloatVector.zero(S);
        for (int j = 0; j < n; j += S.length()) {
            var mask = S.indexInRange(j, n);
            var e = VectorMath.exp(FloatVector.fromArray(S, scores, j, mask).sub(vmax));
            e.intoArray(scores, j, mask);
            acc = acc.add(e, mask);
        }
        acc.intoArray(scores, n);
        for (int w = S.length() / 2; w >= 1; w /= 2) for (int k = 0; k < w; k++) scores[n + k] += scores[n + k + w];
        return 1 / scores[n];
    }

    /**
     * {@link #attend} over keys and values stored as bfloat16 (half the bytes read per cached
     * position): the same operations in the same order on the exactly widened values, so the same
     * bits as {@code attend} over widened copies.
     */
    public static void attend(float[] q, int qo, short[] keys, short[] values, int base, int d, long from, long to, int ring,
                              float scale, float[] scores, float[] out, int oo) {
        if (!Simd.enabled()) {
            DecodeKernelsReference.attend(q, qo, keys, values, base, d, from, to, ring, scale, scores, out, oo);
            return;
        }
        int n = (int) (to - from + 1);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            int slot = ring == 0 ? (int) (from + j) : (int) ((from + j) % ring);
            float s = dot(q, qo, keys, base + slot * d, d) * scale;
            scores[j] = s;
            max = Math.max(max, s);
        }
        float inv = softmax(scores, n, max);
        java.util.Arrays.fill(out, oo, oo + d, 0f);
        int upper = S.loopBound(d);
        for (int j = 0; j < n; j++) {
            int slot = ring == 0 ? (int) (from + j) : (int) ((from + j) % ring);
            int vo = base + slot * d;
            float p = scores[j] * inv;
            int i = 0;
            for (; i < upper; i += S.length()) {
                bf16(values, vo + i).fma(FloatVector.broadcast(S, p), FloatVector.fromArray(S, out, oo + i)).intoArray(out, oo + i);
            }
            for (; i < d; i++) out[oo + i] = Math.fma(PackedMatrix.fromBf16(values[vo + i]), p, out[oo + i]);
        }
    }
}
