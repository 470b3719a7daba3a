package org.ttt4j.lm.layers.ttt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.GradCheck;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.ttt.InnerLoop.Inner;
import org.ttt4j.lm.layers.ttt.InnerLoop.Kind;
import org.ttt4j.lm.layers.ttt.InnerLoop.State;

class InnerLoopTest {
    private static final SplittableRandom RNG = new SplittableRandom(17);

    static Tensor randn(double std, int... shape) {
        return Tensor.randn(DType.FP64, RNG, std, shape);
    }

    /** Start weights W1, b1 (W2, b2) for n sequences of head width d. */
    static List<Tensor> weights(Kind kind, int n, int d) {
        int h = d * kind.expansion;
        return kind == Kind.LINEAR ? List.of(randn(0.3, n, d, d), randn(0.1, n, 1, d))
                : List.of(randn(0.3, n, d, h), randn(0.1, n, 1, h), randn(0.3, n, h, d), randn(0.1, n, 1, d));
    }

    static void assertClose(Tensor expected, Tensor actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), tol * (1 + Math.abs(expected.get(i))), "element " + i);
        }
    }

    @Test
    void dualFormEqualsPrimalFormAcrossMiniBatches() {
        int n = 3, b = 4, t = 12, d = 4;
        for (Kind kind : Kind.values()) {
            for (boolean normed : new boolean[] {true, false}) {
                Inner inner = new Inner(kind, normed, 1e-6);
                Tensor q = randn(1, n, t, d), k = randn(1, n, t, d), v = randn(1, n, t, d);
                Tensor s = InnerLoop.indexScales(randn(0.1, b), b, 0, b, DType.FP64);
                Tensor c = Maths.sigmoid(randn(1, n, t));
                State start = State.fresh(weights(kind, n, d));
                Tensor gamma = Maths.exp(randn(0.1, d)), beta = randn(0.1, d);
                var dual = InnerLoop.dual(q, k, v, s, c, start, gamma, beta, inner);
                // The primal form, fed in uneven pieces that cross mini-batch boundaries only by committing.
                State st = start;
                List<Tensor> outs = new ArrayList<>();
                int at = 0;
                for (int piece : new int[] {1, 3, 2, 2, 3, 1}) {
                    int off = at % b;
                    var r = InnerLoop.primal(Layout.slice(q, 1, at, at + piece), Layout.slice(k, 1, at, at + piece),
                            Layout.slice(v, 1, at, at + piece), Layout.slice(s, 0, off, off + piece), Layout.slice(c, 1, at, at + piece),
                            st, gamma, beta, inner);
                    outs.add(r.out());
                    st = off + piece == b ? r.state().commit(Layout.slice(s, 0, b - 1, b)) : r.state();
                    at += piece;
                }
                assertEquals(t, at);
                String what = kind + (normed ? " normed" : " plain");
                assertClose(dual.out(), Layout.concat(outs, 1), 1e-10);
                for (int i = 0; i < st.weights().size(); i++) assertClose(dual.state().weights().get(i), st.weights().get(i), 1e-10);
                assertNotEquals(start.weights().get(0).get(0), dual.state().weights().get(0).get(0), what + ": the state moved");
            }
        }
    }

    /**
     * Theorem 1 of the TTT paper: plain inner model f(x) = x W, W0 = 0, one mini-batch spanning the
     * sequence, eta = 1/2 under the paper's loss ||f(k) - v||^2 (eta = 1 under this code's 1/2-scaled
     * loss) is causal linear attention: out_i = sum_{j<=i} (q_i . k_j) v_j, exactly.
     */
    @Test
    void linearAttentionIdentity() {
        int n = 2, t = 7, d = 3;
        Tensor q = randn(1, n, t, d), k = randn(1, n, t, d), v = randn(1, n, t, d);
        var r = InnerLoop.dual(q, k, v, Tensor.ones(DType.FP64, t), Tensor.ones(DType.FP64, n, t),
                State.fresh(List.of(Tensor.zeros(DType.FP64, n, d, d), Tensor.zeros(DType.FP64, n, 1, d))),
                Tensor.ones(DType.FP64, d), Tensor.zeros(DType.FP64, d), new Inner(Kind.LINEAR, false, 1e-6));
        for (int s = 0; s < n; s++) {
            for (int i = 0; i < t; i++) {
                for (int c = 0; c < d; c++) {
                    double expected = 0;
                    for (int j = 0; j <= i; j++) {
                        double qk = 0;
                        for (int x = 0; x < d; x++) qk += q.at(s, i, x) * k.at(s, j, x);
                        expected += qk * v.at(s, j, c);
                    }
                    assertEquals(expected, r.out().at(s, i, c), 1e-12);
                }
            }
        }
    }

    /**
     * The outer loop's gradient through the inner steps, for every input: q, k, v, every start
     * weight, the inner norm, the index offsets lambda and the token rates.
     */
    @Test
    void gradientsThroughTheInnerLoopMatchFiniteDifferences() {
        int n = 2, b = 3, t = 6, d = 2;
        for (Kind kind : Kind.values()) {
            List<Tensor> w = weights(kind, n, d);
            List<Tensor> in = new ArrayList<>(List.of(randn(1, n, t, d), randn(1, n, t, d), randn(1, n, t, d),
                    Maths.exp(randn(0.1, d)), randn(0.1, d), randn(0.1, b), randn(1, n, t)));
            in.addAll(w);
            int nw = w.size();
            var r = GradCheck.firstOrder(x -> {
                Tensor s = InnerLoop.indexScales(x[5], b, 0, b, DType.FP64);
                var res = InnerLoop.dual(x[0], x[1], x[2], s, Maths.sigmoid(x[6]), State.fresh(List.of(x).subList(7, 7 + nw)), x[3], x[4],
                        new Inner(kind, true, 1e-6));
                List<Tensor> flat = new ArrayList<>(List.of(Layout.reshape(res.out(), -1)));
                for (Tensor st : res.state().weights()) flat.add(Layout.reshape(st, -1));
                return Layout.concat(flat, 0);
            }, in.toArray(Tensor[]::new), 3);
            assertTrue(r.passed(), kind + ": " + r);
        }
    }

    /** Second derivatives through one inner step (what a meta-learned initialisation needs). */
    @Test
    void secondDerivativesThroughTheInnerLoopMatchFiniteDifferences() {
        int n = 1, b = 2, t = 2, d = 2;
        Tensor[] in = {randn(1, n, t, d), randn(1, n, t, d), randn(1, n, t, d), randn(0.3, n, d, d), randn(0.1, n, 1, d)};
        var r = GradCheck.secondOrder(x -> InnerLoop.dual(x[0], x[1], x[2], Tensor.full(DType.FP64, 0.5, b),
                Tensor.full(DType.FP64, 0.7, n, t), State.fresh(List.of(x[3], x[4])), Tensor.ones(DType.FP64, d),
                Tensor.zeros(DType.FP64, d), new Inner(Kind.LINEAR, true, 1e-6)).out(), in, 5);
        assertTrue(r.passed(), r.toString());
    }

    @Test
    void partialMiniBatchIsRejectedByTheDualForm() {
        var e = assertThrows(IllegalArgumentException.class, () -> InnerLoop.dual(randn(1, 1, 5, 2), randn(1, 1, 5, 2),
                randn(1, 1, 5, 2), Tensor.ones(DType.FP64, 4), Tensor.ones(DType.FP64, 1, 5),
                State.fresh(weights(Kind.LINEAR, 1, 2)), Tensor.ones(DType.FP64, 2), Tensor.zeros(DType.FP64, 2),
                new Inner(Kind.LINEAR, true, 1e-6)));
        assertTrue(e.getMessage().contains("mini-batches"), e.getMessage());
    }
}
