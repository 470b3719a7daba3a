package org.ttt4j.lm.methods.ttt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.GradCheck;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.methods.ttt.TttLinearCore.Inner;
import org.ttt4j.lm.methods.ttt.TttLinearCore.State;

class TttLinearCoreTest {
    private static final SplittableRandom RNG = new SplittableRandom(17);

    private static Tensor randn(double std, int... shape) {
        return Tensor.randn(DType.FP64, RNG, std, shape);
    }

    private static Tensor eta(int n, int t, int b, int d) {
        Tensor gate = Maths.sigmoid(randn(1, n, t));
        return TttLinearCore.learningRates(gate, randn(0.1, b), b, 1.0, d);
    }

    private static void assertClose(Tensor expected, Tensor actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), tol * (1 + Math.abs(expected.get(i))), "element " + i);
        }
    }

    @Test
    void dualFormEqualsPrimalFormAcrossMiniBatches() {
        int n = 3, b = 4, t = 12, d = 5;
        Tensor q = randn(1, n, t, d), k = randn(1, n, t, d), v = randn(1, n, t, d);
        Tensor eta = eta(n, t, b, d);
        State start = new State(randn(0.3, n, d, d), randn(0.1, n, 1, d));
        Tensor gamma = Tensor.full(DType.FP64, 1.0, d).copy(), beta = randn(0.1, d);
        for (Inner inner : new Inner[] {Inner.TTT, Inner.PLAIN}) {
            var dual = TttLinearCore.dual(q, k, v, eta, start, gamma, beta, inner);
            State s = start;
            for (int m = 0; m < t / b; m++) {
                var part = TttLinearCore.primal(Layout.slice(q, 1, m * b, (m + 1) * b), Layout.slice(k, 1, m * b, (m + 1) * b),
                        Layout.slice(v, 1, m * b, (m + 1) * b), Layout.reshape(Layout.slice(eta, 1, m, m + 1), n, b, b), s, gamma, beta, inner);
                assertClose(Layout.slice(dual.out(), 1, m * b, (m + 1) * b), part.out(), 1e-10);
                s = part.state();
            }
            assertClose(dual.state().w(), s.w(), 1e-10);
            assertClose(dual.state().b(), s.b(), 1e-10);
        }
    }

    /**
     * Theorem 1 of the TTT paper: plain inner model, W0 = 0, one mini-batch spanning the sequence and
     * eta = 1/2 under the paper's loss ||f(k) - v||^2 (eta = 1 under this code's 1/2-scaled loss)
     * gives causal linear attention: out_i = sum_{j<=i} (q_i . k_j) v_j.
     */
    @Test
    void linearAttentionIdentity() {
        int n = 2, t = 7, d = 3;
        Tensor q = randn(1, n, t, d), k = randn(1, n, t, d), v = randn(1, n, t, d);
        Tensor ones = org.ttt4j.core.ops.Arith.where(org.ttt4j.core.ops.Masks.causal(t, t),
                Tensor.ones(DType.FP64, n, 1, t, t), Tensor.scalar(DType.FP64, 0));
        var r = TttLinearCore.dual(q, k, v, ones, new State(Tensor.zeros(DType.FP64, n, d, d), Tensor.zeros(DType.FP64, n, 1, d)),
                Tensor.ones(DType.FP64, d), Tensor.zeros(DType.FP64, d), Inner.PLAIN);
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

    /** The outer loop's gradient through the inner steps, for every input including W0 and eta's parameters. */
    @Test
    void gradientsThroughTheInnerLoopMatchFiniteDifferences() {
        int n = 2, b = 3, t = 6, d = 3;
        Tensor[] inputs = {randn(1, n, t, d), randn(1, n, t, d), randn(1, n, t, d), randn(0.3, n, d, d), randn(0.1, n, 1, d),
                Tensor.full(DType.FP64, 1.0, d).copy(), randn(0.1, d), randn(1, n, t), randn(0.1, b)};
        var r = GradCheck.firstOrder(x -> {
            Tensor eta = TttLinearCore.learningRates(Maths.sigmoid(x[7]), x[8], b, 1.0, d);
            var res = TttLinearCore.dual(x[0], x[1], x[2], eta, new State(x[3], x[4]), x[5], x[6], Inner.TTT);
            // Outputs and the carried state (W, b) all depend on every input.
            return Layout.concat(java.util.List.of(Layout.reshape(res.out(), -1), Layout.reshape(res.state().w(), -1),
                    Layout.reshape(res.state().b(), -1)), 0);
        }, inputs, 3);
        assertTrue(r.passed(), r.toString());
    }

    @Test
    void partialMiniBatchIsRejectedByTheDualForm() {
        var e = assertThrows(IllegalArgumentException.class, () -> TttLinearCore.learningRates(randn(1, 1, 5), randn(1, 4), 4, 1, 2));
        assertTrue(e.getMessage().contains("mini-batches"), e.getMessage());
    }
}
