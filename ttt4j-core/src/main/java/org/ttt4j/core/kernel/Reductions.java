package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.core.tensor.Storage;
import org.ttt4j.core.tensor.Tensor;

/**
 * Sum and max over one axis of a tensor seen as [outer, n, inner]. The reference accumulates in
 * double; the fast path vectorises along the contiguous direction (n when inner == 1, else inner)
 * and fixes the summation order per output, so results do not depend on the thread count.
 */
public final class Reductions {
    private static final VectorSpecies<Float> S = Simd.F;

    private Reductions() {}

    public enum Kind { SUM, MAX }

    /**
     * out[o, i] = reduce_j in[o, j, i]. For MAX, {@code argmax} (may be null) receives the first
     * index j of the maximum per output.
     */
    public static void reduce(Kind kind, Tensor in, int outer, int n, int inner, Tensor out, int[] argmax) {
        if (Elementwise.fast(in, out) && kind == Kind.SUM && n > 0) {
            sumFast(in.f32(), in.offset(), outer, n, inner, out.f32(), out.offset());
            return;
        }
        Storage a = in.storage(), o = out.storage();
        int base = in.offset();
        for (int p = 0; p < outer; p++) {
            for (int i = 0; i < inner; i++) {
                double acc = kind == Kind.SUM ? 0 : Double.NEGATIVE_INFINITY;
                int best = 0;
                for (int j = 0; j < n; j++) {
                    double v = a.get(base + (p * n + j) * inner + i);
                    if (kind == Kind.SUM) {
                        acc += v;
                    } else if (j == 0 || v > acc) {
                        acc = v;
                        best = j;
                    }
                }
                o.set(out.offset() + p * inner + i, acc);
                if (argmax != null) argmax[p * inner + i] = best;
            }
        }
    }

    private static void sumFast(float[] a, int ao, int outer, int n, int inner, float[] o, int oo) {
        if (inner == 1) {
            Parallel.forRange(outer, Math.max(1, (1 << 14) / n), (from, to) -> {
                for (int p = from; p < to; p++) o[oo + p] = rowSum(a, ao + p * n, n);
            });
            return;
        }
        // Column sums: add whole rows of length inner, vectorised along inner.
        Parallel.forRange(outer, 1, (from, to) -> {
            for (int p = from; p < to; p++) {
                int dst = oo + p * inner;
                int src = ao + p * n * inner;
                java.util.Arrays.fill(o, dst, dst + inner, 0f);
                for (int j = 0; j < n; j++) {
                    int r = src + j * inner, i = 0;
                    for (int upper = S.loopBound(inner); i < upper; i += S.length()) {
                        FloatVector.fromArray(S, o, dst + i).add(FloatVector.fromArray(S, a, r + i)).intoArray(o, dst + i);
                    }
                    for (; i < inner; i++) o[dst + i] += a[r + i];
                }
            }
        });
    }

    /** Sum of a contiguous run with four vector accumulators (fixed order). */
    public static float rowSum(float[] a, int off, int n) {
        var s0 = FloatVector.zero(S);
        var s1 = FloatVector.zero(S);
        int i = 0, l = S.length();
        for (int upper = n - 2 * l + 1; i < upper; i += 2 * l) {
            s0 = s0.add(FloatVector.fromArray(S, a, off + i));
            s1 = s1.add(FloatVector.fromArray(S, a, off + i + l));
        }
        for (int upper = S.loopBound(n); i < upper; i += l) s0 = s0.add(FloatVector.fromArray(S, a, off + i));
        float s = VectorMath.sumLanes(s0.add(s1));
        for (; i < n; i++) s += a[off + i];
        return s;
    }

    /** Dot product of two contiguous runs (fixed order). */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        var s0 = FloatVector.zero(S);
        var s1 = FloatVector.zero(S);
        int i = 0, l = S.length();
        for (int upper = n - 2 * l + 1; i < upper; i += 2 * l) {
            s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
            s1 = FloatVector.fromArray(S, a, ao + i + l).fma(FloatVector.fromArray(S, b, bo + i + l), s1);
        }
        for (int upper = S.loopBound(n); i < upper; i += l) {
            s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
        }
        float s = VectorMath.sumLanes(s0.add(s1));
        for (; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    /** Maximum of a contiguous run. */
    public static float rowMax(float[] a, int off, int n) {
        var m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) m = m.max(FloatVector.fromArray(S, a, off + i));
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) r = Math.max(r, a[off + i]);
        return r;
    }
}
