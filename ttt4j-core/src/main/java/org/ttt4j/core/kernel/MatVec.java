package org.ttt4j.core.kernel;

/**
 * Matrix-vector and small matrix products over {@link PackedMatrix} weights, dequantising inside
 * the product. Scalar twin: {@link MatVecReference}.
 */
public final class MatVec {
    private MatVec() {}

    public static void matvec(PackedMatrix w, float[] x, int xOff, float[] y, int yOff, int rowFrom, int rowTo) {
        MatVecReference.matvec(w, x, xOff, y, yOff, rowFrom, rowTo);
    }

    public static void matmul(PackedMatrix w, float[] x, int xOff, int ldx, int n, float[] y, int yOff, int ldy, int rowFrom, int rowTo) {
        MatVecReference.matmul(w, x, xOff, ldx, n, y, yOff, ldy, rowFrom, rowTo);
    }
}
