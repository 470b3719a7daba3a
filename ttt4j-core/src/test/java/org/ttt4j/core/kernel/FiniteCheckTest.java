package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vector scan finds the same first bad value as the scalar twin and as the definition, at every place and length. */
class FiniteCheckTest {
    @Test
    void vectorAndScalarFindTheFirstBadValue() {
        var rng = new SplittableRandom(1);
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 2e6f, -3e6f};
        for (int n : new int[] {0, 1, 7, 16, 17, 33, 100}) {
            for (int off : new int[] {0, 3}) {
                for (int at = -1; at < n; at++) {
                    for (float special : specials) {
                        float[] a = new float[off + n];
                        for (int i = 0; i < a.length; i++) a[i] = (float) (rng.nextGaussian() * 100);
                        if (at >= 0) {
                            a[off + at] = special;
                            if (at + 2 < n) a[off + at + 2] = Float.NaN; // a later bad value must not be the one reported
                        }
                        int want = at; // by construction: the first bad index, or -1
                        boolean was = Simd.setEnabled(true);
                        try {
                            assertEquals(want, FiniteCheck.firstBad(a, off, n, 1e6f), "vector, n " + n + ", off " + off + ", at " + at + ", " + special);
                            Simd.setEnabled(false);
                            assertEquals(want, FiniteCheck.firstBad(a, off, n, 1e6f), "scalar, n " + n + ", at " + at);
                        } finally {
                            Simd.setEnabled(was);
                        }
                        assertEquals(want, FiniteCheck.firstBadScalar(a, off, n, 1e6f));
                    }
                }
            }
        }
        // Only non-finite values with the largest limit.
        float[] big = {1, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY};
        assertEquals(3, FiniteCheck.firstBad(big, 0, 4, Float.MAX_VALUE));
    }
}
