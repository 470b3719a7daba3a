package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector math that gives the same bits in every JIT tier. {@code VectorOperators.EXP/TANH/LOG}
 * call SVML stubs once C2 has compiled a method but fall back to {@code Math.*} per lane before,
 * and {@code reduceLanes(ADD)} sums in a different order in its two implementations: a training
 * run would then depend on when the JIT kicked in. These functions use only add, mul, fma, div,
 * compares and bit operations, which are exactly specified, and sum lanes in a fixed order.
 */
public final class VectorMath {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();

    private VectorMath() {}

    // exp: Cephes expf with round-to-nearest via the 1.5 * 2^23 trick (~1 ulp). exp(x) = 0 for
    // x < -87.33 (no denormals), +inf above ~88.7, NaN stays NaN.
    private static final float EXP_LO = -87.33f, EXP_HI = 88.37f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float MAGIC = 12582912f; // 1.5 * 2^23
    private static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500E-4f, P1 = 1.3981999507E-3f, P2 = 8.3334519073E-3f,
            P3 = 4.1665795894E-2f, P4 = 1.6666665459E-1f, P5 = 5.0000001201E-1f;

    public static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.lt(EXP_LO);
        VectorMask<Float> over = x.compare(VectorOperators.GT, EXP_HI);
        FloatVector c = x.max(EXP_LO).min(EXP_HI);
        FloatVector tt = c.fma(LOG2E, MAGIC);
        FloatVector n = tt.sub(MAGIC);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), c);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector y = r.fma(P0, P1);
        y = y.fma(r, FloatVector.broadcast(F, P2));
        y = y.fma(r, FloatVector.broadcast(F, P3));
        y = y.fma(r, FloatVector.broadcast(F, P4));
        y = y.fma(r, FloatVector.broadcast(F, P5));
        y = y.fma(r.mul(r), r).add(1f);
        IntVector e = tt.reinterpretAsInts().sub(MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        FloatVector result = y.mul(e.reinterpretAsFloats()).blend(0f, under).blend(Float.POSITIVE_INFINITY, over);
        return result.blend(x, x.test(VectorOperators.IS_NAN));
    }

    /**
     * tanh: an odd Taylor polynomial below |x| = 0.1 (where 1 - exp would cancel), otherwise
     * (1 - e) / (1 + e) with e = exp(-2|x|); a few ulp.
     */
    public static FloatVector tanh(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector e = exp(ax.mul(-2f));
        FloatVector big = e.neg().add(1f).div(e.add(1f));
        FloatVector x2 = x.mul(x);
        // x - x^3/3 + 2x^5/15 - 17x^7/315
        FloatVector small = x2.fma(-17f / 315f, 2f / 15f).fma(x2, FloatVector.broadcast(F, -1f / 3f)).mul(x2).mul(ax).add(ax);
        FloatVector mag = big.blend(small, ax.lt(0.1f));
        return mag.blend(mag.neg(), x.lt(0f)).blend(x, x.test(VectorOperators.IS_NAN));
    }

    /** 1 / (1 + exp(-x)). */
    public static FloatVector sigmoid(FloatVector x) {
        return x.broadcast(1f).div(exp(x.neg()).add(1f));
    }

    /** Sum of the lanes, left to right. */
    public static float sumLanes(FloatVector v) {
        float[] tmp = new float[L];
        v.intoArray(tmp, 0);
        float s = 0;
        for (float t : tmp) s += t;
        return s;
    }
}
