package org.ttt4j.core.kernel;

/**
 * A weight matrix W [rows, cols] stored row-major in one {@link WeightFormat}, for the products
 * inference runs: y = W x for one vector (decoding) or several (batched decoding, prefill). Every
 * output row is one dot product computed in a fixed order by one thread, so results do not depend
 * on how rows are split over threads. The vectorised kernels are in {@link MatVec}, their scalar
 * twins in {@link MatVecReference}.
 */
public sealed interface PackedMatrix permits PackedMatrix.F32, PackedMatrix.Bf16, PackedMatrix.Q8 {
    /** Weights per Q8 block (along a row), each block with one fp32 scale. */
    int Q8_BLOCK = 32;

    int rows();

    int cols();

    WeightFormat format();

    /** Bytes the weights take (scales included). */
    long bytes();

    /**
     * y[yOff + r] = W[r] . x[xOff .. xOff + cols) for r in [rowFrom, rowTo).
     */
    default void matvec(float[] x, int xOff, float[] y, int yOff, int rowFrom, int rowTo) {
        MatVec.matvec(this, x, xOff, y, yOff, rowFrom, rowTo);
    }

    /**
     * For n input vectors x_b at {@code xOff + b * ldx}: y[yOff + b * ldy + r] = W[r] . x_b for r in
     * [rowFrom, rowTo). Each output is bit-identical to {@link #matvec} of the same vector.
     */
    default void matmul(float[] x, int xOff, int ldx, int n, float[] y, int yOff, int ldy, int rowFrom, int rowTo) {
        MatVec.matmul(this, x, xOff, ldx, n, y, yOff, ldy, rowFrom, rowTo);
    }

    /**
     * The prefill product: the outputs of {@link #matmul} up to fp32 rounding, NOT bit-identical
     * to {@link #matvec} (a tiled fp32 GEMM over dequantised panels of rows, see
     * {@link MatVec#gemm}). Deterministic; uses the engine's threads when called from outside
     * its pool.
     */
    default void gemm(float[] x, int xOff, int ldx, int n, float[] y, int yOff, int ldy, int rowFrom, int rowTo) {
        MatVec.gemm(this, x, xOff, ldx, n, y, yOff, ldy, rowFrom, rowTo);
    }

    /** Rows [from, to) as fp32 into dst (row stride cols), as the products see them. */
    void dequantizeRows(int from, int to, float[] dst, int dstOff);

    /** W [rows, cols] at {@code off} in {@code w}, stored in {@code format}. */
    static PackedMatrix pack(float[] w, int off, int rows, int cols, WeightFormat format) {
        if (rows < 0 || cols < 1 || off < 0 || (long) off + (long) rows * cols > w.length) {
            throw new IllegalArgumentException("cannot pack a " + rows + " x " + cols + " matrix at offset " + off + " of " + w.length + " floats");
        }
        return switch (format) {
            case F32 -> new F32(java.util.Arrays.copyOfRange(w, off, off + rows * cols), rows, cols);
            case BF16 -> {
                short[] b = new short[rows * cols];
                for (int i = 0; i < b.length; i++) b[i] = toBf16(w[off + i]);
                yield new Bf16(b, rows, cols);
            }
            case Q8 -> {
                int blocks = (cols + Q8_BLOCK - 1) / Q8_BLOCK;
                byte[] q = new byte[rows * cols];
                float[] scales = new float[rows * blocks];
                for (int r = 0; r < rows; r++) {
                    for (int blk = 0; blk < blocks; blk++) {
                        int from = blk * Q8_BLOCK, to = Math.min(cols, from + Q8_BLOCK);
                        float max = 0;
                        for (int c = from; c < to; c++) max = Math.max(max, Math.abs(w[off + r * cols + c]));
                        float scale = max / 127f;
                        scales[r * blocks + blk] = scale;
                        float inv = scale == 0 ? 0 : 1f / scale;
                        for (int c = from; c < to; c++) q[r * cols + c] = (byte) Math.round(w[off + r * cols + c] * inv);
                    }
                }
                yield new Q8(q, scales, rows, cols);
            }
        };
    }

    /**
     * The fp32 matrix [rows, cols] at {@code off} in {@code a}: a view without copying when it is the
     * whole array (so later writes to the array show, as training's do), else a copy.
     */
    static PackedMatrix f32View(float[] a, int off, int rows, int cols) {
        if (off == 0 && a.length == rows * cols) return new F32(a, rows, cols);
        return pack(a, off, rows, cols, WeightFormat.F32);
    }

    /** An fp32 rounded to bfloat16, nearest even (NaN stays NaN). */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** A bfloat16 widened to fp32 (exact). */
    static float fromBf16(short b) {
        return Float.intBitsToFloat(b << 16);
    }

    /** fp32 weights (the array is owned, not copied). */
    record F32(float[] w, int rows, int cols) implements PackedMatrix {
        public F32 {
            if ((long) rows * cols != w.length) throw new IllegalArgumentException(rows + " x " + cols + " does not match " + w.length + " floats");
        }

        @Override public WeightFormat format() { return WeightFormat.F32; }
        @Override public long bytes() { return 4L * w.length; }

        @Override
        public void dequantizeRows(int from, int to, float[] dst, int dstOff) {
            System.arraycopy(w, from * cols, dst, dstOff, (to - from) * cols);
        }
    }

    /** bfloat16 weights, row-major. */
    record Bf16(short[] w, int rows, int cols) implements PackedMatrix {
        public Bf16 {
            if ((long) rows * cols != w.length) throw new IllegalArgumentException(rows + " x " + cols + " does not match " + w.length + " values");
        }

        @Override public WeightFormat format() { return WeightFormat.BF16; }
        @Override public long bytes() { return 2L * w.length; }

        @Override
        public void dequantizeRows(int from, int to, float[] dst, int dstOff) {
            for (int i = from * cols, o = dstOff; i < to * cols; i++, o++) dst[o] = fromBf16(w[i]);
        }
    }

    /**
     * int8 weights q [rows, cols] and scales [rows, ceil(cols / 32)]: w[r][c] = q[r][c] * scale[r][c / 32]
     * (the last block of a row may be shorter).
     */
    record Q8(byte[] q, float[] scales, int rows, int cols) implements PackedMatrix {
        public Q8 {
            if ((long) rows * cols != q.length || (long) rows * blocksPerRow(cols) != scales.length) {
                throw new IllegalArgumentException(rows + " x " + cols + " does not match " + q.length + " values and " + scales.length + " scales");
            }
        }

        /** Blocks per row of {@code cols} weights. */
        public static int blocksPerRow(int cols) {
            return (cols + Q8_BLOCK - 1) / Q8_BLOCK;
        }

        @Override public WeightFormat format() { return WeightFormat.Q8; }
        @Override public long bytes() { return q.length + 4L * scales.length; }

        @Override
        public void dequantizeRows(int from, int to, float[] dst, int dstOff) {
            int blocks = blocksPerRow(cols);
            for (int r = from, o = dstOff; r < to; r++) {
                for (int c = 0; c < cols; c++, o++) dst[o] = q[r * cols + c] * scales[r * blocks + c / Q8_BLOCK];
            }
        }
    }
}
