package org.ttt4j.core.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix-vector and small matrix products over {@link PackedMatrix} weights, dequantising inside
 * the product. Scalar twin: {@link MatVecReference}.
 *
 * <p>The order of arithmetic of one output, W[r] . x, is fixed: one vector accumulator of
 * {@code L} lanes (16 with AVX-512) takes the FMA of the row's whole {@code L}-chunks in column
 * order (Q8: per block of {@value PackedMatrix#Q8_BLOCK}, the chunks' products are summed in a
 * block vector that is then added to the accumulator times the block's scale); the lanes are
 * summed by a fixed halving tree; the columns past the last whole chunk (Q8: the short last block)
 * follow one by one with scalar FMA. Every kernel below, whatever number of rows and vectors it
 * carries in registers, computes each output in exactly this order, and uses only exactly rounded
 * operations (no {@code reduceLanes}, whose order differs between the interpreter and C2), so the
 * bits of an output do not depend on the row range, the thread, the JIT tier, or how many vectors
 * go through {@link #matmul} together.
 *
 * <p>Register blocking: {@link #matvec} carries 4 rows at a time, one from each quarter of its row
 * range (4 weight streams that run on through memory, see {@code rows}), each x chunk loaded once
 * for all of them. {@link #matmul} carries 2 rows times 4 vectors (8 accumulators;
 * each weight chunk loaded and widened once for the 4 vectors) over blocks of about 128 KB of
 * weights: the first group of vectors reads a block from memory, the next groups from L2, so each
 * weight is read from memory once per call. Accumulators leave the registers through a small
 * per-thread array and are summed in scalar code, which keeps every kernel within C2's inlining
 * budget (a vector passed to a method that is not inlined is boxed).
 *
 * <p>The vector paths need {@code L} of 8 or 16 (AVX2, AVX-512); other lane counts, and
 * {@code -Dttt4j.simd=false}, run the reference.
 */
public final class MatVec {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();
    private static final boolean VECTOR = (L == 8 || L == 16) && PackedMatrix.Q8_BLOCK % L == 0;
    /** bf16 chunks: L shorts, widened to L ints of the float shape. */
    private static final VectorSpecies<Short> S = VECTOR ? VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16)) : null;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    /** Q8 chunks: L bytes, widened to L floats. */
    private static final VectorSpecies<Byte> B = VECTOR ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    private static final int QB = PackedMatrix.Q8_BLOCK;
    /**
     * Weight bytes per block of rows in {@link #matmul}: the first group of vectors reads the block
     * from memory, the others from L2, each group's vectors staying in L1 meanwhile.
     */
    private static final int ROW_BLOCK_BYTES = 128 << 10;
    /** Vectors carried together by {@link #matmul}. */
    private static final int NV = 4;
    /**
     * From this many vectors on {@link #gemm} goes through {@link Gemm}; below, the register-blocked
     * {@link #matmul} was as fast (2048 x 768 weights, 2 threads: equal near 128 vectors, Gemm
     * 1.4 times faster at 256).
     */
    static final int GEMM_MIN_N = 128;
    /** Floats of one dequantised panel of rows in {@link #gemm} (4 MB). */
    private static final int PANEL_FLOATS = 1 << 20;
    /** Per-thread room for the accumulators of one kernel (8 vectors), summed lane by lane. */
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[8 * L]);
    /** Per-thread panel for {@link #gemm}, grown on demand. */
    private static final ThreadLocal<float[][]> PANEL = ThreadLocal.withInitial(() -> new float[][] {new float[0]});

    private MatVec() {}

    /**
     * y[yOff + r] = W[r] . x[xOff .. xOff + cols) for r in [rowFrom, rowTo). Allocates nothing;
     * each output's bits are those of {@link #matmul} for the same vector, whatever the row range.
     *
     * @throws IllegalArgumentException for a row range outside W or an operand past its array
     */
    public static void matvec(PackedMatrix w, float[] x, int xOff, float[] y, int yOff, int rowFrom, int rowTo) {
        check(w, x, xOff, w.cols(), 1, y, yOff, 0, rowFrom, rowTo);
        if (!VECTOR || !Simd.enabled()) {
            MatVecReference.matvec(w, x, xOff, y, yOff, rowFrom, rowTo);
            return;
        }
        rows(w, x, xOff, y, yOff, rowFrom, rowTo, LANES.get());
    }

    /**
     * For n input vectors x_b at {@code xOff + b * ldx}: y[yOff + b * ldy + r] = W[r] . x_b for r
     * in [rowFrom, rowTo), each output bit-identical to {@link #matvec} of the same vector. Each
     * weight is read from memory once per call (batched decoding: one pass over W for n sessions).
     *
     * @throws IllegalArgumentException for a row range outside W, a negative n or stride, or an
     *         operand past its array
     */
    public static void matmul(PackedMatrix w, float[] x, int xOff, int ldx, int n, float[] y, int yOff, int ldy, int rowFrom, int rowTo) {
        check(w, x, xOff, ldx, n, y, yOff, ldy, rowFrom, rowTo);
        if (!VECTOR || !Simd.enabled()) {
            MatVecReference.matmul(w, x, xOff, ldx, n, y, yOff, ldy, rowFrom, rowTo);
            return;
        }
        blocked(w, x, xOff, ldx, n, y, yOff, ldy, rowFrom, rowTo, LANES.get());
    }

    /**
     * The prefill product: the outputs of {@link #matmul} up to fp32 rounding, NOT bit-identical
     * to {@link #matvec}. From {@code GEMM_MIN_N} vectors on, rows of W are dequantised into a
     * per-thread fp32 panel of about 4 MB (fp32 weights are used in place) and multiplied by
     * {@link Gemm#sgemm} with the vectors as its A operand; with fewer vectors it is
     * {@link #matmul} over row ranges. Uses the engine's threads ({@link Parallel}: the panel's
     * dequantisation and Gemm, or the matmul row ranges, are split over the pool) when called from
     * outside the pool, and runs on the calling thread on a pool worker, so a caller does one call
     * for the whole row range. Deterministic: with Gemm each output sums its products in an order
     * fixed by the number of columns (Gemm's k-blocks), whatever the panel, the row range or the
     * thread count; below {@code GEMM_MIN_N} the bits are those of {@link #matmul}.
     *
     * @throws IllegalArgumentException as {@link #matmul}, and for {@code ldx < cols} or
     *         {@code ldy < rowTo - rowFrom} from {@code GEMM_MIN_N} vectors on
     */
    public static void gemm(PackedMatrix w, float[] x, int xOff, int ldx, int n, float[] y, int yOff, int ldy, int rowFrom, int rowTo) {
        check(w, x, xOff, ldx, n, y, yOff, ldy, rowFrom, rowTo);
        if (!VECTOR || !Simd.enabled()) {
            MatVecReference.matmul(w, x, xOff, ldx, n, y, yOff, ldy, rowFrom, rowTo);
            return;
        }
        int cols = w.cols(), rows = rowTo - rowFrom;
        if (n < GEMM_MIN_N) {
            // Chunks of at least ~256 KB of weights (rounded to whole row pairs).
            int grain = Math.max(2, (int) ((256 << 10) / (cols * w.format().bytesPerWeight())) & ~1);
            Parallel.forRange(rows, grain, (from, to) ->
                    blocked(w, x, xOff, ldx, n, y, yOff, ldy, rowFrom + from, rowFrom + to, LANES.get()));
            return;
        }
        if (w instanceof PackedMatrix.F32 f) {
            Gemm.sgemm(false, true, n, rows, cols, x, xOff, ldx, f.w(), rowFrom * cols, cols, y, yOff + rowFrom, ldy, false);
            return;
        }
        int panelRows = Math.max(1, PANEL_FLOATS / cols);
        float[][] holder = PANEL.get();
        if (holder[0].length < Math.min(panelRows, rows) * cols) holder[0] = new float[Math.min(panelRows, rows) * cols];
        float[] panel = holder[0];
        int grain = Math.max(1, (64 << 10) / cols);
        for (int r0 = rowFrom; r0 < rowTo; r0 += panelRows) {
            int p0 = r0, r1 = Math.min(rowTo, r0 + panelRows);
            Parallel.forRange(r1 - r0, grain, (from, to) -> dequantize(w, p0 + from, p0 + to, panel, from * cols));
            Gemm.sgemm(false, true, n, r1 - r0, cols, x, xOff, ldx, panel, 0, cols, y, yOff + r0, ldy, false);
        }
    }

    /**
     * Rows [from, to) of W as fp32 into dst at dstOff (row stride cols), the same values as
     * {@link PackedMatrix#dequantizeRows}, vectorised.
     */
    static void dequantize(PackedMatrix w, int from, int to, float[] dst, int dstOff) {
        int cols = w.cols();
        switch (w) {
            case PackedMatrix.F32 f -> System.arraycopy(f.w(), from * cols, dst, dstOff, (to - from) * cols);
            case PackedMatrix.Bf16 b -> {
                short[] s = b.w();
                int base = from * cols, n = (to - from) * cols, i = 0;
                for (int upper = n - L + 1; i < upper; i += L) bf16(s, base + i).intoArray(dst, dstOff + i);
                for (; i < n; i++) dst[dstOff + i] = PackedMatrix.fromBf16(s[base + i]);
            }
            case PackedMatrix.Q8 q -> {
                byte[] v = q.q();
                float[] scales = q.scales();
                int blocks = PackedMatrix.Q8.blocksPerRow(cols), full = cols / QB;
                for (int r = from, o = dstOff; r < to; r++, o += cols) {
                    int row = r * cols, sRow = r * blocks;
                    for (int blk = 0; blk < full; blk++) {
                        var scale = FloatVector.broadcast(F, scales[sRow + blk]);
                        for (int j = 0; j < QB; j += L) q8(v, row + blk * QB + j).mul(scale).intoArray(dst, o + blk * QB + j);
                    }
                    if (full < blocks) {
                        float scale = scales[sRow + full];
                        for (int c = full * QB; c < cols; c++) dst[o + c] = v[row + c] * scale;
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Checks and dispatch

    private static void check(PackedMatrix w, float[] x, int xOff, int ldx, int n, float[] y, int yOff, int ldy, int rowFrom, int rowTo) {
        if (rowFrom < 0 || rowTo > w.rows() || rowFrom > rowTo) {
            throw new IllegalArgumentException("rows [" + rowFrom + ", " + rowTo + ") outside a matrix of " + w.rows() + " rows");
        }
        if (n < 0 || ldx < 0 || ldy < 0) {
            throw new IllegalArgumentException("n, ldx and ldy must be >= 0, got " + n + ", " + ldx + ", " + ldy);
        }
        if (n == 0 || rowFrom == rowTo) return;
        if (xOff < 0 || (long) xOff + (long) (n - 1) * ldx + w.cols() > x.length) {
            throw new IllegalArgumentException(n + " vector(s) of " + w.cols() + " at offset " + xOff + " stride " + ldx
                    + " run past " + x.length + " floats");
        }
        if ((long) yOff + rowFrom < 0 || (long) yOff + (long) (n - 1) * ldy + rowTo > y.length) {
            throw new IllegalArgumentException(n + " output(s) of rows [" + rowFrom + ", " + rowTo + ") at offset " + yOff
                    + " stride " + ldy + " run past " + y.length + " floats");
        }
    }

    /**
     * One vector: the range split into 4 quarters of q rows, the rows carried 4 at a time, one from
     * each quarter (rows r, r + q, r + 2q, r + 3q), then the last (to - from) mod 4 rows one by one.
     * The 4 rows are 4 weight streams that each run on through memory from one call of a kernel
     * to the next; 4 adjacent rows instead would start 3 new streams every 4 rows, which the
     * hardware prefetcher picks up late (measurements in docs/performance.md).
     * Each output keeps the order of its own row, so the bits do not change.
     */
    private static void rows(PackedMatrix w, float[] x, int xo, float[] y, int yo, int from, int to, float[] t) {
        int cols = w.cols(), q = (to - from) / 4, r = from + 4 * q;
        switch (w) {
            case PackedMatrix.F32 m -> {
                float[] a = m.w();
                for (int i = from; i < from + q; i++) f32Rows4(a, i * cols, q * cols, cols, x, xo, y, yo + i, q, t);
                for (; r < to; r++) f32Row(a, r * cols, cols, x, xo, y, yo + r, t);
            }
            case PackedMatrix.Bf16 m -> {
                short[] a = m.w();
                for (int i = from; i < from + q; i++) bf16Rows4(a, i * cols, q * cols, cols, x, xo, y, yo + i, q, t);
                for (; r < to; r++) bf16Row(a, r * cols, cols, x, xo, y, yo + r, t);
            }
            case PackedMatrix.Q8 m -> {
                byte[] a = m.q();
                float[] s = m.scales();
                int blocks = PackedMatrix.Q8.blocksPerRow(cols);
                for (int i = from; i < from + q; i++) q8Rows4(a, s, i * cols, i * blocks, q * cols, q * blocks, cols, x, xo, y, yo + i, q, t);
                for (; r < to; r++) q8Row(a, s, r * cols, r * blocks, cols, x, xo, y, yo + r, t);
            }
        }
    }

    /**
     * n vectors: per block of rows (about {@code ROW_BLOCK_BYTES} of weights; 4 rows when there is
     * one group), the vectors in groups of {@code NV}, two rows at a time; then the last n mod NV
     * vectors through the one-vector kernels.
     */
    private static void blocked(PackedMatrix w, float[] x, int xOff, int ldx, int n, float[] y, int yOff, int ldy, int rowFrom, int rowTo,
                                float[] t) {
        int cols = w.cols(), groups = n / NV * NV;
        int block = n < 2 * NV ? 4 : Math.max(4, (int) (ROW_BLOCK_BYTES / (cols * w.format().bytesPerWeight())) & ~3);
        for (int r0 = rowFrom; r0 < rowTo; r0 += block) {
            int r1 = Math.min(rowTo, r0 + block);
            for (int b = 0; b < groups; b += NV) {
                int xo = xOff + b * ldx, yo = yOff + b * ldy, r = r0;
                switch (w) {
                    case PackedMatrix.F32 m -> {
                        for (; r + 2 <= r1; r += 2) f32Rows2x4(m.w(), r * cols, cols, x, xo, ldx, y, yo + r, ldy, t);
                        if (r < r1) f32Row4x(m.w(), r * cols, cols, x, xo, ldx, y, yo + r, ldy, t);
                    }
                    case PackedMatrix.Bf16 m -> {
                        for (; r + 2 <= r1; r += 2) bf16Rows2x4(m.w(), r * cols, cols, x, xo, ldx, y, yo + r, ldy, t);
                        if (r < r1) bf16Row4x(m.w(), r * cols, cols, x, xo, ldx, y, yo + r, ldy, t);
                    }
                    case PackedMatrix.Q8 m -> {
                        int blocks = PackedMatrix.Q8.blocksPerRow(cols);
                        for (; r + 2 <= r1; r += 2) {
                            q8Rows2x4(m.q(), m.scales(), r * cols, r * blocks, cols, blocks, x, xo, ldx, y, yo + r, ldy, t);
                        }
                        if (r < r1) q8Row4x(m.q(), m.scales(), r * cols, r * blocks, cols, x, xo, ldx, y, yo + r, ldy, t);
                    }
                }
            }
            for (int b = groups; b < n; b++) rows(w, x, xOff + b * ldx, y, yOff + b * ldy, r0, r1, t);
        }
    }

    // ---------------------------------------------------------------------------------------
    // The canonical order's pieces. A kernel stores its accumulators in t (k-th at k * L); the
    // lane sums, tails and stores are scalar code, which keeps the kernels small enough for C2
    // to inline every vector operation (past its node budget a call would box the vector).

    /**
     * Sum of the lanes of the accumulator at t[o .. o + L) by a fixed halving tree: lane i plus
     * lane i + L/2, then those halves the same way, down to one value.
     */
    private static float sumLanes(float[] t, int o) {
        float a0 = t[o], a1 = t[o + 1], a2 = t[o + 2], a3 = t[o + 3];
        if (L == 16) {
            a0 += t[o + 8];
            a1 += t[o + 9];
            a2 += t[o + 10];
            a3 += t[o + 11];
            float a4 = t[o + 4] + t[o + 12], a5 = t[o + 5] + t[o + 13], a6 = t[o + 6] + t[o + 14], a7 = t[o + 7] + t[o + 15];
            a0 += a4;
            a1 += a5;
            a2 += a6;
            a3 += a7;
        } else {
            a0 += t[o + 4];
            a1 += t[o + 5];
            a2 += t[o + 6];
            a3 += t[o + 7];
        }
        return (a0 + a2) + (a1 + a3);
    }

    private static FloatVector bf16(short[] w, int off) {
        return ((IntVector) ShortVector.fromArray(S, w, off).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector q8(byte[] q, int off) {
        return (FloatVector) ByteVector.fromArray(B, q, off).convertShape(VectorOperators.B2F, F, 0);
    }

    /** The lane sum of accumulator k plus the products of columns [c, cols) one by one. */
    private static float f32Finish(float[] t, int k, float[] w, int wo, int c, int cols, float[] x, int xo) {
        float s = sumLanes(t, k * L);
        for (; c < cols; c++) s = Math.fma(w[wo + c], x[xo + c], s);
        return s;
    }

    private static float bf16Finish(float[] t, int k, short[] w, int wo, int c, int cols, float[] x, int xo) {
        float s = sumLanes(t, k * L);
        for (; c < cols; c++) s = Math.fma(PackedMatrix.fromBf16(w[wo + c]), x[xo + c], s);
        return s;
    }

    /** The lane sum of accumulator k plus the short last block (columns [c, cols), scale sc[so]), if any. */
    private static float q8Finish(float[] t, int k, byte[] q, float[] sc, int wo, int so, int c, int cols, float[] x, int xo) {
        float s = sumLanes(t, k * L);
        if (c == cols) return s;
        float blk = 0;
        for (int i = c; i < cols; i++) blk = Math.fma(q[wo + i], x[xo + i], blk);
        return Math.fma(blk, sc[so], s);
    }

    // ---------------------------------------------------------------------------------------
    // F32

    private static void f32Row(float[] w, int wo, int cols, float[] x, int xo, float[] y, int yo, float[] t) {
        int vc = F.loopBound(cols);
        var acc = FloatVector.zero(F);
        for (int c = 0; c < vc; c += L) acc = FloatVector.fromArray(F, w, wo + c).fma(FloatVector.fromArray(F, x, xo + c), acc);
        acc.intoArray(t, 0);
        y[yo] = f32Finish(t, 0, w, wo, vc, cols, x, xo);
    }

    /** Rows wo + k ws (k = 0..3) into y[yo + k ys]. */
    private static void f32Rows4(float[] w, int wo, int ws, int cols, float[] x, int xo, float[] y, int yo, int ys, float[] t) {
        int vc = F.loopBound(cols), w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws;
        var a0 = FloatVector.zero(F);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        for (int c = 0; c < vc; c += L) {
            var xv = FloatVector.fromArray(F, x, xo + c);
            a0 = FloatVector.fromArray(F, w, wo + c).fma(xv, a0);
            a1 = FloatVector.fromArray(F, w, w1 + c).fma(xv, a1);
            a2 = FloatVector.fromArray(F, w, w2 + c).fma(xv, a2);
            a3 = FloatVector.fromArray(F, w, w3 + c).fma(xv, a3);
        }
        a0.intoArray(t, 0);
        a1.intoArray(t, L);
        a2.intoArray(t, 2 * L);
        a3.intoArray(t, 3 * L);
        y[yo] = f32Finish(t, 0, w, wo, vc, cols, x, xo);
        y[yo + ys] = f32Finish(t, 1, w, w1, vc, cols, x, xo);
        y[yo + 2 * ys] = f32Finish(t, 2, w, w2, vc, cols, x, xo);
        y[yo + 3 * ys] = f32Finish(t, 3, w, w3, vc, cols, x, xo);
    }

    /** One row times 4 vectors (x at xo + b ldx, y at yo + b ldy). */
    private static void f32Row4x(float[] w, int wo, int cols, float[] x, int xo, int ldx, float[] y, int yo, int ldy, float[] t) {
        int vc = F.loopBound(cols), x1 = xo + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
        var a0 = FloatVector.zero(F);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        for (int c = 0; c < vc; c += L) {
            var u = FloatVector.fromArray(F, w, wo + c);
            a0 = u.fma(FloatVector.fromArray(F, x, xo + c), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + c), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + c), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + c), a3);
        }
        a0.intoArray(t, 0);
        a1.intoArray(t, L);
        a2.intoArray(t, 2 * L);
        a3.intoArray(t, 3 * L);
        y[yo] = f32Finish(t, 0, w, wo, vc, cols, x, xo);
        y[yo + ldy] = f32Finish(t, 1, w, wo, vc, cols, x, x1);
        y[yo + 2 * ldy] = f32Finish(t, 2, w, wo, vc, cols, x, x2);
        y[yo + 3 * ldy] = f32Finish(t, 3, w, wo, vc, cols, x, x3);
    }

    /** Two rows times 4 vectors: 8 accumulators, each weight chunk loaded once for 4 vectors. */
    private static void f32Rows2x4(float[] w, int wo, int cols, float[] x, int xo, int ldx, float[] y, int yo, int ldy, float[] t) {
        int vc = F.loopBound(cols), w1 = wo + cols, x1 = xo + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
        var a0 = FloatVector.zero(F);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        var c0 = a0;
        var c1 = a0;
        var c2 = a0;
        var c3 = a0;
        for (int c = 0; c < vc; c += L) {
            var u = FloatVector.fromArray(F, w, wo + c);
            var v = FloatVector.fromArray(F, w, w1 + c);
            var xv = FloatVector.fromArray(F, x, xo + c);
            a0 = u.fma(xv, a0);
            c0 = v.fma(xv, c0);
            xv = FloatVector.fromArray(F, x, x1 + c);
            a1 = u.fma(xv, a1);
            c1 = v.fma(xv, c1);
            xv = FloatVector.fromArray(F, x, x2 + c);
            a2 = u.fma(xv, a2);
            c2 = v.fma(xv, c2);
            xv = FloatVector.fromArray(F, x, x3 + c);
            a3 = u.fma(xv, a3);
            c3 = v.fma(xv, c3);
        }
        store8(t, a0, a1, a2, a3, c0, c1, c2, c3);
        y[yo] = f32Finish(t, 0, w, wo, vc, cols, x, xo);
        y[yo + ldy] = f32Finish(t, 1, w, wo, vc, cols, x, x1);
        y[yo + 2 * ldy] = f32Finish(t, 2, w, wo, vc, cols, x, x2);
        y[yo + 3 * ldy] = f32Finish(t, 3, w, wo, vc, cols, x, x3);
        y[yo + 1] = f32Finish(t, 4, w, w1, vc, cols, x, xo);
        y[yo + 1 + ldy] = f32Finish(t, 5, w, w1, vc, cols, x, x1);
        y[yo + 1 + 2 * ldy] = f32Finish(t, 6, w, w1, vc, cols, x, x2);
        y[yo + 1 + 3 * ldy] = f32Finish(t, 7, w, w1, vc, cols, x, x3);
    }

    private static void store8(float[] t, FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3,
                               FloatVector c0, FloatVector c1, FloatVector c2, FloatVector c3) {
        a0.intoArray(t, 0);
        a1.intoArray(t, L);
        a2.intoArray(t, 2 * L);
        a3.intoArray(t, 3 * L);
        c0.intoArray(t, 4 * L);
        c1.intoArray(t, 5 * L);
        c2.intoArray(t, 6 * L);
        c3.intoArray(t, 7 * L);
    }

    // ---------------------------------------------------------------------------------------
    // BF16: a chunk of L shorts widened to ints and shifted into the high half is the fp32 value

    private static void bf16Row(short[] w, int wo, int cols, float[] x, int xo, float[] y, int yo, float[] t) {
        int vc = F.loopBound(cols);
        var acc = FloatVector.zero(F);
        for (int c = 0; c < vc; c += L) acc = bf16(w, wo + c).fma(FloatVector.fromArray(F, x, xo + c), acc);
        acc.intoArray(t, 0);
        y[yo] = bf16Finish(t, 0, w, wo, vc, cols, x, xo);
    }

    /** Rows wo + k ws (k = 0..3) into y[yo + k ys]. */
    private static void bf16Rows4(short[] w, int wo, int ws, int cols, float[] x, int xo, float[] y, int yo, int ys, float[] t) {
        int vc = F.loopBound(cols), w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws;
        var a0 = FloatVector.zero(F);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        for (int c = 0; c < vc; c += L) {
            var xv = FloatVector.fromArray(F, x, xo + c);
            a0 = bf16(w, wo + c).fma(xv, a0);
            a1 = bf16(w, w1 + c).fma(xv, a1);
            a2 = bf16(w, w2 + c).fma(xv, a2);
            a3 = bf16(w, w3 + c).fma(xv, a3);
        }
        a0.intoArray(t, 0);
        a1.intoArray(t, L);
        a2.intoArray(t, 2 * L);
        a3.intoArray(t, 3 * L);
        y[yo] = bf16Finish(t, 0, w, wo, vc, cols, x, xo);
        y[yo + ys] = bf16Finish(t, 1, w, w1, vc, cols, x, xo);
        y[yo + 2 * ys] = bf16Finish(t, 2, w, w2, vc, cols, x, xo);
        y[yo + 3 * ys] = bf16Finish(t, 3, w, w3, vc, cols, x, xo);
    }

    private static void bf16Row4x(short[] w, int wo, int cols, float[] x, int xo, int ldx, float[] y, int yo, int ldy, float[] t) {
        int vc = F.loopBound(cols), x1 = xo + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
        var a0 = FloatVector.zero(F);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        for (int c = 0; c < vc; c += L) {
            var u = bf16(w, wo + c);
            a0 = u.fma(FloatVector.fromArray(F, x, xo + c), a0);
            a1 = u.fma(FloatVector.fromArray(F, x, x1 + c), a1);
            a2 = u.fma(FloatVector.fromArray(F, x, x2 + c), a2);
            a3 = u.fma(FloatVector.fromArray(F, x, x3 + c), a3);
        }
        a0.intoArray(t, 0);
        a1.intoArray(t, L);
        a2.intoArray(t, 2 * L);
        a3.intoArray(t, 3 * L);
        y[yo] = bf16Finish(t, 0, w, wo, vc, cols, x, xo);
        y[yo + ldy] = bf16Finish(t, 1, w, wo, vc, cols, x, x1);
        y[yo + 2 * ldy] = bf16Finish(t, 2, w, wo, vc, cols, x, x2);
        y[yo + 3 * ldy] = bf16Finish(t, 3, w, wo, vc, cols, x, x3);
    }

    private static void bf16Rows2x4(short[] w, int wo, int cols, float[] x, int xo, int ldx, float[] y, int yo, int ldy, float[] t) {
        int vc = F.loopBound(cols), w1 = wo + cols, x1 = xo + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
        var a0 = FloatVector.zero(F);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        var c0 = a0;
        var c1 = a0;
        var c2 = a0;
        var c3 = a0;
        for (int c = 0; c < vc; c += L) {
            var u = bf16(w, wo + c);
            var v = bf16(w, w1 + c);
            var xv = FloatVector.fromArray(F, x, xo + c);
            a0 = u.fma(xv, a0);
            c0 = v.fma(xv, c0);
            xv = FloatVector.fromArray(F, x, x1 + c);
            a1 = u.fma(xv, a1);
            c1 = v.fma(xv, c1);
            xv = FloatVector.fromArray(F, x, x2 + c);
            a2 = u.fma(xv, a2);
            c2 = v.fma(xv, c2);
            xv = FloatVector.fromArray(F, x, x3 + c);
            a3 = u.fma(xv, a3);
            c3 = v.fma(xv, c3);
        }
        store8(t, a0, a1, a2, a3, c0, c1, c2, c3);
        y[yo] = bf16Finish(t, 0, w, wo, vc, cols, x, xo);
        y[yo + ldy] = bf16Finish(t, 1, w, wo, vc, cols, x, x1);
        y[yo + 2 * ldy] = bf16Finish(t, 2, w, wo, vc, cols, x, x2);
        y[yo + 3 * ldy] = bf16Finish(t, 3, w, wo, vc, cols, x, x3);
        y[yo + 1] = bf16Finish(t, 4, w, w1, vc, cols, x, xo);
        y[yo + 1 + ldy] = bf16Finish(t, 5, w, w1, vc, cols, x, x1);
        y[yo + 1 + 2 * ldy] = bf16Finish(t, 6, w, w1, vc, cols, x, x2);
        y[yo + 1 + 3 * ldy] = bf16Finish(t, 7, w, w1, vc, cols, x, x3);
    }

    // ---------------------------------------------------------------------------------------
    // Q8: per whole block, blk = sum of its chunks' q * x (first a product, then FMAs), then
    // acc = blk * scale + acc; the short last block goes through q8Finish.

    private static void q8Row(byte[] q, float[] sc, int wo, int so, int cols, float[] x, int xo, float[] y, int yo, float[] t) {
        int full = cols / QB;
        var acc = FloatVector.zero(F);
        for (int b = 0; b < full; b++) {
            int c = b * QB;
            var blk = q8(q, wo + c).mul(FloatVector.fromArray(F, x, xo + c));
            for (int j = L; j < QB; j += L) blk = q8(q, wo + c + j).fma(FloatVector.fromArray(F, x, xo + c + j), blk);
            acc = blk.fma(FloatVector.broadcast(F, sc[so + b]), acc);
        }
        acc.intoArray(t, 0);
        y[yo] = q8Finish(t, 0, q, sc, wo, so + full, full * QB, cols, x, xo);
    }

    /** Rows wo + k ws (scales so + k ss, k = 0..3) into y[yo + k ys]. */
    private static void q8Rows4(byte[] q, float[] sc, int wo, int so, int ws, int ss, int cols, float[] x, int xo, float[] y, int yo, int ys,
                                float[] t) {
        int full = cols / QB, w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws, s1 = so + ss, s2 = s1 + ss, s3 = s2 + ss;
        var a0 = FloatVector.zero(F);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        for (int b = 0; b < full; b++) {
            int c = b * QB;
            var xv = FloatVector.fromArray(F, x, xo + c);
            var b0 = q8(q, wo + c).mul(xv);
            var b1 = q8(q, w1 + c).mul(xv);
            var b2 = q8(q, w2 + c).mul(xv);
            var b3 = q8(q, w3 + c).mul(xv);
            for (int j = L; j < QB; j += L) {
                xv = FloatVector.fromArray(F, x, xo + c + j);
                b0 = q8(q, wo + c + j).fma(xv, b0);
                b1 = q8(q, w1 + c + j).fma(xv, b1);
                b2 = q8(q, w2 + c + j).fma(xv, b2);
                b3 = q8(q, w3 + c + j).fma(xv, b3);
            }
            a0 = b0.fma(FloatVector.broadcast(F, sc[so + b]), a0);
            a1 = b1.fma(FloatVector.broadcast(F, sc[s1 + b]), a1);
            a2 = b2.fma(FloatVector.broadcast(F, sc[s2 + b]), a2);
            a3 = b3.fma(FloatVector.broadcast(F, sc[s3 + b]), a3);
        }
        a0.intoArray(t, 0);
        a1.intoArray(t, L);
        a2.intoArray(t, 2 * L);
        a3.intoArray(t, 3 * L);
        int c = full * QB;
        y[yo] = q8Finish(t, 0, q, sc, wo, so + full, c, cols, x, xo);
        y[yo + ys] = q8Finish(t, 1, q, sc, w1, s1 + full, c, cols, x, xo);
        y[yo + 2 * ys] = q8Finish(t, 2, q, sc, w2, s2 + full, c, cols, x, xo);
        y[yo + 3 * ys] = q8Finish(t, 3, q, sc, w3, s3 + full, c, cols, x, xo);
    }

    private static void q8Row4x(byte[] q, float[] sc, int wo, int so, int cols, float[] x, int xo, int ldx, float[] y, int yo, int ldy, float[] t) {
        int full = cols / QB, x1 = xo + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
        var a0 = FloatVector.zero(F);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        for (int b = 0; b < full; b++) {
            int c = b * QB;
            var u = q8(q, wo + c);
            var b0 = u.mul(FloatVector.fromArray(F, x, xo + c));
            var b1 = u.mul(FloatVector.fromArray(F, x, x1 + c));
            var b2 = u.mul(FloatVector.fromArray(F, x, x2 + c));
            var b3 = u.mul(FloatVector.fromArray(F, x, x3 + c));
            for (int j = L; j < QB; j += L) {
                u = q8(q, wo + c + j);
                b0 = u.fma(FloatVector.fromArray(F, x, xo + c + j), b0);
                b1 = u.fma(FloatVector.fromArray(F, x, x1 + c + j), b1);
                b2 = u.fma(FloatVector.fromArray(F, x, x2 + c + j), b2);
                b3 = u.fma(FloatVector.fromArray(F, x, x3 + c + j), b3);
            }
            var s = FloatVector.broadcast(F, sc[so + b]);
            a0 = b0.fma(s, a0);
            a1 = b1.fma(s, a1);
            a2 = b2.fma(s, a2);
            a3 = b3.fma(s, a3);
        }
        a0.intoArray(t, 0);
        a1.intoArray(t, L);
        a2.intoArray(t, 2 * L);
        a3.intoArray(t, 3 * L);
        int c = full * QB, sf = so + full;
        y[yo] = q8Finish(t, 0, q, sc, wo, sf, c, cols, x, xo);
        y[yo + ldy] = q8Finish(t, 1, q, sc, wo, sf, c, cols, x, x1);
        y[yo + 2 * ldy] = q8Finish(t, 2, q, sc, wo, sf, c, cols, x, x2);
        y[yo + 3 * ldy] = q8Finish(t, 3, q, sc, wo, sf, c, cols, x, x3);
    }

    private static void q8Rows2x4(byte[] q, float[] sc, int wo, int so, int cols, int blocks, float[] x, int xo, int ldx, float[] y, int yo, int ldy,
                                  float[] t) {
        int full = cols / QB, w1 = wo + cols, s1 = so + blocks, x1 = xo + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
        var a0 = FloatVector.zero(F);
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        var c0 = a0;
        var c1 = a0;
        var c2 = a0;
        var c3 = a0;
        for (int b = 0; b < full; b++) {
            int c = b * QB;
            var u = q8(q, wo + c);
            var v = q8(q, w1 + c);
            var xv = FloatVector.fromArray(F, x, xo + c);
            var b0 = u.mul(xv);
            var d0 = v.mul(xv);
            xv = FloatVector.fromArray(F, x, x1 + c);
            var b1 = u.mul(xv);
            var d1 = v.mul(xv);
            xv = FloatVector.fromArray(F, x, x2 + c);
            var b2 = u.mul(xv);
            var d2 = v.mul(xv);
            xv = FloatVector.fromArray(F, x, x3 + c);
            var b3 = u.mul(xv);
            var d3 = v.mul(xv);
            for (int j = L; j < QB; j += L) {
                u = q8(q, wo + c + j);
                v = q8(q, w1 + c + j);
                xv = FloatVector.fromArray(F, x, xo + c + j);
                b0 = u.fma(xv, b0);
                d0 = v.fma(xv, d0);
                xv = FloatVector.fromArray(F, x, x1 + c + j);
                b1 = u.fma(xv, b1);
                d1 = v.fma(xv, d1);
                xv = FloatVector.fromArray(F, x, x2 + c + j);
                b2 = u.fma(xv, b2);
                d2 = v.fma(xv, d2);
                xv = FloatVector.fromArray(F, x, x3 + c + j);
                b3 = u.fma(xv, b3);
                d3 = v.fma(xv, d3);
            }
            var s = FloatVector.broadcast(F, sc[so + b]);
            a0 = b0.fma(s, a0);
            a1 = b1.fma(s, a1);
            a2 = b2.fma(s, a2);
            a3 = b3.fma(s, a3);
            s = FloatVector.broadcast(F, sc[s1 + b]);
            c0 = d0.fma(s, c0);
            c1 = d1.fma(s, c1);
            c2 = d2.fma(s, c2);
            c3 = d3.fma(s, c3);
        }
        store8(t, a0, a1, a2, a3, c0, c1, c2, c3);
        int c = full * QB, sf = so + full, tf = s1 + full;
        y[yo] = q8Finish(t, 0, q, sc, wo, sf, c, cols, x, xo);
        y[yo + ldy] = q8Finish(t, 1, q, sc, wo, sf, c, cols, x, x1);
        y[yo + 2 * ldy] = q8Finish(t, 2, q, sc, wo, sf, c, cols, x, x2);
        y[yo + 3 * ldy] = q8Finish(t, 3, q, sc, wo, sf, c, cols, x, x3);
        y[yo + 1] = q8Finish(t, 4, q, sc, w1, tf, c, cols, x, xo);
        y[yo + 1 + ldy] = q8Finish(t, 5, q, sc, w1, tf, c, cols, x, x1);
        y[yo + 1 + 2 * ldy] = q8Finish(t, 6, q, sc, w1, tf, c, cols, x, x2);
        y[yo + 1 + 3 * ldy] = q8Finish(t, 7, q, sc, w1, tf, c, cols, x, x3);
    }
}
