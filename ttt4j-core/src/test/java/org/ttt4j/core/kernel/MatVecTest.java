package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link MatVec} against its scalar twin {@link MatVecReference} and a double-precision product,
 * for every {@link WeightFormat} on odd shapes and offsets; the bit-identity contracts (matmul as
 * matvec, any row split as one call); bf16 rounding against PyTorch; Q8 packing.
 */
class MatVecTest {
    private static final int[] COLS = {1, 15, 16, 31, 32, 33, 100, 768};
    private static final int[] ROWS = {1, 3, 6, 17, 64};
    private static final float GUARD = -12345.5f;

    private static float[] random(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rng.nextDouble() * 2 - 1);
        return a;
    }

    /** y of the given length filled with a guard value, so writes outside the outputs show. */
    private static float[] guarded(int n) {
        float[] y = new float[n];
        java.util.Arrays.fill(y, GUARD);
        return y;
    }

    private static PackedMatrix randomMatrix(SplittableRandom rng, int rows, int cols, WeightFormat f) {
        float[] w = random(rng, 2 + rows * cols);
        return PackedMatrix.pack(w, 2, rows, cols, f);
    }

    private static float[] dequantized(PackedMatrix w) {
        float[] d = new float[w.rows() * w.cols()];
        w.dequantizeRows(0, w.rows(), d, 0);
        return d;
    }

    /**
     * Bound on |a - b| for two fp32 sums of the same {@code cols} products in different orders
     * (plus Q8's rounding of q * scale): (cols + 3) 2^-23 sum |w x|, twice the standard
     * gamma_n bound of each against the exact sum.
     */
    private static double bound(float[] deq, int row, int cols, float[] x, int xOff) {
        double abs = 0;
        for (int c = 0; c < cols; c++) abs += Math.abs((double) deq[row * cols + c] * x[xOff + c]);
        return (cols + 3) * 0x1p-23 * abs + Float.MIN_NORMAL;
    }

    private static double exact(float[] deq, int row, int cols, float[] x, int xOff) {
        double s = 0;
        for (int c = 0; c < cols; c++) s += (double) deq[row * cols + c] * x[xOff + c];
        return s;
    }

    private static void assertGuards(float[] y, int yOff, int ldy, int n, int rowFrom, int rowTo, String what) {
        for (int i = 0; i < y.length; i++) {
            int rel = i - yOff;
            boolean output = false;
            for (int b = 0; b < n && !output; b++) output = rel >= b * ldy + rowFrom && rel < b * ldy + rowTo;
            if (!output) assertEquals(GUARD, y[i], what + ": element " + i + " outside the outputs was written");
        }
    }

    @Test
    void matvecMatchesTheReferenceForEveryFormatAndShape() {
        var rng = new SplittableRandom(11);
        int xOff = 3, yOff = 5;
        for (WeightFormat f : WeightFormat.values()) {
            for (int cols : COLS) {
                for (int rows : ROWS) {
                    PackedMatrix w = randomMatrix(rng, rows, cols, f);
                    float[] deq = dequantized(w);
                    float[] x = random(rng, xOff + cols + 4);
                    float[] fast = guarded(yOff + rows + 2), ref = guarded(yOff + rows + 2);
                    MatVec.matvec(w, x, xOff, fast, yOff, 0, rows);
                    MatVecReference.matvec(w, x, xOff, ref, yOff, 0, rows);
                    String what = f + " " + rows + " x " + cols;
                    for (int r = 0; r < rows; r++) {
                        double tol = bound(deq, r, cols, x, xOff);
                        assertEquals(ref[yOff + r], fast[yOff + r], tol, what + " row " + r + " vs reference");
                        assertEquals(exact(deq, r, cols, x, xOff), fast[yOff + r], tol, what + " row " + r + " vs double");
                    }
                    assertGuards(fast, yOff, 0, 1, 0, rows, what);
                }
            }
        }
    }

    /**
     * The documented order of one output, simulated lane by lane in scalar code: per L-chunk (Q8:
     * per block, a block vector then times the scale) one FMA per lane, the halving lane tree,
     * then the columns past the last whole chunk (Q8: the short last block) one by one.
     */
    private static float canonical(PackedMatrix w, int row, float[] x, int xOff) {
        int cols = w.cols(), lanes = Simd.F.length();
        float[] deq = new float[cols];
        float[] acc = new float[lanes];
        int vc;
        if (w instanceof PackedMatrix.Q8 q) {
            int blocks = PackedMatrix.Q8.blocksPerRow(cols), full = cols / 32;
            for (int b = 0; b < full; b++) {
                float scale = q.scales()[row * blocks + b];
                for (int i = 0; i < lanes; i++) {
                    float blk = 0;
                    for (int c = b * 32 + i; c < b * 32 + 32; c += lanes) blk = Math.fma(q.q()[row * cols + c], x[xOff + c], blk);
                    acc[i] = Math.fma(blk, scale, acc[i]);
                }
            }
            vc = full * 32;
        } else {
            w.dequantizeRows(row, row + 1, deq, 0);
            vc = cols / lanes * lanes;
            for (int c = 0; c < vc; c++) acc[c % lanes] = Math.fma(deq[c], x[xOff + c], acc[c % lanes]);
        }
        for (int h = lanes / 2; h >= 1; h /= 2) {
            for (int i = 0; i < h; i++) acc[i] += acc[i + h];
        }
        float s = acc[0];
        if (w instanceof PackedMatrix.Q8 q) {
            if (vc < cols) {
                float blk = 0;
                for (int c = vc; c < cols; c++) blk = Math.fma(q.q()[row * cols + c], x[xOff + c], blk);
                s = Math.fma(blk, q.scales()[row * PackedMatrix.Q8.blocksPerRow(cols) + cols / 32], s);
            }
        } else {
            for (int c = vc; c < cols; c++) s = Math.fma(deq[c], x[xOff + c], s);
        }
        return s;
    }

    /**
     * Every kernel (4-row matvec, one row, 1 x 4 vectors of matmul) gives the documented order's
     * bits, before and after the JIT has compiled it: results do not depend on the tier.
     */
    @Test
    void everyOutputHasTheBitsOfTheDocumentedOrderInEveryJitTier() {
        var rng = new SplittableRandom(19);
        for (int round = 0; round < 2; round++) {
            for (WeightFormat f : WeightFormat.values()) {
                for (int cols : new int[] {15, 33, 100, 768}) {
                    int rows = 7, n = 5;
                    PackedMatrix w = randomMatrix(rng, rows, cols, f);
                    float[] x = random(rng, n * cols);
                    float[] mv = new float[rows], mm = new float[n * rows];
                    MatVec.matvec(w, x, 0, mv, 0, 0, rows);
                    MatVec.matmul(w, x, 0, cols, n, mm, 0, rows, 0, rows);
                    for (int r = 0; r < rows; r++) {
                        String what = "round " + round + " " + f + " x " + cols + " row " + r;
                        assertEquals(Float.floatToRawIntBits(canonical(w, r, x, 0)), Float.floatToRawIntBits(mv[r]), what);
                        for (int b = 0; b < n; b++) {
                            assertEquals(Float.floatToRawIntBits(canonical(w, r, x, b * cols)), Float.floatToRawIntBits(mm[b * rows + r]),
                                    what + " vector " + b);
                        }
                    }
                }
            }
            // Between the rounds: enough calls for C2 to compile every kernel.
            for (WeightFormat f : WeightFormat.values()) {
                PackedMatrix w = randomMatrix(rng, 9, 100, f);
                float[] x = random(rng, 5 * 100), y = new float[5 * 9];
                for (int i = 0; i < 20_000; i++) {
                    MatVec.matvec(w, x, 0, y, 0, 0, 9);
                    MatVec.matmul(w, x, 0, 100, 5, y, 0, 9, 0, 9);
                }
            }
        }
    }

    @Test
    void matmulIsBitIdenticalToMatvecForOneToSeventeenVectors() {
        var rng = new SplittableRandom(12);
        for (WeightFormat f : WeightFormat.values()) {
            for (int cols : new int[] {1, 15, 31, 33, 100, 768}) {
                for (int rows : new int[] {1, 3, 17}) {
                    PackedMatrix w = randomMatrix(rng, rows, cols, f);
                    for (int n = 1; n <= 17; n++) {
                        int ldx = cols + 2, ldy = rows + 3, xOff = 1, yOff = 4;
                        float[] x = random(rng, xOff + n * ldx);
                        float[] y = guarded(yOff + n * ldy);
                        MatVec.matmul(w, x, xOff, ldx, n, y, yOff, ldy, 0, rows);
                        String what = f + " " + rows + " x " + cols + " n=" + n;
                        for (int b = 0; b < n; b++) {
                            float[] one = guarded(rows);
                            MatVec.matvec(w, x, xOff + b * ldx, one, 0, 0, rows);
                            for (int r = 0; r < rows; r++) {
                                assertEquals(Float.floatToRawIntBits(one[r]), Float.floatToRawIntBits(y[yOff + b * ldy + r]),
                                        what + " vector " + b + " row " + r);
                            }
                        }
                        assertGuards(y, yOff, ldy, n, 0, rows, what);
                    }
                }
            }
        }
    }

    @Test
    void matmulOverSeveralRowBlocksIsBitIdenticalToMatvec() {
        // 161 odd rows of 768 columns: several of matmul's ~128 KB row blocks in every format.
        var rng = new SplittableRandom(20);
        int rows = 161, cols = 768;
        for (WeightFormat f : WeightFormat.values()) {
            PackedMatrix w = randomMatrix(rng, rows, cols, f);
            for (int n : new int[] {8, 11}) {
                float[] x = random(rng, n * cols);
                float[] y = new float[n * rows];
                MatVec.matmul(w, x, 0, cols, n, y, 0, rows, 0, rows);
                for (int b = 0; b < n; b++) {
                    float[] one = new float[rows];
                    MatVec.matvec(w, x, b * cols, one, 0, 0, rows);
                    assertArrayEquals(one, java.util.Arrays.copyOfRange(y, b * rows, (b + 1) * rows), f + " n=" + n + " vector " + b);
                }
            }
        }
    }

    @Test
    void splittingTheRowRangeGivesTheBitsOfOneCall() {
        var rng = new SplittableRandom(13);
        int rows = 64, n = 6;
        for (WeightFormat f : WeightFormat.values()) {
            for (int cols : new int[] {33, 768}) {
                PackedMatrix w = randomMatrix(rng, rows, cols, f);
                float[] x = random(rng, n * cols);
                float[] whole = new float[n * rows];
                MatVec.matvec(w, x, 0, whole, 0, 0, rows);
                float[] wholeMm = new float[n * rows];
                MatVec.matmul(w, x, 0, cols, n, wholeMm, 0, rows, 0, rows);
                for (int k : new int[] {1, 2, 3, 5, 31, 63}) {
                    float[] split = new float[rows], splitMm = new float[n * rows];
                    MatVec.matvec(w, x, 0, split, 0, k, rows); // out of order on purpose
                    MatVec.matvec(w, x, 0, split, 0, 0, k);
                    MatVec.matmul(w, x, 0, cols, n, splitMm, 0, rows, 0, k);
                    MatVec.matmul(w, x, 0, cols, n, splitMm, 0, rows, k, rows);
                    String what = f + " x " + cols + " split at " + k;
                    assertArrayEquals(java.util.Arrays.copyOf(whole, rows), split, what + " (matvec)");
                    assertArrayEquals(wholeMm, splitMm, what + " (matmul)");
                }
                // Rows spread over the engine's threads in chunks of one row: the same bits.
                float[] parallel = new float[rows];
                Parallel.forRange(rows, 1, (from, to) -> MatVec.matvec(w, x, 0, parallel, 0, from, to));
                assertArrayEquals(java.util.Arrays.copyOf(whole, rows), parallel, f + " x " + cols + " over threads");
            }
        }
    }

    @Test
    void gemmMatchesTheReferenceAndIsDeterministic() {
        var rng = new SplittableRandom(14);
        for (WeightFormat f : WeightFormat.values()) {
            for (int cols : new int[] {1, 33, 100, 768}) {
                for (int rows : new int[] {3, 17, 64}) {
                    PackedMatrix w = randomMatrix(rng, rows, cols, f);
                    float[] deq = dequantized(w);
                    for (int n : new int[] {1, 5, 17, MatVec.GEMM_MIN_N - 1, MatVec.GEMM_MIN_N, MatVec.GEMM_MIN_N + 3}) {
                        int ldx = cols + 1, ldy = rows + 2, xOff = 2, yOff = 3;
                        float[] x = random(rng, xOff + n * ldx);
                        float[] fast = guarded(yOff + n * ldy), ref = guarded(yOff + n * ldy);
                        w.gemm(x, xOff, ldx, n, fast, yOff, ldy, 0, rows);
                        MatVecReference.matmul(w, x, xOff, ldx, n, ref, yOff, ldy, 0, rows);
                        String what = f + " " + rows + " x " + cols + " n=" + n;
                        for (int b = 0; b < n; b++) {
                            for (int r = 0; r < rows; r++) {
                                double tol = bound(deq, r, cols, x, xOff + b * ldx);
                                assertEquals(ref[yOff + b * ldy + r], fast[yOff + b * ldy + r], tol, what + " vector " + b + " row " + r);
                            }
                        }
                        assertGuards(fast, yOff, ldy, n, 0, rows, what);
                        // Deterministic, also when the rows come in two calls.
                        float[] again = guarded(fast.length);
                        int k = rows / 3;
                        w.gemm(x, xOff, ldx, n, again, yOff, ldy, k, rows);
                        w.gemm(x, xOff, ldx, n, again, yOff, ldy, 0, k);
                        assertArrayEquals(fast, again, what + " split at " + k);
                    }
                }
            }
        }
    }

    @Test
    void gemmOverSeveralPanelsMatchesTheReference() {
        // Rows beyond one 4 MB panel (2^20 floats / 1024 columns = 1024 rows per panel).
        var rng = new SplittableRandom(15);
        int rows = 1100, cols = 1024, n = MatVec.GEMM_MIN_N;
        float[] x = random(rng, n * cols);
        for (WeightFormat f : new WeightFormat[] {WeightFormat.BF16, WeightFormat.Q8}) {
            PackedMatrix w = randomMatrix(rng, rows, cols, f);
            float[] deq = dequantized(w);
            float[] fast = new float[n * rows], ref = new float[n * rows];
            MatVec.gemm(w, x, 0, cols, n, fast, 0, rows, 0, rows);
            MatVecReference.matmul(w, x, 0, cols, n, ref, 0, rows, 0, rows);
            for (int b = 0; b < n; b += 9) {
                for (int r = 0; r < rows; r++) {
                    assertEquals(ref[b * rows + r], fast[b * rows + r], bound(deq, r, cols, x, b * cols), f + " vector " + b + " row " + r);
                }
            }
        }
    }

    @Test
    void vectorDequantisationGivesTheValuesOfDequantizeRows() {
        var rng = new SplittableRandom(16);
        for (WeightFormat f : WeightFormat.values()) {
            for (int cols : COLS) {
                PackedMatrix w = randomMatrix(rng, 5, cols, f);
                float[] want = new float[2 + 3 * cols], got = new float[2 + 3 * cols];
                w.dequantizeRows(1, 4, want, 2);
                MatVec.dequantize(w, 1, 4, got, 2);
                assertArrayEquals(want, got, f + " x " + cols);
            }
        }
    }

    @Test
    void withSimdOffEveryProductIsTheReference() {
        var rng = new SplittableRandom(17);
        boolean was = Simd.setEnabled(false);
        try {
            for (WeightFormat f : WeightFormat.values()) {
                PackedMatrix w = randomMatrix(rng, 17, 100, f);
                int n = 20;
                float[] x = random(rng, n * 100);
                float[] ref = new float[n * 17];
                MatVecReference.matmul(w, x, 0, 100, n, ref, 0, 17, 0, 17);
                float[] mv = new float[17], mm = new float[n * 17], g = new float[n * 17];
                MatVec.matvec(w, x, 0, mv, 0, 0, 17);
                MatVec.matmul(w, x, 0, 100, n, mm, 0, 17, 0, 17);
                MatVec.gemm(w, x, 0, 100, n, g, 0, 17, 0, 17);
                assertArrayEquals(java.util.Arrays.copyOf(ref, 17), mv, f + " matvec");
                assertArrayEquals(ref, mm, f + " matmul");
                assertArrayEquals(ref, g, f + " gemm");
            }
        } finally {
            Simd.setEnabled(was);
        }
    }

    @Test
    void productsRejectRangesAndOperandsOutsideTheirArrays() {
        PackedMatrix w = PackedMatrix.pack(new float[12], 0, 3, 4, WeightFormat.Q8);
        float[] x = new float[8], y = new float[6];
        assertThrows(IllegalArgumentException.class, () -> MatVec.matvec(w, x, 0, y, 0, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> MatVec.matvec(w, x, 0, y, 0, 2, 1));
        assertThrows(IllegalArgumentException.class, () -> MatVec.matvec(w, x, 5, y, 0, 0, 3));
        assertThrows(IllegalArgumentException.class, () -> MatVec.matvec(w, x, 0, y, 4, 0, 3));
        assertThrows(IllegalArgumentException.class, () -> MatVec.matmul(w, x, 0, 4, 3, y, 0, 3, 0, 3));
        assertThrows(IllegalArgumentException.class, () -> MatVec.matmul(w, x, 0, 4, 2, y, 0, 4, 0, 3));
        assertThrows(IllegalArgumentException.class, () -> MatVec.matmul(w, x, 0, 4, -1, y, 0, 3, 0, 3));
        MatVec.matmul(w, x, 0, 4, 2, y, 0, 3, 0, 3); // exactly fits
        MatVec.matvec(w, x, 0, y, 0, 3, 3); // empty range
    }

    // ---------------------------------------------------------------------------------------
    // bf16

    /**
     * (fp32 bits, bf16 bits) pairs from PyTorch: ties to even up and down, a tie with a sticky bit
     * below, negatives, the largest finite fp32 (rounds to inf), infinities, subnormals (and a
     * subnormal tie), the smallest normal. Generated by
     * <pre>{@code
     * python3 -c "import torch,numpy as np; f=np.array([0x3F800000,0xBF800000,0,0x80000000,0x3F808000,0x3F818000,0x3F808001,0x3F807FFF,0xBF808000,0xBF818000,0x40490FDB,0xC02DF854,0x477FE000,0x7F61B1E6,0x7F7F7FFF,0x7F7F8000,0x7F7FFFFF,0xFF7FFFFF,0x7F800000,0xFF800000,0x00000001,0x00008000,0x00018000,0x0000FFFF,0x807FFFFF,0x80008000,0x00400000,0x00800000],dtype=np.uint32); b=torch.from_numpy(f.view(np.float32)).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16); print(', '.join('0x%08X, 0x%04X' % p for p in zip(f,b)))"
     * }</pre>
     * with torch 2.13.0+cpu.
     */
    private static final int[] TORCH_BF16 = {
        0x3F800000, 0x3F80, 0xBF800000, 0xBF80, 0x00000000, 0x0000, 0x80000000, 0x8000, 0x3F808000, 0x3F80,
        0x3F818000, 0x3F82, 0x3F808001, 0x3F81, 0x3F807FFF, 0x3F80, 0xBF808000, 0xBF80, 0xBF818000, 0xBF82,
        0x40490FDB, 0x4049, 0xC02DF854, 0xC02E, 0x477FE000, 0x4780, 0x7F61B1E6, 0x7F62, 0x7F7F7FFF, 0x7F7F,
        0x7F7F8000, 0x7F80, 0x7F7FFFFF, 0x7F80, 0xFF7FFFFF, 0xFF80, 0x7F800000, 0x7F80, 0xFF800000, 0xFF80,
        0x00000001, 0x0000, 0x00008000, 0x0000, 0x00018000, 0x0002, 0x0000FFFF, 0x0001, 0x807FFFFF, 0x8080,
        0x80008000, 0x8000, 0x00400000, 0x0040, 0x00800000, 0x0080,
    };

    @Test
    void bf16RoundingMatchesPyTorch() {
        float[] w = new float[TORCH_BF16.length / 2];
        for (int i = 0; i < TORCH_BF16.length; i += 2) {
            float f = Float.intBitsToFloat(TORCH_BF16[i]);
            w[i / 2] = f;
            assertEquals(TORCH_BF16[i + 1], PackedMatrix.toBf16(f) & 0xFFFF,
                    () -> String.format("toBf16(0x%08X)", Float.floatToRawIntBits(f)));
        }
        // Packing rounds the same way, and the products see exactly the widened values.
        var b = (PackedMatrix.Bf16) PackedMatrix.pack(w, 0, 1, w.length, WeightFormat.BF16);
        float[] deq = new float[w.length];
        b.dequantizeRows(0, 1, deq, 0);
        for (int i = 0; i < w.length; i++) {
            assertEquals(TORCH_BF16[2 * i + 1], b.w()[i] & 0xFFFF, "packed " + i);
            assertEquals(TORCH_BF16[2 * i + 1] << 16, Float.floatToRawIntBits(deq[i]), "widened " + i);
        }
        float nan = Float.intBitsToFloat(0x7F800001); // a signalling NaN whose payload would truncate to inf
        assertTrue(Float.isNaN(PackedMatrix.fromBf16(PackedMatrix.toBf16(nan))), "NaN stays NaN");
        assertTrue(Float.isNaN(PackedMatrix.fromBf16(PackedMatrix.toBf16(Float.NaN))), "NaN stays NaN");
    }

    // ---------------------------------------------------------------------------------------
    // Q8 packing

    @Test
    void q8DequantisedWeightsAreWithinHalfAScale() {
        var rng = new SplittableRandom(18);
        for (int cols : COLS) {
            int rows = 7;
            float[] w = new float[rows * cols];
            for (int i = 0; i < w.length; i++) w[i] = (float) ((rng.nextDouble() * 2 - 1) * Math.exp(rng.nextDouble() * 8 - 4));
            var q = (PackedMatrix.Q8) PackedMatrix.pack(w, 0, rows, cols, WeightFormat.Q8);
            float[] deq = dequantized(q);
            int blocks = PackedMatrix.Q8.blocksPerRow(cols);
            for (int r = 0; r < rows; r++) {
                for (int blk = 0; blk < blocks; blk++) {
                    float scale = q.scales()[r * blocks + blk];
                    float max = 0;
                    boolean hit127 = false;
                    for (int c = blk * 32; c < Math.min(cols, blk * 32 + 32); c++) {
                        int i = r * cols + c;
                        max = Math.max(max, Math.abs(w[i]));
                        // Half a step, with room for the fp32 roundings of 1 / scale, w / scale and q * scale.
                        assertTrue(Math.abs(deq[i] - w[i]) <= scale / 2 * (1 + 0x1p-20),
                                "cols " + cols + " element " + i + ": " + w[i] + " came back as " + deq[i] + ", scale " + scale);
                        assertTrue(Math.abs(q.q()[i]) <= 127);
                        hit127 |= Math.abs(q.q()[i]) == 127;
                    }
                    assertEquals(max / 127f, scale, "scale of block " + blk);
                    assertTrue(hit127, "the largest weight of a block takes the full int8 range");
                }
            }
        }
    }

    @Test
    void q8AllZeroBlockIsZeroAndKeepsProductsFinite() {
        int cols = 70;
        float[] w = new float[2 * cols];
        for (int c = 32; c < cols; c++) w[c] = 0.25f * (c - 50); // row 0: block 0 zero, blocks 1-2 not
        var q = (PackedMatrix.Q8) PackedMatrix.pack(w, 0, 2, cols, WeightFormat.Q8); // row 1 all zero
        assertEquals(0f, q.scales()[0]);
        for (int b = 3; b < 6; b++) assertEquals(0f, q.scales()[b], "row 1 block " + (b - 3));
        for (int c = 0; c < 32; c++) assertEquals(0, q.q()[c]);
        for (int c = cols; c < 2 * cols; c++) assertEquals(0, q.q()[c]);
        // Huge x under the zero block: its products must be exact zeros, not overflow to inf or NaN.
        float[] xs = new float[cols];
        for (int c = 0; c < cols; c++) xs[c] = c < 32 ? Float.MAX_VALUE : 1;
        float[] y = new float[2];
        MatVec.matvec(q, xs, 0, y, 0, 0, 2);
        float[] deq = dequantized(q);
        double want = 0;
        for (int c = 32; c < cols; c++) want += deq[c];
        assertEquals(want, y[0], 1e-4, "row 0: the zero block adds nothing");
        assertEquals(0f, y[1], "row 1");
    }

    @Test
    void q8BlockWhoseLargestMagnitudeIsNegative() {
        float[] w = {-3f, -1f, -0.5f, 2f, -0.25f};
        var q = (PackedMatrix.Q8) PackedMatrix.pack(w, 0, 1, w.length, WeightFormat.Q8);
        assertEquals(3f / 127f, q.scales()[0], "the scale comes from |max|, and is positive");
        assertEquals(-127, q.q()[0]);
        assertEquals(Math.round(2f / (3f / 127f)), q.q()[3]);
        float[] allNegative = {-0.5f, -4f, -1f};
        var n = (PackedMatrix.Q8) PackedMatrix.pack(allNegative, 0, 1, 3, WeightFormat.Q8);
        assertEquals(4f / 127f, n.scales()[0]);
        assertEquals(-127, n.q()[1]);
        float[] deq = dequantized(n);
        for (int i = 0; i < 3; i++) assertTrue(deq[i] < 0 && Math.abs(deq[i] - allNegative[i]) <= n.scales()[0] / 2, "element " + i);
    }

    @Test
    void constructorsAndPackRejectMismatchedSizes() {
        assertThrows(IllegalArgumentException.class, () -> new PackedMatrix.F32(new float[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new PackedMatrix.Bf16(new short[7], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new PackedMatrix.Q8(new byte[6], new float[1], 2, 3), "one scale per row needed");
        assertThrows(IllegalArgumentException.class, () -> new PackedMatrix.Q8(new byte[5], new float[2], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new PackedMatrix.Q8(new byte[66], new float[2], 1, 66), "66 columns are 3 blocks");
        new PackedMatrix.Q8(new byte[66], new float[3], 1, 66);
        for (WeightFormat f : WeightFormat.values()) {
            assertThrows(IllegalArgumentException.class, () -> PackedMatrix.pack(new float[6], 1, 2, 3, f), f + " past the end");
            assertThrows(IllegalArgumentException.class, () -> PackedMatrix.pack(new float[6], 0, 6, 0, f), f + " no columns");
            assertThrows(IllegalArgumentException.class, () -> PackedMatrix.pack(new float[6], -1, 1, 3, f), f + " negative offset");
            PackedMatrix ok = PackedMatrix.pack(new float[7], 1, 2, 3, f);
            assertEquals(2, ok.rows());
            assertEquals(3, ok.cols());
            assertEquals(f, ok.format());
            assertEquals(switch (f) { case F32 -> 24; case BF16 -> 12; case Q8 -> 6 + 2 * 4; }, ok.bytes(), f + " bytes");
        }
    }
}
