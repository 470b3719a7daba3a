package org.ttt4j.core.ops;

import java.util.Arrays;
import org.ttt4j.core.kernel.Gemm;
import org.ttt4j.core.kernel.GemmReference;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.Shapes;
import org.ttt4j.core.tensor.Tensor;

/** Matrix products. Transposed operands are read in place by the GEMM kernel, never copied. */
public final class Linalg {
    private Linalg() {}

    /** a @ b. */
    public static Tensor matmul(Tensor a, Tensor b) {
        return matmul(a, b, false, false);
    }

    /**
     * op(a) @ op(b), where op transposes the last two axes when its flag is set.
     *
     * <p>Shapes: a is [..., m, k] (or [..., k, m] with transA), b is [..., k, n] (or [..., n, k]
     * with transB); the result is [..., m, n]. Batch axes must be equal, except that a 2-D b is
     * shared by every batch entry of a (the linear-layer case). No other broadcasting.
     */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        int[] as = a.shape(), bs = b.shape();
        if (as.length < 2 || bs.length < 2) {
            throw new IllegalArgumentException("matmul: operands need at least 2 dims, got " + Shapes.str(as) + " and " + Shapes.str(bs));
        }
        // A shared 2-D weight: fold a's batch axes into its rows, one big GEMM.
        if (bs.length == 2 && as.length > 2 && !transA) {
            int k = as[as.length - 1];
            int[] outShape = as.clone();
            Tensor flat = Layout.reshape(a, -1, k);
            Tensor r = matmul(flat, b, false, transB);
            outShape[outShape.length - 1] = r.dim(1);
            return Layout.reshape(r, outShape);
        }
        if (as.length != bs.length || !Arrays.equals(as, 0, as.length - 2, bs, 0, bs.length - 2)) {
            throw new IllegalArgumentException("matmul: batch axes of " + Shapes.str(as) + " and " + Shapes.str(bs) + " differ");
        }
        int r = as.length;
        int m = transA ? as[r - 1] : as[r - 2], ka = transA ? as[r - 2] : as[r - 1];
        int kb = transB ? bs[r - 1] : bs[r - 2], n = transB ? bs[r - 2] : bs[r - 1];
        if (ka != kb) {
            throw new IllegalArgumentException("matmul: inner sizes differ: " + Shapes.str(as) + (transA ? "^T" : "")
                    + " @ " + Shapes.str(bs) + (transB ? "^T" : ""));
        }
        int batch = Shapes.prod(as, 0, r - 2);
        int[] os = as.clone();
        os[r - 2] = m;
        os[r - 1] = n;
        Tensor out = Tensor.zeros(DType.promote(a.dtype(), b.dtype()), os);
        gemm(batch, transA, transB, m, n, ka, a, b, out);
        return GradFn.record(out, "matmul", g -> new Tensor[] {
                a.requiresGrad() ? (transA ? matmul(b, g, transB, true) : matmul(g, b, false, !transB)) : null,
                b.requiresGrad() ? (transB ? matmul(g, a, true, transA) : matmul(a, g, !transA, false)) : null}, a, b);
    }

    private static void gemm(int batch, boolean transA, boolean transB, int m, int n, int k, Tensor a, Tensor b, Tensor c) {
        int lda = transA ? m : k, ldb = transB ? k : n;
        if (Simd.enabled() && a.isFastPath() && b.isFastPath() && c.isFastPath()) {
            Gemm.sgemmBatched(batch, transA, transB, m, n, k, a.f32(), a.offset(), m * k, b.f32(), b.offset(), k * n,
                    c.f32(), c.offset(), m * n, false);
            return;
        }
        for (int i = 0; i < batch; i++) {
            GemmReference.gemm(transA, transB, m, n, k, a.storage(), a.offset() + i * m * k, lda,
                    b.storage(), b.offset() + i * k * n, ldb, c.storage(), c.offset() + i * m * n, n, false);
        }
    }
}
