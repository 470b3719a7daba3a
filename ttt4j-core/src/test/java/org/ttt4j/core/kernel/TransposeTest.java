package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TransposeTest {
    /** Tiles and edges against the scalar reference and against the definition, on seeded shapes with odd sizes and offsets. */
    @Test
    void equalsTheReferenceOnOddShapesAndOffsets() {
        var rng = new SplittableRandom(7);
        int[][] shapes = {{16, 64}, {64, 16}, {64, 64}, {16, 16}, {32, 48}, {17, 33}, {15, 16}, {16, 15}, {5, 3}, {1, 1}, {0, 4}, {40, 21}};
        for (boolean simd : new boolean[] {true, false}) {
            boolean was = Simd.setEnabled(simd);
            try {
                for (int[] s : shapes) {
                    int rows = s[0], cols = s[1], lda = cols + rng.nextInt(3), ldo = rows + rng.nextInt(3), aOff = rng.nextInt(5), oOff = rng.nextInt(5);
                    float[] a = new float[aOff + rows * lda + 1];
                    for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
                    float[] ref = new float[oOff + cols * ldo + 1], fast = new float[ref.length];
                    Arrays.fill(ref, -7f);
                    Arrays.fill(fast, -7f);
                    Transpose.scalar(a, aOff, lda, ref, oOff, ldo, rows, cols);
                    Transpose.transpose(a, aOff, lda, fast, oOff, ldo, rows, cols);
                    String what = rows + " x " + cols + " simd=" + simd;
                    assertArrayEquals(ref, fast, what);
                    for (int i = 0; i < rows; i++) {
                        for (int j = 0; j < cols; j++) assertEquals(a[aOff + i * lda + j], fast[oOff + j * ldo + i], what);
                    }
                    if (oOff > 0) assertEquals(-7f, fast[0], "elements before the output untouched: " + what);
                }
            } finally {
                Simd.setEnabled(was);
            }
        }
    }

    @Test
    void leadingDimensionsShorterThanTheMatrixAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> Transpose.transpose(new float[64], 0, 3, new float[64], 0, 4, 4, 4));
        assertTrue(e.getMessage().contains("lda 3"), e.getMessage());
    }
}
