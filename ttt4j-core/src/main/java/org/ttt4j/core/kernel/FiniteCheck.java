package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Where a float array first holds a value that must not be loaded: NaN, an infinity, or a
 * magnitude above a limit. The vector path tests a whole register per step and only rescans the
 * register that failed; {@link #firstBadScalar} is its plain twin.
 */
public final class FiniteCheck {
    private FiniteCheck() {}

    /**
     * Index (from 0, relative to {@code off}) of the first of {@code a[off..off+n)} that is NaN or
     * has |x| > {@code limit} (infinities included for any finite limit), or -1 when none is.
     */
    public static int firstBad(float[] a, int off, int n, float limit) {
        if (!Simd.enabled()) return firstBadScalar(a, off, n, limit);
        var species = Simd.F;
        int lanes = species.length(), i = 0;
        FloatVector bound = FloatVector.broadcast(species, limit);
        for (int end = n - n % lanes; i < end; i += lanes) {
            FloatVector v = FloatVector.fromArray(species, a, off + i);
            // NaN compares unequal to itself; |inf| > any finite limit.
            VectorMask<Float> bad = v.compare(VectorOperators.NE, v).or(v.abs().compare(VectorOperators.GT, bound));
            if (bad.anyTrue()) return i + bad.firstTrue();
        }
        int tail = firstBadScalar(a, off + i, n - i, limit);
        return tail < 0 ? -1 : i + tail;
    }

    /** The scalar twin of {@link #firstBad}. */
    public static int firstBadScalar(float[] a, int off, int n, float limit) {
        for (int i = 0; i < n; i++) {
            float x = a[off + i];
            if (Float.isNaN(x) || Math.abs(x) > limit) return i;
        }
        return -1;
    }
}
