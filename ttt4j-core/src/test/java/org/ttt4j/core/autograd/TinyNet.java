package org.ttt4j.core.autograd;

import static org.ttt4j.core.ops.Arith.add;
import static org.ttt4j.core.ops.Arith.mul;
import static org.ttt4j.core.ops.Linalg.matmul;

import java.util.SplittableRandom;
import org.ttt4j.core.ops.Attention;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * A one-block decoder for derivative tests: embedding, RMSNorm, RoPE attention, SwiGLU MLP, tied
 * head, cross-entropy. Parameters are passed in as an array so tests can differentiate w.r.t. them.
 */
final class TinyNet {
    static final int V = 7, D = 4, H = 2, F = 6, T = 5;
    /** Index of each parameter in the array. */
    static final int EMB = 0, N1 = 1, WQ = 2, WK = 3, WV = 4, WO = 5, N2 = 6, W1 = 7, W3 = 8, W2 = 9, NF = 10;

    private TinyNet() {}

    static Tensor[] init(long seed, DType dtype) {
        var rng = new SplittableRandom(seed);
        int[][] shapes = {{V, D}, {D}, {D, D}, {D, D}, {D, D}, {D, D}, {D}, {D, F}, {D, F}, {F, D}, {D}};
        Tensor[] p = new Tensor[shapes.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = shapes[i].length == 1
                    ? add(Tensor.randn(dtype, rng, 0.1, shapes[i]), 1.0).detach()
                    : Tensor.randn(dtype, rng, 0.5, shapes[i]);
        }
        return p;
    }

    /** Mean next-token loss of {@code ids} (T + 1 tokens). */
    static Tensor loss(Tensor[] p, int[] ids) {
        return loss(p, ids, p[W1], p[W3], p[W2]);
    }

    /** The same with the MLP weights given separately (the "fast weights" of a meta-learning test). */
    static Tensor loss(Tensor[] p, int[] ids, Tensor w1, Tensor w3, Tensor w2) {
        int[] in = java.util.Arrays.copyOf(ids, T);
        int[] target = java.util.Arrays.copyOfRange(ids, 1, T + 1);
        int[] pos = {0, 1, 2, 3, 4};
        Tensor h = Nn.embedding(p[EMB], in, T);
        Tensor x = Nn.rmsNorm(h, p[N1], 1e-6);
        Tensor q = Nn.rope(heads(matmul(x, p[WQ])), pos, 10000, true);
        Tensor k = Nn.rope(heads(matmul(x, p[WK])), pos, 10000, true);
        Tensor v = heads(matmul(x, p[WV]));
        Tensor a = Attention.attention(q, k, v, true, 0, 1 / Math.sqrt((double) D / H));
        h = add(h, matmul(Layout.reshape(Layout.permute(a, 1, 0, 2), T, D), p[WO]));
        x = Nn.rmsNorm(h, p[N2], 1e-6);
        h = add(h, matmul(mul(Maths.silu(matmul(x, w1)), matmul(x, w3)), w2));
        Tensor logits = matmul(Nn.rmsNorm(h, p[NF], 1e-6), p[EMB], false, true);
        return Nn.crossEntropyMean(logits, target, -1);
    }

    /** [T, D] -> [H, T, D/H]: heads in front of T, as rope and attention expect. */
    private static Tensor heads(Tensor t) {
        return Layout.permute(Layout.reshape(t, T, H, D / H), 1, 0, 2);
    }
}
