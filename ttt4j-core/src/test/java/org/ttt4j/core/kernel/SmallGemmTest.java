package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SmallGemmTest {
    private static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rng.nextDouble() * 2 - 1);
        return x;
    }

    /** The vector path against the scalar reference on seeded random shapes with odd sizes, tails and offsets. */
    @Test
    void vectorPathEqualsScalarReferenceBitForBit() {
        SplittableRandom rng = new SplittableRandom(3);
        int[][] shapes = {{16, 64, 64}, {64, 16, 64}, {16, 16, 16}, {16, 64, 16}, {19, 9, 16}, {13, 5, 80}, {6, 3, 64}, {5, 7, 70}, {4, 1, 16}, {9, 13, 33}, {1, 3, 17}, {3, 5, 2}, {17, 64, 80}, {33, 7, 16}, {25, 64, 20}};
        for (int[] s : shapes) {
            int m = s[0], k = s[1], n = s[2];
            for (boolean transA : new boolean[] {false, true}) {
                for (boolean acc : new boolean[] {false, true}) {
                    int lda = (transA ? m : k) + 3, ldb = n + 1, ldc = n + 2, off = 5;
                    float[] a = random(rng, off + (transA ? k : m) * lda), b = random(rng, off + k * ldb), c0 = random(rng, off + m * ldc);
                    float[] ref = c0.clone(), fast = c0.clone();
                    SmallGemm.scalar(transA, a, off, lda, b, off, ldb, ref, off, ldc, m, k, n, -0.75f, acc);
                    SmallGemm.vector(transA, a, off, lda, b, off, ldb, fast, off, ldc, m, k, n, -0.75f, acc);
                    assertArrayEquals(ref, fast, java.util.Arrays.toString(s) + " transA=" + transA + " acc=" + acc);
                    // And the reference is a matrix product: check one element by a double-precision sum.
                    int i = m - 1, j = n - 1;
                    double e = acc ? c0[off + i * ldc + j] : 0;
                    for (int p = 0; p < k; p++) e += -0.75 * (transA ? a[off + p * lda + i] : a[off + i * lda + p]) * b[off + p * ldb + j];
                    assertEquals(e, ref[off + i * ldc + j], 1e-4);
                    assertEquals(c0[0], fast[0], "elements outside C untouched");
                }
            }
        }
    }
}
