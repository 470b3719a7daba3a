package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.Storage;

/** Gemm against the scalar oracle GemmReference, on awkward shapes, layouts and batches. */
class GemmTest {

    /** A problem with padded layouts: every operand sits at an offset with ld > row width. */
    private record Case(boolean ta, boolean tb, int m, int n, int k,
                        float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                        float[] c, int cOff, int ldc) {

        static Case random(Random r, boolean ta, boolean tb, int m, int n, int k, boolean pad) {
            int aRows = ta ? k : m, aCols = ta ? m : k;
            int bRows = tb ? n : k, bCols = tb ? k : n;
            int lda = aCols + (pad ? r.nextInt(5) : 0);
            int ldb = bCols + (pad ? r.nextInt(5) : 0);
            int ldc = n + (pad ? r.nextInt(5) : 0);
            int aOff = pad ? r.nextInt(7) : 0, bOff = pad ? r.nextInt(7) : 0;
            int cOff = pad ? r.nextInt(7) : 0;
            float[] a = fill(r, aOff + aRows * lda + 3);
            float[] b = fill(r, bOff + bRows * ldb + 3);
            float[] c = fill(r, cOff + m * ldc + 3);
            return new Case(ta, tb, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        }

        float[] fast(boolean accumulate) {
            float[] out = c.clone();
            Gemm.sgemm(ta, tb, m, n, k, a, aOff, lda, b, bOff, ldb, out, cOff, ldc, accumulate);
            return out;
        }

        float[] reference(boolean accumulate) {
            float[] out = c.clone();
            GemmReference.gemm(ta, tb, m, n, k, new Storage.F32(a), aOff, lda, new Storage.F32(b),
                    bOff, ldb, new Storage.F32(out), cOff, ldc, accumulate);
            return out;
        }

        /** Sum over p of |a(i,p)| |b(p,j)| (+ |c| when accumulating): the scale of the error. */
        double scale(int i, int j, boolean accumulate) {
            double s = accumulate ? Math.abs(c[cOff + i * ldc + j]) : 0;
            for (int p = 0; p < k; p++) {
                double av = ta ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                double bv = tb ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                s += Math.abs(av * bv);
            }
            return s;
        }

        void check(boolean accumulate) {
            float[] got = fast(accumulate), want = reference(accumulate);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int idx = cOff + i * ldc + j;
                    double tol = 1e-6 * (k + 2) * scale(i, j, accumulate) + 1e-30;
                    double err = Math.abs(got[idx] - want[idx]);
                    if (!(err <= tol)) {
                        throw new AssertionError(this + " accumulate=" + accumulate + " C(" + i
                                + "," + j + ") = " + got[idx] + ", want " + want[idx]);
                    }
                }
            }
            // Padding between and around the rows of C is never written.
            for (int idx = 0; idx < got.length; idx++) {
                int rel = idx - cOff;
                boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
                if (!inside) assertEquals(c[idx], got[idx], "padding of C changed at " + idx);
            }
        }

        @Override
        public String toString() {
            return "sgemm(transA=" + ta + ", transB=" + tb + ", m=" + m + ", n=" + n + ", k=" + k
                    + ", aOff=" + aOff + ", lda=" + lda + ", bOff=" + bOff + ", ldb=" + ldb
                    + ", cOff=" + cOff + ", ldc=" + ldc + ")";
        }
    }

    private static float[] fill(Random r, int len) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = r.nextFloat() * 2 - 1;
        return x;
    }

    @Test
    void tinyAndTailShapesAllTransposes() {
        Random r = new Random(1);
        int[] sizes = {1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 31, 32, 33, 47, 49};
        for (int trial = 0; trial < 300; trial++) {
            int m = sizes[r.nextInt(sizes.length)];
            int n = sizes[r.nextInt(sizes.length)];
            int k = sizes[r.nextInt(sizes.length)];
            boolean ta = (trial & 1) != 0, tb = (trial & 2) != 0;
            Case cs = Case.random(r, ta, tb, m, n, k, trial % 3 != 0);
            cs.check(false);
            cs.check(true);
        }
    }

    /** m <= SKINNY_M takes the unpacked path (decoding); large n and k so it also runs in parallel. */
    @Test
    void skinnyProductsAllTransposes() {
        Random r = new Random(5);
        int[] ns = {1, 15, 17, 300, 4099}, ks = {1, 7, 16, 257, 1024};
        for (int trial = 0; trial < 80; trial++) {
            int m = 1 + r.nextInt(Gemm.SKINNY_M);
            boolean ta = (trial & 1) != 0, tb = (trial & 2) != 0;
            Case cs = Case.random(r, ta, tb, m, ns[r.nextInt(ns.length)], ks[r.nextInt(ks.length)], trial % 2 == 0);
            cs.check(false);
            cs.check(true);
            org.junit.jupiter.api.Assertions.assertArrayEquals(cs.fast(true), cs.fast(true), "repeatable");
        }
    }

    @Test
    void blockBoundaryShapes() {
        // Crosses KC (k-blocks), MC_MAX (row blocks), the 8/4-row tails and column edges.
        Random r = new Random(2);
        int[][] shapes = {
            {Gemm.MR, Gemm.NR, Gemm.KC}, {Gemm.MR + 1, Gemm.NR + 1, Gemm.KC + 1},
            {Gemm.MC_MAX + 7, 70, 300}, {2 * Gemm.MC_MAX + 13, 33, 2 * Gemm.KC + 5},
            {257, 129, 513}, {100, 3, 600}, {3, 300, 257}, {1, 257, 700}, {600, 1, 300},
            {64, 64, 64}, {96, 200, 1}, {23, 45, 67}
        };
        int t = 0;
        for (int[] s : shapes) {
            for (int tr = 0; tr < 4; tr++, t++) {
                Case cs = Case.random(r, (tr & 1) != 0, (tr & 2) != 0, s[0], s[1], s[2], t % 2 == 0);
                cs.check(t % 3 == 0);
            }
        }
    }

    /**
     * Row-major B read in place (chosen for small B, e.g. 64 x 64) against packed B: both forced
     * on the tail, block-boundary and batched shapes (all transposes, padded layouts, ragged last
     * panels), and the two paths give the same bits.
     */
    @Test
    void inPlaceAndPackedBPathsMatchReferenceAndEachOther() {
        String was = Gemm.directB;
        try {
            for (String mode : new String[] {"true", "false"}) {
                Gemm.directB = mode;
                tinyAndTailShapesAllTransposes();
                blockBoundaryShapes();
                batchedMatchesReference();
            }
            Random r = new Random(8);
            int[][] shapes = {{64, 64, 64}, {61, 77, 200}, {30, 33, 7}, {243, 96, 256},
                {13, 40, 1}, {5, 64, 100}, {100, 31, 9}};
            int t = 0;
            for (int[] s : shapes) {
                for (int tr = 0; tr < 4; tr++, t++) {
                    Case cs = Case.random(r, (tr & 1) != 0, (tr & 2) != 0, s[0], s[1], s[2],
                            t % 2 == 0);
                    boolean acc = t % 3 == 0;
                    Gemm.directB = "true";
                    float[] direct = cs.fast(acc);
                    Gemm.directB = "false";
                    float[] packed = cs.fast(acc);
                    assertArrayEquals(packed, direct, "in-place vs packed B on " + cs);
                    cs.check(acc);
                }
            }
        } finally {
            Gemm.directB = was;
        }
    }

    @Test
    void emptyDimensions() {
        Random r = new Random(3);
        // k = 0: C is zeroed, or left alone when accumulating.
        Case cs = Case.random(r, false, false, 5, 6, 0, true);
        float[] zeroed = cs.fast(false);
        assertArrayEquals(cs.reference(false), zeroed);
        assertArrayEquals(cs.c(), cs.fast(true));
        // m = 0 or n = 0: nothing happens.
        Case m0 = Case.random(r, true, false, 0, 6, 4, true);
        assertArrayEquals(m0.c(), m0.fast(false));
        Case n0 = Case.random(r, false, true, 6, 0, 4, true);
        assertArrayEquals(n0.c(), n0.fast(false));
    }

    @Test
    void repeatedCallsAreBitIdenticalAndMatchAcrossPaths() {
        Random r = new Random(4);
        // Large enough to fan out over the pool, with row and column tails.
        Case cs = Case.random(r, false, true, 517, 301, 700, true);
        float[] first = cs.fast(false);
        for (int i = 0; i < 3; i++) assertArrayEquals(first, cs.fast(false));
        // The batched path (one entry per task, no fan-out inside) gives the same bits.
        int m = 517, n = 301, k = 700;
        float[] a = Case.random(r, false, false, m, n, k, false).a();
        float[] b = fill(r, k * n);
        float[] single = new float[m * n];
        Gemm.sgemm(false, false, m, n, k, a, 0, k, b, 0, n, single, 0, n, false);
        float[] batched = new float[3 * m * n];
        Gemm.sgemmBatched(3, false, false, m, n, k, a, 0, 0, b, 0, 0, batched, 0, m * n, false);
        for (int e = 0; e < 3; e++) {
            float[] entry = java.util.Arrays.copyOfRange(batched, e * m * n, (e + 1) * m * n);
            assertArrayEquals(single, entry, "batch entry " + e);
        }
    }

    @Test
    void batchedMatchesReference() {
        Random r = new Random(5);
        int[][] shapes = {{64, 64, 64}, {7, 13, 5}, {1, 1, 1}, {33, 17, 40}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            for (int tr = 0; tr < 4; tr++) {
                boolean ta = (tr & 1) != 0, tb = (tr & 2) != 0;
                for (int share = 0; share < 3; share++) {
                    int batch = 9;
                    int strideA = share == 1 ? 0 : m * k + 3;
                    int strideB = share == 2 ? 0 : k * n + 1;
                    int strideC = m * n + 2;
                    int aOff = 5, bOff = 2, cOff = 4;
                    float[] a = fill(r, aOff + (batch - 1) * strideA + m * k);
                    float[] b = fill(r, bOff + (batch - 1) * strideB + k * n);
                    float[] c0 = fill(r, cOff + (batch - 1) * strideC + m * n);
                    for (boolean acc : new boolean[] {false, true}) {
                        float[] got = c0.clone(), want = c0.clone();
                        Gemm.sgemmBatched(batch, ta, tb, m, n, k, a, aOff, strideA, b, bOff,
                                strideB, got, cOff, strideC, acc);
                        for (int e = 0; e < batch; e++) {
                            GemmReference.gemm(ta, tb, m, n, k, new Storage.F32(a),
                                    aOff + e * strideA, ta ? m : k, new Storage.F32(b),
                                    bOff + e * strideB, tb ? k : n, new Storage.F32(want),
                                    cOff + e * strideC, n, acc);
                        }
                        for (int i = 0; i < got.length; i++) {
                            double tol = 1e-6 * (k + 2) * (k + 1);
                            assertTrue(Math.abs(got[i] - want[i]) <= tol, "batched " + m + "x"
                                    + n + "x" + k + " ta=" + ta + " tb=" + tb + " share=" + share
                                    + " acc=" + acc + " at " + i + ": " + got[i] + " vs " + want[i]);
                        }
                    }
                }
            }
        }
    }

    @Test
    void manySmallBatchEntriesRunInParallelDeterministically() {
        Random r = new Random(6);
        int batch = 64, s = 64;
        float[] a = fill(r, batch * s * s), b = fill(r, batch * s * s);
        float[] c1 = new float[batch * s * s], c2 = new float[batch * s * s];
        Gemm.sgemmBatched(batch, false, false, s, s, s, a, 0, s * s, b, 0, s * s, c1, 0, s * s, false);
        Gemm.sgemmBatched(batch, false, false, s, s, s, a, 0, s * s, b, 0, s * s, c2, 0, s * s, false);
        assertArrayEquals(c1, c2);
        // Entry 17 equals a single call on the same data.
        float[] one = new float[s * s];
        int off = 17 * s * s;
        Gemm.sgemm(false, false, s, s, s, a, off, s, b, off, s, one, 0, s, false);
        assertArrayEquals(one, java.util.Arrays.copyOfRange(c1, off, off + s * s));
    }

    @Test
    void scalarFallbackWhenSimdIsOff() {
        Random r = new Random(7);
        Case cs = Case.random(r, true, false, 19, 23, 29, true);
        boolean was = Simd.setEnabled(false);
        try {
            assertArrayEquals(cs.reference(true), cs.fast(true));
        } finally {
            Simd.setEnabled(was);
        }
    }

    @Test
    void badArgumentsAreRejected() {
        float[] a = new float[12], b = new float[12], c = new float[12];
        assertBad("sizes", () -> Gemm.sgemm(false, false, -1, 3, 4, a, 0, 4, b, 0, 3, c, 0, 3, false));
        assertBad("sizes", () -> Gemm.sgemm(false, false, 3, 3, -4, a, 0, 4, b, 0, 3, c, 0, 3, false));
        assertBad("A offset", () -> Gemm.sgemm(false, false, 3, 3, 4, a, -1, 4, b, 0, 3, c, 0, 3, false));
        assertBad("A runs past", () -> Gemm.sgemm(false, false, 3, 3, 4, a, 1, 4, b, 0, 3, c, 0, 3, false));
        assertBad("leading dimension of A", () -> Gemm.sgemm(false, false, 3, 3, 4, a, 0, 3, b, 0, 3, c, 0, 3, false));
        assertBad("B runs past", () -> Gemm.sgemm(false, false, 3, 3, 4, a, 0, 4, b, 0, 4, c, 0, 3, false));
        assertBad("leading dimension of B", () -> Gemm.sgemm(false, true, 3, 3, 4, a, 0, 4, b, 0, 3, c, 0, 3, false));
        assertBad("C runs past", () -> Gemm.sgemm(false, false, 3, 3, 4, a, 0, 4, b, 0, 3, c, 4, 3, false));
        assertBad("leading dimension of C", () -> Gemm.sgemm(false, false, 3, 3, 4, a, 0, 4, b, 0, 3, c, 0, 2, false));
        assertBad("A is null", () -> Gemm.sgemm(false, false, 3, 3, 4, null, 0, 4, b, 0, 3, c, 0, 3, false));
        assertBad("batch", () -> Gemm.sgemmBatched(-1, false, false, 2, 2, 2, a, 0, 4, b, 0, 4, c, 0, 4, false));
        assertBad("strides", () -> Gemm.sgemmBatched(2, false, false, 2, 2, 2, a, 0, -4, b, 0, 4, c, 0, 4, false));
        assertBad("overlap", () -> Gemm.sgemmBatched(2, false, false, 2, 2, 2, a, 0, 4, b, 0, 4, c, 0, 0, false));
        assertBad("A runs past", () -> Gemm.sgemmBatched(4, false, false, 2, 2, 2, a, 0, 4, b, 0, 0, c, 0, 2 * 2, false));
        assertBad("C runs past", () -> Gemm.sgemmBatched(4, false, false, 2, 2, 2, a, 0, 0, b, 0, 0, c, 0, 4, false));
        // Shared operands (stride 0) may be shorter than batch copies.
        Gemm.sgemmBatched(3, false, false, 2, 2, 2, a, 0, 0, b, 0, 0, c, 0, 4, false);
    }

    private static void assertBad(String fragment, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage()
                + "' should mention '" + fragment + "'");
    }

    /**
     * Inside a freeze scope a frozen B is packed once and its panels reused: the same bits as
     * without the scope, for both layouts and a ragged last panel; changing the array inside the
     * scope is not seen (which shows the panels are reused), and is seen again once it closes.
     */
    @Test
    void aFrozenOperandIsPackedOnceAndGivesTheSameBits() {
        var r = new Random(5);
        for (boolean transB : new boolean[] {false, true}) {
            int m = 40, n = 75, k = 300; // two k-blocks, a ragged last panel
            float[] a = new float[m * k], b = new float[n * k], other = new float[7];
            for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
            for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
            int ldb = transB ? k : n;
            float[] plain = new float[m * n], first = new float[m * n], again = new float[m * n], after = new float[m * n];
            Gemm.sgemm(false, transB, m, n, k, a, 0, k, b, 0, ldb, plain, 0, n, false);
            try (var frozen = Gemm.freeze(java.util.List.of(b, other))) {
                assertThrows(IllegalStateException.class, () -> Gemm.freeze(java.util.List.of(other)), "scopes do not nest");
                Gemm.sgemm(false, transB, m, n, k, a, 0, k, b, 0, ldb, first, 0, n, false);
                b[0] += 1; // a broken promise: the panels packed above are used again
                Gemm.sgemm(false, transB, m, n, k, a, 0, k, b, 0, ldb, again, 0, n, false);
            }
            Gemm.sgemm(false, transB, m, n, k, a, 0, k, b, 0, ldb, after, 0, n, false);
            // A second scope packs another array of the same size into the panels the first kept.
            float[] b2 = new float[b.length], plain2 = new float[m * n], frozen2 = new float[m * n];
            for (int i = 0; i < b2.length; i++) b2[i] = r.nextFloat() - 0.5f;
            Gemm.sgemm(false, transB, m, n, k, a, 0, k, b2, 0, ldb, plain2, 0, n, false);
            try (var again2 = Gemm.freeze(java.util.List.of(b2))) {
                Gemm.sgemm(false, transB, m, n, k, a, 0, k, b2, 0, ldb, frozen2, 0, n, false);
            }
            assertArrayEquals(plain2, frozen2, "transB " + transB + ": panels reused by the next scope hold the new array");
            assertArrayEquals(plain, first, "transB " + transB + ": packed once, the same bits");
            assertArrayEquals(plain, again, "transB " + transB + ": the kept panels were reused");
            assertTrue(after[0] != plain[0], "transB " + transB + ": after the scope the array is read again");
        }
    }
}
