package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code out = a^T} for row-major float matrices with leading dimensions. With 16-lane SIMD the
 * whole 16 x 16 tiles go through registers: 16 row loads, 64 two-source lane permutes, 16 row
 * stores, against 256 scalar loads and 256 strided stores (a 16 x 64 transpose, the TTT mini-batch's
 * keys, took 150 ns instead of 800 on one core). Edges outside whole tiles take the scalar loop.
 * Data only moves, so both paths give the same bits.
 */
public final class Transpose {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int T = 16;
    // Stage h (8, 4, 2, 1) swaps row bit h with column bit h between rows r and r + h (r without bit h):
    // the new row r takes column c from row r when c lacks bit h, else column c - h of row r + h;
    // the new row r + h takes column c + h of row r when c lacks bit h, else column c of row r + h.
    // Lane indices 0..15 select from the first vector, 16..31 from the second.
    private static final boolean TILES = F.length() == T;
    private static final FloatVector LO8 = stage(8, false), HI8 = stage(8, true), LO4 = stage(4, false), HI4 = stage(4, true);
    private static final FloatVector LO2 = stage(2, false), HI2 = stage(2, true), LO1 = stage(1, false), HI1 = stage(1, true);

    private Transpose() {}

    private static FloatVector stage(int h, boolean high) {
        if (!TILES) return null;
        float[] idx = new float[T];
        for (int c = 0; c < T; c++) {
            boolean bitClear = (c & h) == 0;
            idx[c] = high ? (bitClear ? c + h : T + c) : (bitClear ? c : T + c - h);
        }
        return FloatVector.fromArray(F, idx, 0);
    }

    /**
     * {@code out[oOff + j * ldo + i] = a[aOff + i * lda + j]} for {@code i < rows, j < cols}.
     */
    public static void transpose(float[] a, int aOff, int lda, float[] out, int oOff, int ldo, int rows, int cols) {
        if (rows < 0 || cols < 0 || lda < cols || ldo < rows) {
            throw new IllegalArgumentException("transpose of " + rows + " x " + cols + " with lda " + lda + ", ldo " + ldo);
        }
        int tr = 0, tc = 0;
        if (TILES && Simd.enabled()) {
            tr = rows - rows % T;
            tc = cols - cols % T;
            for (int i = 0; i < tr; i += T) {
                for (int j = 0; j < tc; j += T) tile(a, aOff + i * lda + j, lda, out, oOff + j * ldo + i, ldo);
            }
        }
        // The edges: columns past the tiles of the tiled rows, then the rows past the tiles.
        scalar(a, aOff + tc, lda, out, oOff + tc * ldo, ldo, tr, cols - tc);
        scalar(a, aOff + tr * lda, lda, out, oOff + tr, ldo, rows - tr, cols);
    }

    /** The reference: two loops. */
    static void scalar(float[] a, int aOff, int lda, float[] out, int oOff, int ldo, int rows, int cols) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) out[oOff + j * ldo + i] = a[aOff + i * lda + j];
        }
    }

    /** One 16 x 16 tile, all in registers, written out: vectors passed to a helper that C2 leaves out of line are boxed. */
    private static void tile(float[] a, int a0, int lda, float[] out, int o0, int ldo) {
        FloatVector r0 = FloatVector.fromArray(F, a, a0), r1 = FloatVector.fromArray(F, a, a0 + lda);
        FloatVector r2 = FloatVector.fromArray(F, a, a0 + 2 * lda), r3 = FloatVector.fromArray(F, a, a0 + 3 * lda);
        FloatVector r4 = FloatVector.fromArray(F, a, a0 + 4 * lda), r5 = FloatVector.fromArray(F, a, a0 + 5 * lda);
        FloatVector r6 = FloatVector.fromArray(F, a, a0 + 6 * lda), r7 = FloatVector.fromArray(F, a, a0 + 7 * lda);
        FloatVector r8 = FloatVector.fromArray(F, a, a0 + 8 * lda), r9 = FloatVector.fromArray(F, a, a0 + 9 * lda);
        FloatVector r10 = FloatVector.fromArray(F, a, a0 + 10 * lda), r11 = FloatVector.fromArray(F, a, a0 + 11 * lda);
        FloatVector r12 = FloatVector.fromArray(F, a, a0 + 12 * lda), r13 = FloatVector.fromArray(F, a, a0 + 13 * lda);
        FloatVector r14 = FloatVector.fromArray(F, a, a0 + 14 * lda), r15 = FloatVector.fromArray(F, a, a0 + 15 * lda);
        FloatVector t;
        // h = 8: pairs (r, r + 8)
        t = LO8.selectFrom(r0, r8); r8 = HI8.selectFrom(r0, r8); r0 = t;
        t = LO8.selectFrom(r1, r9); r9 = HI8.selectFrom(r1, r9); r1 = t;
        t = LO8.selectFrom(r2, r10); r10 = HI8.selectFrom(r2, r10); r2 = t;
        t = LO8.selectFrom(r3, r11); r11 = HI8.selectFrom(r3, r11); r3 = t;
        t = LO8.selectFrom(r4, r12); r12 = HI8.selectFrom(r4, r12); r4 = t;
        t = LO8.selectFrom(r5, r13); r13 = HI8.selectFrom(r5, r13); r5 = t;
        t = LO8.selectFrom(r6, r14); r14 = HI8.selectFrom(r6, r14); r6 = t;
        t = LO8.selectFrom(r7, r15); r15 = HI8.selectFrom(r7, r15); r7 = t;
        // h = 4
        t = LO4.selectFrom(r0, r4); r4 = HI4.selectFrom(r0, r4); r0 = t;
        t = LO4.selectFrom(r1, r5); r5 = HI4.selectFrom(r1, r5); r1 = t;
        t = LO4.selectFrom(r2, r6); r6 = HI4.selectFrom(r2, r6); r2 = t;
        t = LO4.selectFrom(r3, r7); r7 = HI4.selectFrom(r3, r7); r3 = t;
        t = LO4.selectFrom(r8, r12); r12 = HI4.selectFrom(r8, r12); r8 = t;
        t = LO4.selectFrom(r9, r13); r13 = HI4.selectFrom(r9, r13); r9 = t;
        t = LO4.selectFrom(r10, r14); r14 = HI4.selectFrom(r10, r14); r10 = t;
        t = LO4.selectFrom(r11, r15); r15 = HI4.selectFrom(r11, r15); r11 = t;
        // h = 2
        t = LO2.selectFrom(r0, r2); r2 = HI2.selectFrom(r0, r2); r0 = t;
        t = LO2.selectFrom(r1, r3); r3 = HI2.selectFrom(r1, r3); r1 = t;
        t = LO2.selectFrom(r4, r6); r6 = HI2.selectFrom(r4, r6); r4 = t;
        t = LO2.selectFrom(r5, r7); r7 = HI2.selectFrom(r5, r7); r5 = t;
        t = LO2.selectFrom(r8, r10); r10 = HI2.selectFrom(r8, r10); r8 = t;
        t = LO2.selectFrom(r9, r11); r11 = HI2.selectFrom(r9, r11); r9 = t;
        t = LO2.selectFrom(r12, r14); r14 = HI2.selectFrom(r12, r14); r12 = t;
        t = LO2.selectFrom(r13, r15); r15 = HI2.selectFrom(r13, r15); r13 = t;
        // h = 1
        t = LO1.selectFrom(r0, r1); r1 = HI1.selectFrom(r0, r1); r0 = t;
        t = LO1.selectFrom(r2, r3); r3 = HI1.selectFrom(r2, r3); r2 = t;
        t = LO1.selectFrom(r4, r5); r5 = HI1.selectFrom(r4, r5); r4 = t;
        t = LO1.selectFrom(r6, r7); r7 = HI1.selectFrom(r6, r7); r6 = t;
        t = LO1.selectFrom(r8, r9); r9 = HI1.selectFrom(r8, r9); r8 = t;
        t = LO1.selectFrom(r10, r11); r11 = HI1.selectFrom(r10, r11); r10 = t;
        t = LO1.selectFrom(r12, r13); r13 = HI1.selectFrom(r12, r13); r12 = t;
        t = LO1.selectFrom(r14, r15); r15 = HI1.selectFrom(r14, r15); r14 = t;
        r0.intoArray(out, o0);
        r1.intoArray(out, o0 + ldo);
        r2.intoArray(out, o0 + 2 * ldo);
        r3.intoArray(out, o0 + 3 * ldo);
        r4.intoArray(out, o0 + 4 * ldo);
        r5.intoArray(out, o0 + 5 * ldo);
        r6.intoArray(out, o0 + 6 * ldo);
        r7.intoArray(out, o0 + 7 * ldo);
        r8.intoArray(out, o0 + 8 * ldo);
        r9.intoArray(out, o0 + 9 * ldo);
        r10.intoArray(out, o0 + 10 * ldo);
        r11.intoArray(out, o0 + 11 * ldo);
        r12.intoArray(out, o0 + 12 * ldo);
        r13.intoArray(out, o0 + 13 * ldo);
        r14.intoArray(out, o0 + 14 * ldo);
        r15.intoArray(out, o0 + 15 * ldo);
    }
}
