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

    /** Shuffles that bring lane k + w to lane k (w = 8, 4, 2, 1), for the halving trees of lane sums. */
    private static final VectorShuffle<Float> HALF8 = VectorShuffle.iota(S, 8 % S.length(), 1, true),
            HALF4 = VectorShuffle.iota(S, 4 % S.length(), 1, true), HALF2 = VectorShuffle.iota(S, 2 % S.length(), 1, true),
            HALF1 = VectorShuffle.iota(S, 1 % S.length(), 1, true);

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
     * into out (width d at oo). {@code scores} holds at least to - from + 1 floats.
     *
     * <p>Its three passes are methods of their own that pass only arrays and numbers: a vector that
     * crosses a call C2 does not inline is boxed, and one method holding all three grew past the
     * size at which C2 still inlines every vector operation (the bf16 twin allocated a vector per
     * widened row, 68 GB in a few hundred tokens at 4K). Each key's dot product sums its lanes by
     * a fixed halving tree in registers: the same operations in every JIT tier.
     */
    public static void attend(float[] q, int qo, float[] keys, float[] values, int base, int d, long from, long to, int ring,
                              float scale, float[] scores, float[] out, int oo) {
        if (!Simd.enabled()) {
            DecodeKernelsReference.attend(q, qo, keys, values, base, d, from, to, ring, scale, scores, out, oo);
            return;
        }
        int n = (int) (to - from + 1);
        float inv = softmax(scores, n, scores(q, qo, keys, base, d, from, n, ring, scale, scores));
        sum(values, base, d, from, n, ring, scores, inv, out, oo);
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
        float inv = softmax(scores, n, scores(q, qo, keys, base, d, from, n, ring, scale, scores));
        sum(values, base, d, from, n, ring, scores, inv, out, oo);
    }

    private static int slot(long from, int j, int ring) {
        return ring == 0 ? (int) (from + j) : (int) ((from + j) % ring);
    }

    /** scores[j] = q . key(from + j) * scale for j < n; returns the largest. */
    private static float scores(float[] q, int qo, float[] keys, int base, int d, long from, int n, int ring, float scale, float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        int upper = S.loopBound(d);
        for (int j = 0; j < n; j++) {
            int ko = base + slot(from, j, ring) * d;
            var acc = FloatVector.zero(S);
            int i = 0;
            for (; i < upper; i += S.length()) acc = FloatVector.fromArray(S, q, qo + i).fma(FloatVector.fromArray(S, keys, ko + i), acc);
            if (S.length() >= 16) acc = acc.add(acc.rearrange(HALF8));
            if (S.length() >= 8) acc = acc.add(acc.rearrange(HALF4));
            if (S.length() >= 4) acc = acc.add(acc.rearrange(HALF2));
            acc = acc.add(acc.rearrange(HALF1));
            float s = acc.lane(0);
            for (; i < d; i++) s += q[qo + i] * keys[ko + i];
            scores[j] = s * scale;
            max = Math.max(max, scores[j]);
        }
        return max;
    }

    /**
     * {@link #scores} over bfloat16 keys, each widened exactly. The fp32 and bf16 passes are twins,
     * not one body choosing its loads: that made C2 box the vectors and ran fp32 at half speed.
     */
    private static float scores(float[] q, int qo, short[] keys, int base, int d, long from, int n, int ring, float scale, float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        int upper = S.loopBound(d);
        for (int j = 0; j < n; j++) {
            int ko = base + slot(from, j, ring) * d;
            var acc = FloatVector.zero(S);
            int i = 0;
            for (; i < upper; i += S.length()) acc = FloatVector.fromArray(S, q, qo + i).fma(bf16(keys, ko + i), acc);
            if (S.length() >= 16) acc = acc.add(acc.rearrange(HALF8));
            if (S.length() >= 8) acc = acc.add(acc.rearrange(HALF4));
            if (S.length() >= 4) acc = acc.add(acc.rearrange(HALF2));
            acc = acc.add(acc.rearrange(HALF1));
            float s = acc.lane(0);
            for (; i < d; i++) s += q[qo + i] * PackedMatrix.fromBf16(keys[ko + i]);
            scores[j] = s * scale;
            max = Math.max(max, scores[j]);
        }
        return max;
    }

    /**
     * scores[0..n) = exp(score - max) by the vector formula for every score (the tail masked: no
     * scalar exp per key); returns 1 / their sum (lanes, then the halving tree).
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
        if (S.length() >= 16) acc = acc.add(acc.rearrange(HALF8));
        if (S.length() >= 8) acc = acc.add(acc.rearrange(HALF4));
        if (S.length() >= 4) acc = acc.add(acc.rearrange(HALF2));
        acc = acc.add(acc.rearrange(HALF1));
        return 1 / acc.lane(0);
    }

    /**
     * out = sum over j < n of scores[j] * inv * value(from + j), each element summed by FMA in key
     * order. Four vectors of columns at a time stay in registers over all the keys (a row of 64 at
     * 16 lanes is one block), instead of a load and store of out per key.
     */
    private static void sum(float[] values, int base, int d, long from, int n, int ring, float[] scores, float inv, float[] out, int oo) {
        int l = S.length(), i = 0;
        for (; i + 4 * l <= d; i += 4 * l) {
            var a0 = FloatVector.zero(S);
            var a1 = a0;
            var a2 = a0;
            var a3 = a0;
            for (int j = 0; j < n; j++) {
                int vo = base + slot(from, j, ring) * d + i;
                var p = FloatVector.broadcast(S, scores[j] * inv);
                a0 = FloatVector.fromArray(S, values, vo).fma(p, a0);
                a1 = FloatVector.fromArray(S, values, vo + l).fma(p, a1);
                a2 = FloatVector.fromArray(S, values, vo + 2 * l).fma(p, a2);
                a3 = FloatVector.fromArray(S, values, vo + 3 * l).fma(p, a3);
            }
            a0.intoArray(out, oo + i);
            a1.intoArray(out, oo + i + l);
            a2.intoArray(out, oo + i + 2 * l);
            a3.intoArray(out, oo + i + 3 * l);
        }
        for (; i + l <= d; i += l) {
            var a = FloatVector.zero(S);
            for (int j = 0; j < n; j++) a = FloatVector.fromArray(S, values, base + slot(from, j, ring) * d + i).fma(FloatVector.broadcast(S, scores[j] * inv), a);
            a.intoArray(out, oo + i);
        }
        for (; i < d; i++) {
            float a = 0;
            for (int j = 0; j < n; j++) a = Math.fma(values[base + slot(from, j, ring) * d + i], scores[j] * inv, a);
            out[oo + i] = a;
        }
    }

    /** {@link #sum} over bfloat16 values, each widened exactly. */
    private static void sum(short[] values, int base, int d, long from, int n, int ring, float[] scores, float inv, float[] out, int oo) {
        int l = S.length(), i = 0;
        for (; i + 4 * l <= d; i += 4 * l) {
            var a0 = FloatVector.zero(S);
            var a1 = a0;
            var a2 = a0;
            var a3 = a0;
            for (int j = 0; j < n; j++) {
                int vo = base + slot(from, j, ring) * d + i;
                var p = FloatVector.broadcast(S, scores[j] * inv);
                a0 = bf16(values, vo).fma(p, a0);
                a1 = bf16(values, vo + l).fma(p, a1);
                a2 = bf16(values, vo + 2 * l).fma(p, a2);
                a3 = bf16(values, vo + 3 * l).fma(p, a3);
            }
            a0.intoArray(out, oo + i);
            a1.intoArray(out, oo + i + l);
            a2.intoArray(out, oo + i + 2 * l);
            a3.intoArray(out, oo + i + 3 * l);
        }
        for (; i + l <= d; i += l) {
            var a = FloatVector.zero(S);
            for (int j = 0; j < n; j++) a = bf16(values, base + slot(from, j, ring) * d + i).fma(FloatVector.broadcast(S, scores[j] * inv), a);
            a.intoArray(out, oo + i);
        }
        for (; i < d; i++) {
            float a = 0;
            for (int j = 0; j < n; j++) a = Math.fma(PackedMatrix.fromBf16(values[base + slot(from, j, ring) * d + i]), scores[j] * inv, a);
            out[oo + i] = a;
        }
    }
}
