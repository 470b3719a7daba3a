package org.ttt4j.core.kernel;

import org.ttt4j.core.tensor.Storage;

/**
 * The plain triple loop that every fast GEMM is tested against, and the path FP64 tensors and
 * {@code -Dttt4j.simd=false} take. Accumulates in double.
 *
 * <p>Layout (row-major, BLAS-like): op(A) is m x k and op(B) is k x n. Without transposition A is
 * stored m x k with row stride {@code lda}; with {@code transA} it is stored k x m (so op(A) = A^T)
 * with row stride {@code lda}. Likewise for B. C is m x n with row stride {@code ldc}.
 * With {@code accumulate} the product is added to C, otherwise C is overwritten.
 */
public final class GemmReference {
    private GemmReference() {}

    public static void gemm(boolean transA, boolean transB, int m, int n, int k,
                            Storage a, int aOff, int lda, Storage b, int bOff, int ldb,
                            Storage c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = transA ? a.get(aOff + p * lda + i) : a.get(aOff + i * lda + p);
                    double bv = transB ? b.get(bOff + j * ldb + p) : b.get(bOff + p * ldb + j);
                    s += av * bv;
                }
                int ci = cOff + i * ldc + j;
                c.set(ci, accumulate ? c.get(ci) + s : s);
            }
        }
    }
}
