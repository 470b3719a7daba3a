package org.ttt4j.core.ops;

import static org.ttt4j.core.ops.Arith.mul;
import static org.ttt4j.core.ops.Arith.sub;
import static org.ttt4j.core.ops.Arith.where;
import static org.ttt4j.core.ops.Linalg.matmul;

import java.util.Arrays;
import org.ttt4j.core.kernel.AttentionKernel;
import org.ttt4j.core.kernel.AttentionReference;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Shapes;
import org.ttt4j.core.tensor.Tensor;

/**
 * Scaled dot-product attention: causal, sliding-window (query at position i sees keys j with
 * {@code i - window < j <= i}) or unmasked. The queries are the last t of the s key positions, so
 * the same op serves prefill ({@code t == s}) and decoding against a cache ({@code t < s}).
 *
 * <p>Forward and first-order backward run fused kernels that never materialise the t x s score
 * matrix (flash-attention style, with the log-sum-exp saved for backward). When a graph is being
 * built (createGraph), the backward is written with matmul/where/softmax ops instead, so the
 * gradient is itself differentiable; both routes give the same values.
 */
public final class Attention {
    private Attention() {}

    /**
     * q [..., t, d], k [..., s, d], v [..., s, dv] with equal leading axes; result [..., t, dv].
     *
     * @param window 0 for no window, otherwise the number of key positions each query sees
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal, int window, double scale) {
        int[] qs = q.shape(), ks = k.shape(), vs = v.shape();
        int r = qs.length;
        if (r < 2 || ks.length != r || vs.length != r
                || !Arrays.equals(qs, 0, r - 2, ks, 0, r - 2) || !Arrays.equals(qs, 0, r - 2, vs, 0, r - 2)
                || qs[r - 1] != ks[r - 1] || ks[r - 2] != vs[r - 2]) {
            throw new IllegalArgumentException("attention: shapes q " + Shapes.str(qs) + ", k " + Shapes.str(ks)
                    + ", v " + Shapes.str(vs) + " do not fit [..., t, d], [..., s, d], [..., s, dv]");
        }
        int t = qs[r - 2], d = qs[r - 1], s = ks[r - 2], dv = vs[r - 1];
        if (t > s) throw new IllegalArgumentException("attention: " + t + " queries but only " + s + " keys");
        if (window < 0) throw new IllegalArgumentException("attention: negative window " + window);
        int bh = Shapes.prod(qs, 0, r - 2);
        DType dtype = DType.promote(DType.promote(q.dtype(), k.dtype()), v.dtype());
        int[] os = qs.clone();
        os[r - 1] = dv;
        Tensor out = Tensor.zeros(dtype, os);
        Tensor lse = Tensor.zeros(dtype, bh, t);
        boolean fast = Simd.enabled() && q.isFastPath() && k.isFastPath() && v.isFastPath();
        if (fast) {
            AttentionKernel.forward(bh, t, s, d, dv, causal, window, scale, q.f32(), q.offset(), k.f32(), k.offset(),
                    v.f32(), v.offset(), out.f32(), 0, lse.f32(), 0);
        } else {
            AttentionReference.forward(bh, t, s, d, dv, causal, window, scale, q.storage(), q.offset(), k.storage(),
                    k.offset(), v.storage(), v.offset(), out.storage(), 0, lse.storage(), 0);
        }
        return GradFn.record(out, "attention", g -> {
            if (GradMode.isEnabled()) return composedBackward(q, k, v, g, causal, window, scale);
            Tensor dq = Tensor.zeros(dtype, qs), dk = Tensor.zeros(dtype, ks), dvt = Tensor.zeros(dtype, vs);
            if (fast && g.isFastPath()) {
                AttentionKernel.backward(bh, t, s, d, dv, causal, window, scale, q.f32(), q.offset(), k.f32(), k.offset(),
                        v.f32(), v.offset(), out.f32(), 0, lse.f32(), 0, g.f32(), g.offset(),
                        dq.f32(), 0, dk.f32(), 0, dvt.f32(), 0);
            } else {
                AttentionReference.backward(bh, t, s, d, dv, causal, window, scale, q.storage(), q.offset(),
                        k.storage(), k.offset(), v.storage(), v.offset(), out.storage(), 0, lse.storage(), 0,
                        g.storage(), g.offset(), dq.storage(), 0, dk.storage(), 0, dvt.storage(), 0);
            }
            return new Tensor[] {dq, dk, dvt};
        }, q, k, v);
    }

    /**
     * The same attention written with ordinary ops (materialises the t x s scores): the
     * differentiable definition that the fused kernels are tested against.
     */
    public static Tensor composed(Tensor q, Tensor k, Tensor v, boolean causal, int window, double scale) {
        return matmul(probabilities(q, k, causal, window, scale), v);
    }

    /** softmax(scale q k^T) over the visible keys. */
    private static Tensor probabilities(Tensor q, Tensor k, boolean causal, int window, double scale) {
        Tensor scores = mul(matmul(q, k, false, true), scale);
        if (causal || window > 0) {
            int t = q.dim(-2), s = k.dim(-2);
            Tensor mask = Masks.visible(t, s, causal, window);
            scores = where(mask, scores, Tensor.scalar(scores.dtype(), Double.NEGATIVE_INFINITY));
        }
        return Nn.softmax(scores);
    }

    /** dV = P^T g; dS = P (g v^T - rowsum(P . g v^T)); dq = scale dS k; dk = scale dS^T q. */
    private static Tensor[] composedBackward(Tensor q, Tensor k, Tensor v, Tensor g, boolean causal, int window, double scale) {
        Tensor p = probabilities(q, k, causal, window, scale);
        Tensor dp = matmul(g, v, false, true);
        Tensor ds = mul(p, sub(dp, Reduce.sumLast(mul(dp, p))));
        return new Tensor[] {
                q.requiresGrad() ? mul(matmul(ds, k), scale) : null,
                k.requiresGrad() ? mul(matmul(ds, q, true, false), scale) : null,
                v.requiresGrad() ? matmul(p, g, true, false) : null};
    }
}
