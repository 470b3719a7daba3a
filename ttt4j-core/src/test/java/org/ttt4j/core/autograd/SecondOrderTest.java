package org.ttt4j.core.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * Second-order checks on a small network: Hessian-vector products against finite differences of
 * gradients, and a one-step meta-gradient (the shape of TTT-E2E's outer loop) against finite
 * differences of the whole inner-then-outer computation.
 */
class SecondOrderTest {
    private static final int[] BATCH1 = {1, 4, 2, 6, 0, 3};
    private static final int[] BATCH2 = {5, 2, 2, 1, 6, 4};

    private static Tensor[] leaves(Tensor[] p) {
        Tensor[] r = new Tensor[p.length];
        for (int i = 0; i < p.length; i++) r[i] = p[i].copy().requiresGrad(true);
        return r;
    }

    private static Tensor[] gradAt(Tensor[] p) {
        Tensor[] x = leaves(p);
        return Autograd.grad(TinyNet.loss(x, BATCH1), x, false);
    }

    @Test
    void hessianVectorProductMatchesFiniteDifferencesOfGradients() {
        Tensor[] p = TinyNet.init(1, DType.FP64);
        var rng = new SplittableRandom(9);
        Tensor[] v = new Tensor[p.length];
        for (int i = 0; i < p.length; i++) v[i] = Tensor.randn(DType.FP64, rng, 1, p[i].shape());

        Tensor[] x = leaves(p);
        Tensor[] g = Autograd.grad(TinyNet.loss(x, BATCH1), x, true);
        Tensor gv = null;
        for (int i = 0; i < x.length; i++) {
            Tensor term = Reduce.sum(Arith.mul(g[i], v[i]));
            gv = gv == null ? term : Arith.add(gv, term);
        }
        Tensor[] hv = Autograd.grad(gv, x, false);

        double eps = 1e-5;
        Tensor[] plus = new Tensor[p.length], minus = new Tensor[p.length];
        for (int i = 0; i < p.length; i++) {
            plus[i] = Arith.add(p[i], Arith.mul(v[i], eps)).detach();
            minus[i] = Arith.add(p[i], Arith.mul(v[i], -eps)).detach();
        }
        Tensor[] gp = gradAt(plus), gm = gradAt(minus);
        double worst = 0, scale = 0;
        for (int i = 0; i < p.length; i++) {
            for (int e = 0; e < p[i].size(); e++) {
                double numeric = (gp[i].get(e) - gm[i].get(e)) / (2 * eps);
                worst = Math.max(worst, Math.abs(numeric - hv[i].get(e)));
                scale = Math.max(scale, Math.abs(numeric));
            }
        }
        assertTrue(scale > 1e-3, "the Hessian-vector product is not trivially zero");
        assertTrue(worst <= 1e-7 * Math.max(1, scale), "max |Hv - FD| = " + worst + " (scale " + scale + ")");
    }

    /**
     * W1 = W0 - lr grad_W0 L1(W0, theta); meta-loss L2(W1, theta). Its gradient w.r.t. W0 (the MLP)
     * and theta (every other parameter) flows through the inner gradient: checked element-wise
     * against central differences.
     */
    @Test
    void oneStepMetaGradientMatchesFiniteDifferences() {
        Tensor[] p = TinyNet.init(2, DType.FP64);
        var r = GradCheck.firstOrder(x -> metaLoss(x, false), p, 5);
        assertTrue(r.passed(), r.toString());
    }

    @Test
    void checkpointedInnerLoopGivesTheSameMetaGradient() {
        Tensor[] p = TinyNet.init(3, DType.FP64);
        Tensor[] a = leaves(p), b = leaves(p);
        Tensor[] ga = Autograd.grad(metaLoss(a, false), a, false);
        Tensor[] gb = Autograd.grad(metaLoss(b, true), b, false);
        for (int i = 0; i < p.length; i++) {
            for (int e = 0; e < p[i].size(); e++) assertEquals(ga[i].get(e), gb[i].get(e), 1e-12, "param " + i);
        }
        var r = GradCheck.firstOrder(x -> metaLoss(x, true), p, 6);
        assertTrue(r.passed(), r.toString());
    }

    private static Tensor metaLoss(Tensor[] p, boolean checkpointInner) {
        double lr = 0.3;
        Tensor[] fast = {p[TinyNet.W1], p[TinyNet.W3], p[TinyNet.W2]};
        Tensor inner = checkpointInner
                ? Checkpoint.run(all -> TinyNet.loss(all, BATCH1), p)
                : TinyNet.loss(p, BATCH1);
        Tensor[] g = Autograd.grad(new Tensor[] {inner}, fast, null, true);
        Tensor w1 = Arith.sub(fast[0], Arith.mul(g[0], lr));
        Tensor w3 = Arith.sub(fast[1], Arith.mul(g[1], lr));
        Tensor w2 = Arith.sub(fast[2], Arith.mul(g[2], lr));
        return TinyNet.loss(p, BATCH2, w1, w3, w2);
    }
}
