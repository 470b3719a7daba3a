package org.ttt4j.lm.layers.ttt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
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
class TttFusedKernelTest {

    private record Run(List<Tensor> values, Tensor[] grads) {}

    /** Inputs q, k, v, s, c, gamma, beta, W1, b1[, W2, b2]; the loss weighs outputs and final state by fixed random probes. */
    private static Run run(Kind kind, Tensor[] inputs, List<Tensor> probes, boolean fused, DType dtype) {
        Tensor[] x = new Tensor[inputs.length];
        for (int i = 0; i < x.length; i++) x[i] = inputs[i].to(dtype).requiresGrad(true);
        List<Tensor> w = new ArrayList<>();
        for (int i = 7; i < x.length; i++) w.add(x[i]);
        Inner inner = new Inner(kind, true, 1e-6);
        var r = fused ? TttFusedKernel.dual(x[0], x[1], x[2], x[3], x[4], State.fresh(w), x[5], x[6], inner)
                : InnerLoop.dual(x[0], x[1], x[2], x[3], x[4], State.fresh(w), x[5], x[6], inner);
        List<Tensor> outs = new ArrayList<>(List.of(r.out()));
        outs.addAll(r.state().weights());
        Tensor loss = null;
        for (int i = 0; i < outs.size(); i++) {
            Tensor term = Reduce.sum(Arith.mul(outs.get(i), probes.get(i).to(dtype)));
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
        String[] names = {"q", "k", "v", "s", "c", "gamma", "beta", "W1", "b1", "W2", "b2"};
        int[][] shapes = {{3, 4, 2, 20}, {2, 16, 2, 64}, {1, 5, 3, 6}, {2, 8, 1, 33}, {1, 32, 1, 16}}; // n, b, mini-batches, d
        for (Kind kind : Kind.values()) {
            for (int[] sh : shapes) {
                int n = sh[0], b = sh[1], t = b * sh[2], d = sh[3], h = d * kind.expansion;
                List<Tensor> in = new ArrayList<>(List.of(Tensor.randn(DType.FP32, rng, 1, n, t, d), Tensor.randn(DType.FP32, rng, 1, n, t, d),
                        Tensor.randn(DType.FP32, rng, 1, n, t, d), Tensor.uniform(DType.FP32, rng, 0.2, 1.2, b),
                        Tensor.uniform(DType.FP32, rng, 0, 0.5 / d, n, t), Tensor.uniform(DType.FP32, rng, 0.5, 1.5, n, 1, d),
                        Tensor.randn(DType.FP32, rng, 0.1, n, 1, d)));
                List<Tensor> probes = new ArrayList<>(List.of(Tensor.randn(DType.FP32, rng, 1, n, t, d)));
                int[][] layers = kind == Kind.LINEAR ? new int[][] {{d, d}} : new int[][] {{d, h}, {h, d}};
                for (int[] io : layers) {
                    in.add(Tensor.randn(DType.FP32, rng, 1 / Math.sqrt(io[0]), n, io[0], io[1]));
                    in.add(Tensor.randn(DType.FP32, rng, 0.1, n, 1, io[1]));
                    probes.add(Tensor.randn(DType.FP32, rng, 1, n, io[0], io[1]));
                    probes.add(Tensor.randn(DType.FP32, rng, 1, n, 1, io[1]));
                }
                Tensor[] inputs = in.toArray(Tensor[]::new);
                Run ref = run(kind, inputs, probes, false, DType.FP64);
                for (boolean simd : new boolean[] {true, false}) {
                    boolean was = Simd.setEnabled(simd);
                    try {
                        Run fused = run(kind, inputs, probes, true, DType.FP32);
                        String where = kind + java.util.Arrays.toString(sh) + (simd ? " simd" : " scalar");
                        for (int i = 0; i < ref.values().size(); i++) assertNear(ref.values().get(i), fused.values().get(i), 3e-4, where + " output " + i);
                        for (int i = 0; i < inputs.length; i++) assertNear(ref.grads()[i], fused.grads()[i], 1e-3, where + " d" + names[i]);
                    } finally {
                        Simd.setEnabled(was);
                    }
                }
            }
        }
    }

    /**
     * Without a graph (inference) the kernel writes its outputs and final weights straight into
     * their tensors; they must equal, bit for bit, what the recorded path returns through its
     * packed tensor, and both must equal the op-by-op form. Mini-batches of 16 (one vector per row
     * of the learning rates) and of other sizes, SIMD on and off.
     */
    @Test
    void inferencePathEqualsTheRecordedPathBitForBit() {
        SplittableRandom rng = new SplittableRandom(21);
        int[][] shapes = {{2, 16, 3, 64}, {3, 16, 2, 20}, {2, 5, 3, 32}}; // n, b, mini-batches, d
        for (Kind kind : Kind.values()) {
            for (int[] sh : shapes) {
                int n = sh[0], b = sh[1], t = b * sh[2], d = sh[3], h = d * kind.expansion;
                Tensor q = Tensor.randn(DType.FP32, rng, 1, n, t, d), k = Tensor.randn(DType.FP32, rng, 1, n, t, d);
                Tensor v = Tensor.randn(DType.FP32, rng, 1, n, t, d), s = Tensor.uniform(DType.FP32, rng, 0.2, 1.2, b);
                Tensor c = Tensor.uniform(DType.FP32, rng, 0, 0.5 / d, n, t), gamma = Tensor.uniform(DType.FP32, rng, 0.5, 1.5, d);
                Tensor beta = Tensor.randn(DType.FP32, rng, 0.1, d);
                List<Tensor> w = new ArrayList<>();
                for (int[] io : kind == Kind.LINEAR ? new int[][] {{d, d}} : new int[][] {{d, h}, {h, d}}) {
                    w.add(Tensor.randn(DType.FP32, rng, 1 / Math.sqrt(io[0]), n, io[0], io[1]));
                    w.add(Tensor.randn(DType.FP32, rng, 0.1, n, 1, io[1]));
                }
                Inner inner = new Inner(kind, true, 1e-6);
                for (boolean simd : new boolean[] {true, false}) {
                    boolean was = Simd.setEnabled(simd);
                    try {
                        String where = kind + java.util.Arrays.toString(sh) + (simd ? " simd" : " scalar");
                        InnerLoop.Result direct;
                        try (var off = org.ttt4j.core.tensor.GradMode.disabled()) {
                            direct = TttFusedKernel.dual(q, k, v, s, c, State.fresh(w), gamma, beta, inner);
                        }
                        var recorded = TttFusedKernel.dual(q.copy().requiresGrad(true), k, v, s, c, State.fresh(w), gamma, beta, inner);
                        assertTrue(recorded.out().requiresGrad(), where + ": the second run records a graph");
                        assertArrayEquals(recorded.out().toFloatArray(), direct.out().toFloatArray(), where + " out");
                        for (int i = 0; i < w.size(); i++) {
                            assertArrayEquals(recorded.state().weights().get(i).shape(), direct.state().weights().get(i).shape(), where);
                            assertArrayEquals(recorded.state().weights().get(i).toFloatArray(), direct.state().weights().get(i).toFloatArray(),
                                    where + " final weight " + i);
                        }
                        var ref = InnerLoop.dual(q, k, v, s, c, State.fresh(w), gamma, beta, inner);
                        assertNear(ref.out(), direct.out(), 3e-4, where + " out vs op by op");
                        assertNear(ref.state().weights().get(0), direct.state().weights().get(0), 3e-4, where + " W1 vs op by op");
                    } finally {
                        Simd.setEnabled(was);
                    }
                }
            }
        }
    }

    /** The fused decoding step equals the op-by-op primal form for one token, from a state with sums already accumulated. */
    @Test
    void decodingStepEqualsThePrimalForm() {
        SplittableRandom rng = new SplittableRandom(12);
        for (Kind kind : Kind.values()) {
            for (int d : new int[] {6, 32}) {
                int n = 3, h = d * kind.expansion;
                List<Tensor> w = kind == Kind.LINEAR
                        ? List.of(Tensor.randn(DType.FP32, rng, 0.3, n, d, d), Tensor.randn(DType.FP32, rng, 0.1, n, 1, d))
                        : List.of(Tensor.randn(DType.FP32, rng, 0.3, n, d, h), Tensor.randn(DType.FP32, rng, 0.1, n, 1, h),
                                Tensor.randn(DType.FP32, rng, 0.3, n, h, d), Tensor.randn(DType.FP32, rng, 0.1, n, 1, d));
                List<Tensor> sums = new ArrayList<>();
                for (Tensor x : w) sums.add(Tensor.randn(DType.FP32, rng, 0.05, x.shape()));
                State st = new State(w, sums);
                Tensor q = Tensor.randn(DType.FP32, rng, 1, n, 1, d), k = Tensor.randn(DType.FP32, rng, 1, n, 1, d);
                Tensor v = Tensor.randn(DType.FP32, rng, 1, n, 1, d), s = Tensor.full(DType.FP32, 0.3, 1);
                Tensor c = Tensor.uniform(DType.FP32, rng, 0.01, 0.1, n, 1);
                Tensor gamma = Tensor.uniform(DType.FP32, rng, 0.5, 1.5, d), beta = Tensor.randn(DType.FP32, rng, 0.1, d);
                Inner inner = new Inner(kind, true, 1e-6);
                for (boolean simd : new boolean[] {true, false}) {
                    boolean was = Simd.setEnabled(simd);
                    try (var off = org.ttt4j.core.tensor.GradMode.disabled()) {
                        var ref = InnerLoop.primal(q, k, v, s, c, st, gamma, beta, inner);
                        var fast = TttFusedKernel.step(q, k, v, s, c, st, gamma, beta, inner);
                        String where = kind + " d=" + d + (simd ? " simd" : " scalar");
                        assertNear(ref.out(), fast.out(), 1e-5, where + " out");
                        for (int i = 0; i < sums.size(); i++) assertNear(ref.state().sums().get(i), fast.state().sums().get(i), 1e-5, where + " sums " + i);
                        assertNotEquals(sums.get(0).get(0), fast.state().sums().get(0).get(0), "the sums grew");
                    } finally {
                        Simd.setEnabled(was);
                    }
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
        Inner inner = new Inner(Kind.LINEAR, true, 1e-6);
        Tensor[] hv = new Tensor[2];
        for (boolean fused : new boolean[] {false, true}) {
            State st = State.fresh(List.of(w0, b0));
            var r = fused ? TttFusedKernel.dual(q, k, v, s, c, st, gamma, beta, inner) : InnerLoop.dual(q, k, v, s, c, st, gamma, beta, inner);
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
        var e = assertThrows(IllegalArgumentException.class, () -> TttFusedKernel.dual(x, x, x, Tensor.ones(DType.FP32, 4),
                Tensor.ones(DType.FP32, 2, 4), State.fresh(List.of(Tensor.zeros(DType.FP32, 2, 8, 7), Tensor.zeros(DType.FP32, 2, 1, 8))),
                Tensor.ones(DType.FP32, 8), Tensor.zeros(DType.FP32, 8), new Inner(Kind.LINEAR, true, 1e-6)));
        assertTrue(e.getMessage().contains("outputs for width") || e.getMessage().contains("W1"), e.getMessage());
    }
}
