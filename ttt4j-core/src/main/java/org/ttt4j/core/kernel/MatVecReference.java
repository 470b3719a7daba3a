package org.ttt4j.core.kernel;

/**
 * The scalar twins of {@link MatVec}: plain loops over {@link PackedMatrix#dequantizeRows} values,
 * accumulated in fp32 in index order. The oracle the vectorised kernels are tested against.
 */
public final class MatVecReference {
    private MatVecReference() {}

    /** y[yOff + r] = W[r] . x[xOff ..] for r in [rowFrom, rowTo), one row at a time in column order. */
    public static void matvec(PackedMatrix w, float[] x, int xOff, float[] y, int yOff, int rowFrom, int rowTo) {
        int cols = w.cols();
        float[] row = new float[cols];
        for (int r = rowFrom; r < rowTo; r++) {
            w.dequantizeRows(r, r + 1, row, 0);
            float s = 0;
            for (int c = 0; c < cols; c++) s += row[c] * x[xOff + c];
            y[yOff + r] = s;
        }
    }

    /** {@link #matvec} of each of the n vectors at {@code xOff + b * ldx} into {@code yOff + b * ldy}. */
    public static void matmul(PackedMatrix w, float[] x, int xOff, int ldx, int n, float[] y, int yOff, int ldy, int rowFrom, int rowTo) {
        for (int b = 0; b < n; b++) matvec(w, x, xOff + b * ldx, y, yOff + b * ldy, rowFrom, rowTo);
    }
}
