package org.ttt4j.lm.layers.ttt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.ttt.InnerLoop.Inner;
import org.ttt4j.lm.layers.ttt.InnerLoop.Kind;
import org.ttt4j.lm.layers.ttt.InnerLoop.State;

/** The fused dual-form kernel against the op-by-op dual form: outputs, final state and every input's gradient. */
class TttLinearKernelTest {
    private static final Inner INNER = new Inner(Kind.LINEAR, true, 1e-6);

    private record Run(Tensor[] values, Tensor[] grads) {}

    /** Inputs q, k, v, s, c, W0, b0, gamma, beta; the loss weighs outputs and final state by fixed random tensors. */
    private static Run run(Tensor[] inputs, Tensor[] probes, boolean fused, DType dtype) {
        Tensor[] x = new Tensor[inputs.length];
        for (int i = 0; i < x.length; i++) x[i] = inputs[i].to(dtype).requiresGrad(true);
        State start = State.fresh(List.of(x[5], x[6]));
        var r = fused ? TttLinearKernel.dual(x[0], x[1], x[2], x[3], x[4], start, x[7], x[8], INNER)
                : InnerLoop.dual(x[0], x[1], x[2], x[3], x[4], start, x[7], x[8], INNER);
        Tensor[] outs = {r.out(), r.state().weights().get(0), r.state().weights().get(1)};
        Tensor loss = null;
        for (int i = 0; i < 3; i++) {
            Tensor term = Reduce.sum(Arith.mul(outs[i], probes[i].to(dtype)));
            loss = loss == null ? term : Arith.add(loss, term);
        }
        return new Run(outs, Autograd.grad(new Tensor[] {loss}, x, null, false));
    }

    private static void assertNear(Tensor expected, Tensor actual, double tol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double scale = 0;
        for (int i = 0; i < expected.size(); i++) scale = Math.max(scale, Math.abs(expected.get(i)));
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), tol * (1 + scale), what + " element " + i);
        }
    }

    @Test
    void fusedKernelEqualsTheCompositeDualFormForwardAndBackward() {
        SplittableRandom rng = new SplittableRandom(9);
        String[] names = {"q", "k", "v", "s", "c", "W0", "b0", "gamma", "beta"};
        int[][] shapes = {{3, 4, 2, 20}, {2, 16, 2, 64}, {1, 5, 3, 6}, {2, 8, 1, 33}}; // n, b, minibatches, d
        for (int[] sh : shapes) {
            int n = sh[0], b = sh[1], t = b * sh[2], d = sh[3];
            Tensor[] in = {Tensor.randn(DType.FP32, rng, 1, n, t, d), Tensor.randn(DType.FP32, rng, 1, n, t, d),
                    Tensor.randn(DType.FP32, rng, 1, n, t, d), Tensor.uniform(DType.FP32, rng, 0.2, 1.2, b),
                    Tensor.uniform(DType.FP32, rng, 0, 0.5 / d, n, t), Tensor.randn(DType.FP32, rng, 0.3, n, d, d),
                    Tensor.randn(DType.FP32, rng, 0.1, n, 1, d), Tensor.uniform(DType.FP32, rng, 0.5, 1.5, n, 1, d),
                    Tensor.randn(DType.FP32, rng, 0.1, n, 1, d)};
            Tensor[] probes = {Tensor.randn(DType.FP32, rng, 1, n, t, d), Tensor.randn(DType.FP32, rng, 1, n, d, d),
                    Tensor.randn(DType.FP32, rng, 1, n, 1, d)};
            Run ref = run(in, probes, false, DType.FP64);
            for (boolean simd : new boolean[] {true, false}) {
                boolean was = Simd.setEnabled(simd);
                try {
                    Run fused = run(in, probes, true, DType.FP32);
                    String where = java.util.Arrays.toString(sh) + (simd ? " simd" : " scalar");
                    assertNear(ref.values()[0], fused.values()[0], 2e-4, where + " out");
                    assertNear(ref.values()[1], fused.values()[1], 2e-4, where + " W");
                    assertNear(ref.values()[2], fused.values()[2], 2e-4, where + " b");
                    for (int i = 0; i < names.length; i++) assertNear(ref.grads()[i], fused.grads()[i], 5e-4, where + " d" + names[i]);
                } finally {
                    Simd.setEnabled(was);
                }
            }
        }
    }

    /** Under createGraph the kernel's backward re-runs the composite form: second derivatives stay right. */
    @Test
    void secondDerivativesGoThroughTheCompositeForm() {
        SplittableRandom rng = new SplittableRandom(4);
        int n = 1, b = 4, t = 8, d = 4;
        Tensor q = Tensor.randn(DType.FP32, rng, 1, n, t, d).requiresGrad(true), k = Tensor.randn(DType.FP32, rng, 1, n, t, d);
        Tensor v = Tensor.randn(DType.FP32, rng, 1, n, t, d), w0 = Tensor.randn(DType.FP32, rng, 0.3, n, d, d).requiresGrad(true);
        Tensor b0 = Tensor.zeros(DType.FP32, n, 1, d), s = Tensor.full(DType.FP32, 0.5, b), c = Tensor.full(DType.FP32, 0.1, n, t);
        Tensor gamma = Tensor.ones(DType.FP32, n, 1, d), beta = Tensor.zeros(DType.FP32, n, 1, d);
        Tensor[] hv = new Tensor[2];
        for (boolean fused : new boolean[] {false, true}) {
            State st = State.fresh(List.of(w0, b0));
            var r = fused ? TttLinearKernel.dual(q, k, v, s, c, st, gamma, beta, INNER) : InnerLoop.dual(q, k, v, s, c, st, gamma, beta, INNER);
            Tensor loss = Reduce.sum(Arith.mul(r.out(), r.out()));
            Tensor gw = Autograd.grad(loss, w0, true);
            hv[fused ? 1 : 0] = Autograd.grad(Reduce.sum(Arith.mul(gw, gw)), q, false);
        }
        assertNear(hv[0], hv[1], 1e-4, "d/dq |dL/dW0|^2");
        assertTrue(Math.abs(hv[0].get(0)) > 0);
    }

    @Test
    void wrongShapesAreNamed() {
        Tensor x = Tensor.zeros(DType.FP32, 2, 4, 8);
        var e = assertThrows(IllegalArgumentException.class, () -> TttLinearKernel.dual(x, x, x, Tensor.ones(DType.FP32, 4),
                Tensor.ones(DType.FP32, 2, 4), State.fresh(List.of(Tensor.zeros(DType.FP32, 2, 8, 7), Tensor.zeros(DType.FP32, 2, 1, 8))),
                Tensor.ones(DType.FP32, 8), Tensor.zeros(DType.FP32, 8), INNER));
        assertTrue(e.getMessage().contains("W1"), e.getMessage());
    }
}
