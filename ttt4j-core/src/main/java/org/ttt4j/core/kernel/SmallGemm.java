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

    /**
     * The reference: three loops. Each output sums its products from zero in k order, then
     * {@code c = alpha * sum (+ c)}: the vector path rounds in exactly this order.
     */
    static void scalar(boolean transA, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                       int m, int k, int n, float alpha, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int p = 0; p < k; p++) acc = Math.fma(transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p], b[bOff + p * ldb + j], acc);
                int ci = cOff + i * ldc + j;
                c[ci] = accumulate ? Math.fma(alpha, acc, c[ci]) : alpha * acc;
            }
        }
    }

    /**
     * Register blocks, largest first: 16 and then 8 rows x 1 vector when C is one vector wide (the
     * b x b products of a TTT mini-batch: 16 or 8 independent FMA chains), 6 rows x 4 vectors (24
     * accumulators; each B vector loaded once serves 6 rows), 4 rows x 4 vectors, 4 rows x 1
     * vector, then one row at a time; columns past the last whole vector go through the scalar
     * loop. A's element (i, p) sits at {@code base(i) + p * pStride}, which covers both layouts
     * without a branch in the inner loops. Every block sums each output from zero in k order and
     * then stores {@code alpha * sum (+ c)}, as the scalar reference does.
     */
    static void vector(boolean transA, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc,
                       int m, int k, int n, float alpha, boolean accumulate) {
        int pStride = transA ? lda : 1, rowStride = transA ? 1 : lda;
        int nv = n - n % L;
        int i = 0;
        if (nv == L) { // one column of vectors (the TTT mini-batch's b x b products): 16 FMA chains, then 8
            // (16 rows at a time ran 16 x 64 x 16 8-26% faster than two 8-row blocks: 8 chains of a 4-cycle FMA barely fill 2 ports)
            for (; i + 16 <= m; i += 16) {
                block16x1(a, aOff + i * rowStride, rowStride, pStride, b, bOff, ldb, c, cOff + i * ldc, ldc, k, alpha, accumulate);
            }
            for (; i + 8 <= m; i += 8) {
                block8x1(a, aOff + i * rowStride, rowStride, pStride, b, bOff, ldb, c, cOff + i * ldc, ldc, k, alpha, accumulate);
            }
        }
        if (nv >= 4 * L) { // 6 rows x 4 vectors: 24 accumulators, each B vector loaded once serves 6 rows
            for (; i + 6 <= m; i += 6) {
                int a0 = aOff + i * rowStride, j = 0;
                for (; j + 4 * L <= nv; j += 4 * L) {
                    block6x4(a, a0, rowStride, pStride, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, k, alpha, accumulate);
                }
                for (; j < nv; j += L) {
                    block4x1(a, a0, rowStride, pStride, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, k, alpha, accumulate);
                    block2x1(a, a0 + 4 * rowStride, rowStride, pStride, b, bOff + j, ldb, c, cOff + (i + 4) * ldc + j, ldc, k, alpha, accumulate);
                }
            }
        }
        for (; i + 4 <= m; i += 4) {
            int a0 = aOff + i * rowStride;
            int j = 0;
            for (; j + 4 * L <= nv; j += 4 * L) block4x4(a, a0, rowStride, pStride, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, k, alpha, accumulate);
            for (; j < nv; j += L) block4x1(a, a0, rowStride, pStride, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc, k, alpha, accumulate);
        }
        for (; i < m; i++) {
            int a0 = aOff + i * rowStride;
            for (int j = 0; j < nv; j += L) {
                FloatVector acc = FloatVector.zero(F);
                for (int p = 0; p < k; p++) acc = FloatVector.broadcast(F, a[a0 + p * pStride]).fma(FloatVector.fromArray(F, b, bOff + p * ldb + j), acc);
                int ci = cOff + i * ldc + j;
                if (accumulate) {
                    acc.fma(FloatVector.broadcast(F, alpha), FloatVector.fromArray(F, c, ci)).intoArray(c, ci);
                } else {
                    acc.mul(alpha).intoArray(c, ci);
                }
            }
        }
        if (nv < n) {
            for (int r = 0; r < m; r++) {
                int a0 = aOff + r * rowStride;
                for (int j = nv; j < n; j++) {
                    float acc = 0f;
                    for (int p = 0; p < k; p++) acc = Math.fma(a[a0 + p * pStride], b[bOff + p * ldb + j], acc);
                    int ci = cOff + r * ldc + j;
                    c[ci] = accumulate ? Math.fma(alpha, acc, c[ci]) : alpha * acc;
                }
            }
        }
    }

    private static void block4x4(float[] a, int a0, int rs, int ps, float[] b, int b0, int ldb, float[] c, int c0, int ldc, int k, float alpha,
                                 boolean accumulate) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int p = 0; p < k; p++) {
            int bi = b0 + p * ldb, ai = a0 + p * ps;
            FloatVector b0v = FloatVector.fromArray(F, b, bi), b1 = FloatVector.fromArray(F, b, bi + L);
            FloatVector b2 = FloatVector.fromArray(F, b, bi + 2 * L), b3 = FloatVector.fromArray(F, b, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(F, a[ai]);
            a00 = x.fma(b0v, a00); a01 = x.fma(b1, a01); a02 = x.fma(b2, a02); a03 = x.fma(b3, a03);
            x = FloatVector.broadcast(F, a[ai + rs]);
            a10 = x.fma(b0v, a10); a11 = x.fma(b1, a11); a12 = x.fma(b2, a12); a13 = x.fma(b3, a13);
            x = FloatVector.broadcast(F, a[ai + 2 * rs]);
            a20 = x.fma(b0v, a20); a21 = x.fma(b1, a21); a22 = x.fma(b2, a22); a23 = x.fma(b3, a23);
            x = FloatVector.broadcast(F, a[ai + 3 * rs]);
            a30 = x.fma(b0v, a30); a31 = x.fma(b1, a31); a32 = x.fma(b2, a32); a33 = x.fma(b3, a33);
        }
        // c = alpha * acc (+ c), lane by lane as the scalar reference rounds it. The stores are written
        // out in every block rather than through a helper: this block reaches C2's node-count inlining
        // cutoff, and a helper left out of line receives its vector boxed (an allocation per store).
        int c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        if (accumulate) {
            FloatVector al = FloatVector.broadcast(F, alpha);
            a00.fma(al, FloatVector.fromArray(F, c, c0)).intoArray(c, c0);
            a01.fma(al, FloatVector.fromArray(F, c, c0 + L)).intoArray(c, c0 + L);
            a02.fma(al, FloatVector.fromArray(F, c, c0 + 2 * L)).intoArray(c, c0 + 2 * L);
            a03.fma(al, FloatVector.fromArray(F, c, c0 + 3 * L)).intoArray(c, c0 + 3 * L);
            a10.fma(al, FloatVector.fromArray(F, c, c1)).intoArray(c, c1);
            a11.fma(al, FloatVector.fromArray(F, c, c1 + L)).intoArray(c, c1 + L);
            a12.fma(al, FloatVector.fromArray(F, c, c1 + 2 * L)).intoArray(c, c1 + 2 * L);
            a13.fma(al, FloatVector.fromArray(F, c, c1 + 3 * L)).intoArray(c, c1 + 3 * L);
            a20.fma(al, FloatVector.fromArray(F, c, c2)).intoArray(c, c2);
            a21.fma(al, FloatVector.fromArray(F, c, c2 + L)).intoArray(c, c2 + L);
            a22.fma(al, FloatVector.fromArray(F, c, c2 + 2 * L)).intoArray(c, c2 + 2 * L);
            a23.fma(al, FloatVector.fromArray(F, c, c2 + 3 * L)).intoArray(c, c2 + 3 * L);
            a30.fma(al, FloatVector.fromArray(F, c, c3)).intoArray(c, c3);
            a31.fma(al, FloatVector.fromArray(F, c, c3 + L)).intoArray(c, c3 + L);
            a32.fma(al, FloatVector.fromArray(F, c, c3 + 2 * L)).intoArray(c, c3 + 2 * L);
            a33.fma(al, FloatVector.fromArray(F, c, c3 + 3 * L)).intoArray(c, c3 + 3 * L);
        } else {
            a00.mul(alpha).intoArray(c, c0);
            a01.mul(alpha).intoArray(c, c0 + L);
            a02.mul(alpha).intoArray(c, c0 + 2 * L);
            a03.mul(alpha).intoArray(c, c0 + 3 * L);
            a10.mul(alpha).intoArray(c, c1);
            a11.mul(alpha).intoArray(c, c1 + L);
            a12.mul(alpha).intoArray(c, c1 + 2 * L);
            a13.mul(alpha).intoArray(c, c1 + 3 * L);
            a20.mul(alpha).intoArray(c, c2);
            a21.mul(alpha).intoArray(c, c2 + L);
            a22.mul(alpha).intoArray(c, c2 + 2 * L);
            a23.mul(alpha).intoArray(c, c2 + 3 * L);
            a30.mul(alpha).intoArray(c, c3);
            a31.mul(alpha).intoArray(c, c3 + L);
            a32.mul(alpha).intoArray(c, c3 + 2 * L);
            a33.mul(alpha).intoArray(c, c3 + 3 * L);
        }
    }

    private static void block4x1(float[] a, int a0, int rs, int ps, float[] b, int b0, int ldb, float[] c, int c0, int ldc, int k, float alpha,
                                 boolean accumulate) {
        FloatVector r0 = FloatVector.zero(F), r1 = r0, r2 = r0, r3 = r0;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(F, b, b0 + p * ldb);
            int ai = a0 + p * ps;
            r0 = FloatVector.broadcast(F, a[ai]).fma(bv, r0);
            r1 = FloatVector.broadcast(F, a[ai + rs]).fma(bv, r1);
            r2 = FloatVector.broadcast(F, a[ai + 2 * rs]).fma(bv, r2);
            r3 = FloatVector.broadcast(F, a[ai + 3 * rs]).fma(bv, r3);
        }
        if (accumulate) {
            FloatVector al = FloatVector.broadcast(F, alpha);
            r0.fma(al, FloatVector.fromArray(F, c, c0)).intoArray(c, c0);
            r1.fma(al, FloatVector.fromArray(F, c, c0 + ldc)).intoArray(c, c0 + ldc);
            r2.fma(al, FloatVector.fromArray(F, c, c0 + 2 * ldc)).intoArray(c, c0 + 2 * ldc);
            r3.fma(al, FloatVector.fromArray(F, c, c0 + 3 * ldc)).intoArray(c, c0 + 3 * ldc);
        } else {
            r0.mul(alpha).intoArray(c, c0);
            r1.mul(alpha).intoArray(c, c0 + ldc);
            r2.mul(alpha).intoArray(c, c0 + 2 * ldc);
            r3.mul(alpha).intoArray(c, c0 + 3 * ldc);
        }
    }

    private static void block8x1(float[] a, int a0, int rs, int ps, float[] b, int b0, int ldb, float[] c, int c0, int ldc, int k, float alpha,
                                 boolean accumulate) {
        FloatVector r0 = FloatVector.zero(F), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(F, b, b0 + p * ldb);
            int ai = a0 + p * ps;
            r0 = FloatVector.broadcast(F, a[ai]).fma(bv, r0);
            r1 = FloatVector.broadcast(F, a[ai + rs]).fma(bv, r1);
            r2 = FloatVector.broadcast(F, a[ai + 2 * rs]).fma(bv, r2);
            r3 = FloatVector.broadcast(F, a[ai + 3 * rs]).fma(bv, r3);
            r4 = FloatVector.broadcast(F, a[ai + 4 * rs]).fma(bv, r4);
            r5 = FloatVector.broadcast(F, a[ai + 5 * rs]).fma(bv, r5);
            r6 = FloatVector.broadcast(F, a[ai + 6 * rs]).fma(bv, r6);
            r7 = FloatVector.broadcast(F, a[ai + 7 * rs]).fma(bv, r7);
        }
        if (accumulate) {
            FloatVector al = FloatVector.broadcast(F, alpha);
            r0.fma(al, FloatVector.fromArray(F, c, c0)).intoArray(c, c0);
            r1.fma(al, FloatVector.fromArray(F, c, c0 + ldc)).intoArray(c, c0 + ldc);
            r2.fma(al, FloatVector.fromArray(F, c, c0 + 2 * ldc)).intoArray(c, c0 + 2 * ldc);
            r3.fma(al, FloatVector.fromArray(F, c, c0 + 3 * ldc)).intoArray(c, c0 + 3 * ldc);
            r4.fma(al, FloatVector.fromArray(F, c, c0 + 4 * ldc)).intoArray(c, c0 + 4 * ldc);
            r5.fma(al, FloatVector.fromArray(F, c, c0 + 5 * ldc)).intoArray(c, c0 + 5 * ldc);
            r6.fma(al, FloatVector.fromArray(F, c, c0 + 6 * ldc)).intoArray(c, c0 + 6 * ldc);
            r7.fma(al, FloatVector.fromArray(F, c, c0 + 7 * ldc)).intoArray(c, c0 + 7 * ldc);
        } else {
            r0.mul(alpha).intoArray(c, c0);
            r1.mul(alpha).intoArray(c, c0 + ldc);
            r2.mul(alpha).intoArray(c, c0 + 2 * ldc);
            r3.mul(alpha).intoArray(c, c0 + 3 * ldc);
            r4.mul(alpha).intoArray(c, c0 + 4 * ldc);
            r5.mul(alpha).intoArray(c, c0 + 5 * ldc);
            r6.mul(alpha).intoArray(c, c0 + 6 * ldc);
            r7.mul(alpha).intoArray(c, c0 + 7 * ldc);
        }
    }

    private static void block6x4(float[] a, int a0, int rs, int ps, float[] b, int b0, int ldb, float[] c, int c0, int ldc, int k, float alpha,
                                 boolean accumulate) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        FloatVector a40 = a00, a41 = a00, a42 = a00, a43 = a00, a50 = a00, a51 = a00, a52 = a00, a53 = a00;
        for (int p = 0; p < k; p++) {
            int bi = b0 + p * ldb, ai = a0 + p * ps;
            FloatVector b0v = FloatVector.fromArray(F, b, bi), b1 = FloatVector.fromArray(F, b, bi + L);
            FloatVector b2 = FloatVector.fromArray(F, b, bi + 2 * L), b3 = FloatVector.fromArray(F, b, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(F, a[ai]);
            a00 = x.fma(b0v, a00); a01 = x.fma(b1, a01); a02 = x.fma(b2, a02); a03 = x.fma(b3, a03);
            x = FloatVector.broadcast(F, a[ai + rs]);
            a10 = x.fma(b0v, a10); a11 = x.fma(b1, a11); a12 = x.fma(b2, a12); a13 = x.fma(b3, a13);
            x = FloatVector.broadcast(F, a[ai + 2 * rs]);
            a20 = x.fma(b0v, a20); a21 = x.fma(b1, a21); a22 = x.fma(b2, a22); a23 = x.fma(b3, a23);
            x = FloatVector.broadcast(F, a[ai + 3 * rs]);
            a30 = x.fma(b0v, a30); a31 = x.fma(b1, a31); a32 = x.fma(b2, a32); a33 = x.fma(b3, a33);
            x = FloatVector.broadcast(F, a[ai + 4 * rs]);
            a40 = x.fma(b0v, a40); a41 = x.fma(b1, a41); a42 = x.fma(b2, a42); a43 = x.fma(b3, a43);
            x = FloatVector.broadcast(F, a[ai + 5 * rs]);
            a50 = x.fma(b0v, a50); a51 = x.fma(b1, a51); a52 = x.fma(b2, a52); a53 = x.fma(b3, a53);
        }
        if (accumulate) {
            FloatVector al = FloatVector.broadcast(F, alpha);
            int r0 = c0;
            a00.fma(al, FloatVector.fromArray(F, c, r0)).intoArray(c, r0);
            a01.fma(al, FloatVector.fromArray(F, c, r0 + L)).intoArray(c, r0 + L);
            a02.fma(al, FloatVector.fromArray(F, c, r0 + 2 * L)).intoArray(c, r0 + 2 * L);
            a03.fma(al, FloatVector.fromArray(F, c, r0 + 3 * L)).intoArray(c, r0 + 3 * L);
            int r1 = c0 + ldc;
            a10.fma(al, FloatVector.fromArray(F, c, r1)).intoArray(c, r1);
            a11.fma(al, FloatVector.fromArray(F, c, r1 + L)).intoArray(c, r1 + L);
            a12.fma(al, FloatVector.fromArray(F, c, r1 + 2 * L)).intoArray(c, r1 + 2 * L);
            a13.fma(al, FloatVector.fromArray(F, c, r1 + 3 * L)).intoArray(c, r1 + 3 * L);
            int r2 = c0 + 2 * ldc;
            a20.fma(al, FloatVector.fromArray(F, c, r2)).intoArray(c, r2);
            a21.fma(al, FloatVector.fromArray(F, c, r2 + L)).intoArray(c, r2 + L);
            a22.fma(al, FloatVector.fromArray(F, c, r2 + 2 * L)).intoArray(c, r2 + 2 * L);
            a23.fma(al, FloatVector.fromArray(F, c, r2 + 3 * L)).intoArray(c, r2 + 3 * L);
            int r3 = c0 + 3 * ldc;
            a30.fma(al, FloatVector.fromArray(F, c, r3)).intoArray(c, r3);
            a31.fma(al, FloatVector.fromArray(F, c, r3 + L)).intoArray(c, r3 + L);
            a32.fma(al, FloatVector.fromArray(F, c, r3 + 2 * L)).intoArray(c, r3 + 2 * L);
            a33.fma(al, FloatVector.fromArray(F, c, r3 + 3 * L)).intoArray(c, r3 + 3 * L);
            int r4 = c0 + 4 * ldc;
            a40.fma(al, FloatVector.fromArray(F, c, r4)).intoArray(c, r4);
            a41.fma(al, FloatVector.fromArray(F, c, r4 + L)).intoArray(c, r4 + L);
            a42.fma(al, FloatVector.fromArray(F, c, r4 + 2 * L)).intoArray(c, r4 + 2 * L);
            a43.fma(al, FloatVector.fromArray(F, c, r4 + 3 * L)).intoArray(c, r4 + 3 * L);
            int r5 = c0 + 5 * ldc;
            a50.fma(al, FloatVector.fromArray(F, c, r5)).intoArray(c, r5);
            a51.fma(al, FloatVector.fromArray(F, c, r5 + L)).intoArray(c, r5 + L);
            a52.fma(al, FloatVector.fromArray(F, c, r5 + 2 * L)).intoArray(c, r5 + 2 * L);
            a53.fma(al, FloatVector.fromArray(F, c, r5 + 3 * L)).intoArray(c, r5 + 3 * L);
        } else {
            int r0 = c0;
            a00.mul(alpha).intoArray(c, r0);
            a01.mul(alpha).intoArray(c, r0 + L);
            a02.mul(alpha).intoArray(c, r0 + 2 * L);
            a03.mul(alpha).intoArray(c, r0 + 3 * L);
            int r1 = c0 + ldc;
            a10.mul(alpha).intoArray(c, r1);
            a11.mul(alpha).intoArray(c, r1 + L);
            a12.mul(alpha).intoArray(c, r1 + 2 * L);
            a13.mul(alpha).intoArray(c, r1 + 3 * L);
            int r2 = c0 + 2 * ldc;
            a20.mul(alpha).intoArray(c, r2);
            a21.mul(alpha).intoArray(c, r2 + L);
            a22.mul(alpha).intoArray(c, r2 + 2 * L);
            a23.mul(alpha).intoArray(c, r2 + 3 * L);
            int r3 = c0 + 3 * ldc;
            a30.mul(alpha).intoArray(c, r3);
            a31.mul(alpha).intoArray(c, r3 + L);
            a32.mul(alpha).intoArray(c, r3 + 2 * L);
            a33.mul(alpha).intoArray(c, r3 + 3 * L);
            int r4 = c0 + 4 * ldc;
            a40.mul(alpha).intoArray(c, r4);
            a41.mul(alpha).intoArray(c, r4 + L);
            a42.mul(alpha).intoArray(c, r4 + 2 * L);
            a43.mul(alpha).intoArray(c, r4 + 3 * L);
            int r5 = c0 + 5 * ldc;
            a50.mul(alpha).intoArray(c, r5);
            a51.mul(alpha).intoArray(c, r5 + L);
            a52.mul(alpha).intoArray(c, r5 + 2 * L);
            a53.mul(alpha).intoArray(c, r5 + 3 * L);
        }
    }

    private static void block16x1(float[] a, int a0, int rs, int ps, float[] b, int b0, int ldb, float[] c, int c0, int ldc, int k, float alpha,
                                 boolean accumulate) {
        FloatVector r0 = FloatVector.zero(F), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0;
        FloatVector r8 = r0, r9 = r0, r10 = r0, r11 = r0, r12 = r0, r13 = r0, r14 = r0, r15 = r0;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(F, b, b0 + p * ldb);
            int ai = a0 + p * ps;
            r0 = FloatVector.broadcast(F, a[ai]).fma(bv, r0);
            r1 = FloatVector.broadcast(F, a[ai + rs]).fma(bv, r1);
            r2 = FloatVector.broadcast(F, a[ai + 2 * rs]).fma(bv, r2);
            r3 = FloatVector.broadcast(F, a[ai + 3 * rs]).fma(bv, r3);
            r4 = FloatVector.broadcast(F, a[ai + 4 * rs]).fma(bv, r4);
            r5 = FloatVector.broadcast(F, a[ai + 5 * rs]).fma(bv, r5);
            r6 = FloatVector.broadcast(F, a[ai + 6 * rs]).fma(bv, r6);
            r7 = FloatVector.broadcast(F, a[ai + 7 * rs]).fma(bv, r7);
            r8 = FloatVector.broadcast(F, a[ai + 8 * rs]).fma(bv, r8);
            r9 = FloatVector.broadcast(F, a[ai + 9 * rs]).fma(bv, r9);
            r10 = FloatVector.broadcast(F, a[ai + 10 * rs]).fma(bv, r10);
            r11 = FloatVector.broadcast(F, a[ai + 11 * rs]).fma(bv, r11);
            r12 = FloatVector.broadcast(F, a[ai + 12 * rs]).fma(bv, r12);
            r13 = FloatVector.broadcast(F, a[ai + 13 * rs]).fma(bv, r13);
            r14 = FloatVector.broadcast(F, a[ai + 14 * rs]).fma(bv, r14);
            r15 = FloatVector.broadcast(F, a[ai + 15 * rs]).fma(bv, r15);
        }
        if (accumulate) {
            FloatVector al = FloatVector.broadcast(F, alpha);
            r0.fma(al, FloatVector.fromArray(F, c, c0)).intoArray(c, c0);
            r1.fma(al, FloatVector.fromArray(F, c, c0 + ldc)).intoArray(c, c0 + ldc);
            r2.fma(al, FloatVector.fromArray(F, c, c0 + 2 * ldc)).intoArray(c, c0 + 2 * ldc);
            r3.fma(al, FloatVector.fromArray(F, c, c0 + 3 * ldc)).intoArray(c, c0 + 3 * ldc);
            r4.fma(al, FloatVector.fromArray(F, c, c0 + 4 * ldc)).intoArray(c, c0 + 4 * ldc);
            r5.fma(al, FloatVector.fromArray(F, c, c0 + 5 * ldc)).intoArray(c, c0 + 5 * ldc);
            r6.fma(al, FloatVector.fromArray(F, c, c0 + 6 * ldc)).intoArray(c, c0 + 6 * ldc);
            r7.fma(al, FloatVector.fromArray(F, c, c0 + 7 * ldc)).intoArray(c, c0 + 7 * ldc);
            r8.fma(al, FloatVector.fromArray(F, c, c0 + 8 * ldc)).intoArray(c, c0 + 8 * ldc);
            r9.fma(al, FloatVector.fromArray(F, c, c0 + 9 * ldc)).intoArray(c, c0 + 9 * ldc);
            r10.fma(al, FloatVector.fromArray(F, c, c0 + 10 * ldc)).intoArray(c, c0 + 10 * ldc);
            r11.fma(al, FloatVector.fromArray(F, c, c0 + 11 * ldc)).intoArray(c, c0 + 11 * ldc);
            r12.fma(al, FloatVector.fromArray(F, c, c0 + 12 * ldc)).intoArray(c, c0 + 12 * ldc);
            r13.fma(al, FloatVector.fromArray(F, c, c0 + 13 * ldc)).intoArray(c, c0 + 13 * ldc);
            r14.fma(al, FloatVector.fromArray(F, c, c0 + 14 * ldc)).intoArray(c, c0 + 14 * ldc);
            r15.fma(al, FloatVector.fromArray(F, c, c0 + 15 * ldc)).intoArray(c, c0 + 15 * ldc);
            return;
        }
        r0.mul(alpha).intoArray(c, c0);
        r1.mul(alpha).intoArray(c, c0 + ldc);
        r2.mul(alpha).intoArray(c, c0 + 2 * ldc);
        r3.mul(alpha).intoArray(c, c0 + 3 * ldc);
        r4.mul(alpha).intoArray(c, c0 + 4 * ldc);
        r5.mul(alpha).intoArray(c, c0 + 5 * ldc);
        r6.mul(alpha).intoArray(c, c0 + 6 * ldc);
        r7.mul(alpha).intoArray(c, c0 + 7 * ldc);
        r8.mul(alpha).intoArray(c, c0 + 8 * ldc);
        r9.mul(alpha).intoArray(c, c0 + 9 * ldc);
        r10.mul(alpha).intoArray(c, c0 + 10 * ldc);
        r11.mul(alpha).intoArray(c, c0 + 11 * ldc);
        r12.mul(alpha).intoArray(c, c0 + 12 * ldc);
        r13.mul(alpha).intoArray(c, c0 + 13 * ldc);
        r14.mul(alpha).intoArray(c, c0 + 14 * ldc);
        r15.mul(alpha).intoArray(c, c0 + 15 * ldc);
    }

    private static void block2x1(float[] a, int a0, int rs, int ps, float[] b, int b0, int ldb, float[] c, int c0, int ldc, int k, float alpha,
                                 boolean accumulate) {
        FloatVector r0 = FloatVector.zero(F), r1 = r0;
        for (int p = 0; p < k; p++) {
            FloatVector bv = FloatVector.fromArray(F, b, b0 + p * ldb);
            int ai = a0 + p * ps;
            r0 = FloatVector.broadcast(F, a[ai]).fma(bv, r0);
            r1 = FloatVector.broadcast(F, a[ai + rs]).fma(bv, r1);
        }
        if (accumulate) {
            FloatVector al = FloatVector.broadcast(F, alpha);
            r0.fma(al, FloatVector.fromArray(F, c, c0)).intoArray(c, c0);
            r1.fma(al, FloatVector.fromArray(F, c, c0 + ldc)).intoArray(c, c0 + ldc);
        } else {
            r0.mul(alpha).intoArray(c, c0);
            r1.mul(alpha).intoArray(c, c0 + ldc);
        }
    }
}
