package org.ttt4j.core.kernel;

import org.ttt4j.core.tensor.Storage;

/** TEMPORARY: replaced by the packed SIMD GEMM. */
public final class Gemm {
    private Gemm() {}

    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, int lda,
                             float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        GemmReference.gemm(transA, transB, m, n, k, new Storage.F32(a), aOff, lda, new Storage.F32(b), bOff, ldb,
                new Storage.F32(c), cOff, ldc, accumulate);
    }

    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
                                    float[] a, int aOff, int strideA, float[] b, int bOff, int strideB,
                                    float[] c, int cOff, int strideC, boolean accumulate) {
        for (int i = 0; i < batch; i++) {
            sgemm(transA, transB, m, n, k, a, aOff + i * strideA, transA ? m : k, b, bOff + i * strideB,
                    transB ? k : n, c, cOff + i * strideC, n, accumulate);
        }
    }
}
