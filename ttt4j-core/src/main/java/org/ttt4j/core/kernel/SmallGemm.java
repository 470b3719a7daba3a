package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products of the small, L1-resident sizes inside fused kernels (the TTT mini-batch: 16 x 64
 * times 64 x 64), on plain arrays, single-threaded: the caller parallelises over independent
 * problems. No packing: at these sizes everything stays in L1 and packing would cost more than it
 * saves. {@code C[m x n] = alpha op(A)[m x k] B[k x n] (+ C)}, B and C row-major, A row-major or
 * read transposed.
 */
public final class SmallGemm {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();

    private SmallGemm() {}

    /**
     * @param transA op(A)(i, p) = transA ? a[aOff + p lda + i] : a[aOff + i lda + p]
     * @param accumulate add to C instead of overwriting it
     */
    public static void mm(boolean transA, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                          int m, int k, int n, float alpha, boolean accumulate) {
        if (Simd.enabled() && n >= L) {
            vector(transA, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, m, k, n, alpha, accumulate);
        } else {
            scalar(transA, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, m, k, n, alpha, accumulate);
        }
    }

    /** The reference: three loops, one multiply-add at a time, in the same order as the vector path. */
    static void scalar(boolean transA, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                       int m, int k, int n, float alpha, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float acc = accumulate ? c[cOff + i * ldc + j] : 0f;
                for (int p = 0; p < k; p++) {
                    float av = alpha * (transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p]);
                    acc = Math.fma(av, b[bOff + p * ldb + j], acc);
                }
                c[cOff + i * ldc + j] = acc;
            }
        }
    }

    private static float at(boolean transA, float[] a, int aOff, int lda, int i, int p) {
        return transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
    }

    /**
     * Register blocking of 4 rows x 4 vectors (16 accumulators; each B vector loaded once serves 4
     * rows), then 4 rows x 1 vector, then one row at a time; columns past the last whole vector
     * go through the scalar loop.
     */
    static void vector(boolean transA, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                       int m, int k, int n, float alpha, boolean accumulate) {
        int nv = n - n % L;
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            int j = 0;
            for (; j + 4 * L <= nv; j += 4 * L) block4x4(transA, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, i, j, k, alpha, accumulate);
            for (; j < nv; j += L) block4x1(transA, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, i, j, k, alpha, accumulate);
        }
        for (; i < m; i++) {
            for (int j = 0; j < nv; j += L) {
                int ci = cOff + i * ldc + j;
                FloatVector acc = accumulate ? FloatVector.fromArray(F, c, ci) : FloatVector.zero(F);
                for (int p = 0; p < k; p++) {
                    acc = FloatVector.broadcast(F, alpha * at(transA, a, aOff, lda, i, p)).fma(FloatVector.fromArray(F, b, bOff + p * ldb + j), acc);
                }
                acc.intoArray(c, ci);
            }
        }
        if (nv < n) scalarColumns(transA, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, m, k, nv, n, alpha, accumulate);
    }

    private static void scalarColumns(boolean transA, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff,
                                      int ldc, int m, int k, int from, int to, float alpha, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = from; j < to; j++) {
                float acc = accumulate ? c[cOff + i * ldc + j] : 0f;
                for (int p = 0; p < k; p++) acc = Math.fma(alpha * at(transA, a, aOff, lda, i, p), b[bOff + p * ldb + j], acc);
                c[cOff + i * ldc + j] = acc;
            }
        }
    }

    private static void block4x4(boolean transA, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                                 int i, int j, int k, float alpha, boolean accumulate) {
        int c0 = cOff + i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = accumulate ? FloatVector.fromArray(F, c, c0) : z, a01 = accumulate ? FloatVector.fromArray(F, c, c0 + L) : z;
        FloatVector a02 = accumulate ? FloatVector.fromArray(F, c, c0 + 2 * L) : z, a03 = accumulate ? FloatVector.fromArray(F, c, c0 + 3 * L) : z;
        FloatVector a10 = accumulate ? FloatVector.fromArray(F, c, c1) : z, a11 = accumulate ? FloatVector.fromArray(F, c, c1 + L) : z;
        FloatVector a12 = accumulate ? FloatVector.fromArray(F, c, c1 + 2 * L) : z, a13 = accumulate ? FloatVector.fromArray(F, c, c1 + 3 * L) : z;
        FloatVector a20 = accumulate ? FloatVector.fromArray(F, c, c2) : z, a21 = accumulate ? FloatVector.fromArray(F, c, c2 + L) : z;
        FloatVector a22 = accumulate ? FloatVector.fromArray(F, c, c2 + 2 * L) : z, a23 = accumulate ? FloatVector.fromArray(F, c, c2 + 3 * L) : z;
        FloatVector a30 = accumulate ? FloatVector.fromArray(F, c, c3) : z, a31 = accumulate ? FloatVector.fromArray(F, c, c3 + L) : z;
        FloatVector a32 = accumulate ? FloatVector.fromArray(F, c, c3 + 2 * L) : z, a33 = accumulate ? FloatVector.fromArray(F, c, c3 + 3 * L) : z;
        for (int p = 0; p < k; p++) {
            int bi = bOff + p * ldb + j;
            FloatVector b0 = FloatVector.fromArray(F, b, bi), b1 = FloatVector.fromArray(F, b, bi + L);
            FloatVector b2 = FloatVector.fromArray(F, b, bi + 2 * L), b3 = FloatVector.fromArray(F, b, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(F, alpha * at(transA, a, aOff, lda, i, p));
            a00 = x.fma(b0, a00); a01 = x.fma(b1, a01); a02 = x.fma(b2, a02); a03 = x.fma(b3, a03);
            x = FloatVector.broadcast(F, alpha * at(transA, a, aOff, lda, i + 1, p));
            a10 = x.fma(b0, a10); a11 = x.fma(b1, a11); a12 = x.fma(b2, a12); a13 = x.fma(b3, a13);
            x = FloatVector.broadcast(F, alpha * at(transA, a, aOff, lda, i + 2, p));
            a20 = x.fma(b0, a20); a21 = x.fma(b1, a21); a22 = x.fma(b2, a22); a23 = x.fma(b3, a23);
            x = FloatVector.broadcast(F, alpha * at(transA, a, aOff, lda, i + 3, p));
            a30 = x.fma(b0, a30); a31 = x.fma(b1, a31); a32 = x.fma(b2, a32); a33 = x.fma(b3, a33);
        }
        a00.intoArray(c, c0); a01.intoArray(c, c0 + L); a02.intoArray(c, c0 + 2 * L); a03.intoArray(c, c0 + 3 * L);
        a10.intoArray(c, c1); a11.intoArray(c, c1 + L); a12.intoArray(c, c1 + 2 * L); a13.intoArray(c, c1 + 3 * L);
        a20.intoArray(c, c2); a21.intoArray(c, c2 + L); a22.intoArray(c, c2 + 2 * L); a23.intoArray(c, c2 + 3 * L);
        a30.intoArray(c, c3); a31.intoArray(c, c3 + L); a32.intoArray(c, c3 + 2 * L); a33.intoArray(c, c3 + 3 * L);
    }

    private static void block4x1(boolean transA, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                                 int i, int j, int k, float alpha, boolean accumulate) {
        int c0 = cOff + i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = accumulate ? FloatVector.fromArray(F, c, c0) : z, a1 = accumulate ? FloatVector.fromArray(F, c, c1) : z;
        FloatVector a2 = accumulate ? FloatVector.fromArray(F, c, c2) : z, a3 = accumulate ? FloatVector.fromArray(F, c, c3) : z;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(F, b, bOff + p * ldb + j);
            a0 = FloatVector.broadcast(F, alpha * at(transA, a, aOff, lda, i, p)).fma(bv, a0);
            a1 = FloatVector.broadcast(F, alpha * at(transA, a, aOff, lda, i + 1, p)).fma(bv, a1);
            a2 = FloatVector.broadcast(F, alpha * at(transA, a, aOff, lda, i + 2, p)).fma(bv, a2);
            a3 = FloatVector.broadcast(F, alpha * at(transA, a, aOff, lda, i + 3, p)).fma(bv, a3);
        }
        a0.intoArray(c, c0); a1.intoArray(c, c1); a2.intoArray(c, c2); a3.intoArray(c, c3);
    }
}
