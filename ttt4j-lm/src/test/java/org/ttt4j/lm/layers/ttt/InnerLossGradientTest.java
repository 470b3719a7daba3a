package org.ttt4j.lm.layers.ttt;

import static org.junit.jupiter.api.Assertions.*;
import static org.ttt4j.core.ops.Arith.add;
import static org.ttt4j.core.ops.Arith.div;
import static org.ttt4j.core.ops.Arith.mul;
import static org.ttt4j.core.ops.Arith.sub;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.ttt.InnerLoop.Inner;
import org.ttt4j.lm.layers.ttt.InnerLoop.Kind;
import org.ttt4j.lm.layers.ttt.InnerLoop.State;

/**
 * The closed-form gradient of the TTT inner loss through the LayerNorm,
 * {@code dl/dz = (d delta - sum(delta) - xh sum(delta xh)) / (d sigma)} with
 * {@code xh = (z - mu) / sigma}, {@code delta = (gamma xh + beta - target) gamma} (docs/methods.md,
 * section 2), against autograd of the loss {@code 1/2 || gamma (z - mu) / sigma + beta - target ||^2}
 * spelled out in plain ops (mean, subtract, square, sqrt, divide), so that the dual and primal forms,
 * which share the closed form, cannot agree on a wrong one.
 *
 * <p>Every implementation is checked: the op-by-op one of {@link InnerLoop} (both forms, training) in
 * float64 to 1e-10, and the fused kernel's float32 rows (four at a time, one vector row, the scalar
 * row) through its public entry points, the dual form and the decoding step.
 */
class InnerLossGradientTest {
    private static final double EPS = 1e-6;

    /** Random rows z, target [n, t, d] and per-row gamma, beta [n, 1, d]; gamma away from 1 (some negative), beta away from 0. */
    private record Inputs(Tensor z, Tensor target, Tensor gamma, Tensor beta) {
        static Inputs random(SplittableRandom rng, int n, int t, int d) {
            Tensor z = add(Tensor.randn(DType.FP64, rng, 2.0, n, t, d), 0.7);         // mean and scale not 0 and 1
            Tensor target = Tensor.randn(DType.FP64, rng, 1.0, n, t, d);
            Tensor gamma = Tensor.uniform(DType.FP64, rng, 0.3, 1.8, n, 1, d);
            for (int i = 0; i < gamma.size(); i += 5) gamma.set(i, -gamma.get(i));
            Tensor beta = Tensor.randn(DType.FP64, rng, 0.5, n, 1, d);
            return new Inputs(z, target, gamma, beta);
        }
    }

    /** d/dz of sum over rows of 1/2 || gamma (z - mu) / sigma + beta - target ||^2, by autograd, in float64. */
    private static Tensor autogradOfTheLoss(Inputs in) {
        Tensor z = in.z().to(DType.FP64).copy().requiresGrad(true);
        try (var g = GradMode.enabled()) {
            Tensor mu = Reduce.mean(z, new int[] {-1}, true);
            Tensor centred = sub(z, mu);
            Tensor sigma = Maths.sqrt(add(Reduce.mean(mul(centred, centred), new int[] {-1}, true), EPS));
            Tensor r = sub(add(mul(in.gamma().to(DType.FP64), div(centred, sigma)), in.beta().to(DType.FP64)), in.target().to(DType.FP64));
            Tensor loss = mul(Reduce.sum(mul(r, r)), 0.5);
            return Autograd.grad(loss, z, false);
        }
    }

    /** |closed - auto| <= tol * max(1, max |auto|) elementwise; the message names the implementation, row and feature. */
    private static double assertClose(String what, Tensor auto, Tensor closed, double tol) {
        assertArrayEquals(auto.shape(), closed.shape(), what + ": shape");
        int d = auto.dim(-1);
        double scale = 1, worst = 0;
        for (int i = 0; i < auto.size(); i++) scale = Math.max(scale, Math.abs(auto.get(i)));
        for (int i = 0; i < auto.size(); i++) {
            double diff = Math.abs(auto.get(i) - closed.get(i));
            worst = Math.max(worst, diff);
            if (!(diff <= tol * scale)) {
                fail(String.format("%s: row %d feature %d: closed form %.12g, autograd %.12g (|diff| %.3e > %.1e x %.3g)", what, i / d, i % d,
                        closed.get(i), auto.get(i), diff, tol, scale));
            }
        }
        return worst / scale;
    }

    @Test
    void closedFormOfTheInnerLoopEqualsAutogradInFloat64() {
        SplittableRandom rng = new SplittableRandom(17);
        double worst = 0;
        for (int[] s : new int[][] {{3, 5, 16}, {2, 4, 7}, {1, 9, 64}, {4, 1, 2}}) { // n, t, d
            Inputs in = Inputs.random(rng, s[0], s[1], s[2]);
            Tensor closed = InnerLoop.lossGradient(in.z(), in.target(), in.gamma(), in.beta(), new Inner(Kind.LINEAR, true, EPS));
            assertEquals(DType.FP64, closed.dtype());
            worst = Math.max(worst, assertClose("InnerLoop.lossGradient " + Arrays.toString(s), autogradOfTheLoss(in), closed, 1e-10));
        }
        System.out.printf("InnerLoop.lossGradient (fp64): max |closed - autograd| / max(1, max |grad|) = %.2e%n", worst);
    }

    /** The same inputs in float32 and back: what the fused kernel sees. */
    private static Inputs toFloat32(Inputs in) {
        return new Inputs(in.z().to(DType.FP32), in.target().to(DType.FP32), in.gamma().to(DType.FP32), in.beta().to(DType.FP32));
    }

    /** n identity matrices [n, d, d]: with W1 = I and b1 = 0 the inner model's pre-activation is the key itself, exactly. */
    private static Tensor identities(int n, int d) {
        Tensor w = Tensor.zeros(DType.FP32, n, d, d);
        for (int p = 0; p < n; p++) for (int i = 0; i < d; i++) w.set((p * d + i) * d + i, 1);
        return w;
    }

    /**
     * Float32 tolerance: the kernel forms mean, sigma, delta and the two sums of d <= 64 terms in
     * float32 (unit roundoff 6e-8), then subtracts the three terms; measured: 1.5e-7 of the largest
     * gradient. 2e-6 leaves a margin of ~10x; dropping or changing a term moves the gradient by
     * a fraction of its size.
     */
    private static final double FP32_TOLERANCE = 2e-6;

    /**
     * The fused dual form (TTT-Linear): with W1 = I, b1 = 0 the keys are the pre-activations z and
     * v = z + target gives the target v - k; with s = 1 and the rates c one-hot at token j, the final
     * bias is {@code b1 - c_j g_j = -g_j}, token j's closed-form gradient. Pair p reveals token p of its
     * mini-batch, so b pairs show every row: with SIMD and d a multiple of the vector length, rows
     * 0-3 (and 4-7 ...) take the four-row path and a remainder the one-row vector path; otherwise the scalar row.
     */
    @Test
    void fusedKernelDualFormClosedFormEqualsAutograd() {
        SplittableRandom rng = new SplittableRandom(23);
        double worst = 0;
        for (int[] s : new int[][] {{6, 16}, {4, 64}, {5, 6}, {6, 32}}) { // b, d
            int b = s[0], d = s[1], n = b;
            Inputs in = toFloat32(Inputs.random(rng, n, b, d));
            Tensor k = in.z(), v = add(in.z(), in.target()).to(DType.FP32);
            Tensor target = sub(v, k);                                         // the kernel's target, as it rounds it
            Tensor q = Tensor.randn(DType.FP32, rng, 1.0, n, b, d);
            Tensor c = Tensor.zeros(DType.FP32, n, b);
            for (int p = 0; p < n; p++) c.set(p * b + p, 1);
            Tensor expected = autogradOfTheLoss(new Inputs(k, target, in.gamma(), in.beta()));
            for (boolean simd : new boolean[] {true, false}) {
                boolean was = Simd.setEnabled(simd);
                try (var g = GradMode.disabled()) {
                    var r = TttFusedKernel.dual(q, k, v, Tensor.ones(DType.FP32, b), c, State.fresh(List.of(identities(n, d), Tensor.zeros(DType.FP32, n, 1, d))),
                            in.gamma(), in.beta(), new Inner(Kind.LINEAR, true, EPS));
                    Tensor bias = r.state().weights().get(1);                    // [n, 1, d] = -g of token p in pair p
                    Tensor got = Tensor.zeros(DType.FP64, n, 1, d), want = Tensor.zeros(DType.FP64, n, 1, d);
                    for (int p = 0; p < n; p++) {
                        for (int f = 0; f < d; f++) {
                            got.set(p * d + f, -bias.get(p * d + f));
                            want.set(p * d + f, expected.get((p * b + p) * d + f));
                        }
                    }
                    worst = Math.max(worst, assertClose("fused dual b=" + b + " d=" + d + (simd ? " simd" : " scalar") + " (row r: token r of its mini-batch)",
                            want, got, FP32_TOLERANCE));
                } finally {
                    Simd.setEnabled(was);
                }
            }
        }
        System.out.printf("fused dual form (fp32): max |closed - autograd| / max(1, max |grad|) = %.2e%n", worst);
    }

    /**
     * The fused decoding step: from a fresh state the bias sum after one token is {@code c g}; with
     * c = 1 it is the closed-form gradient of each pair's token (one vector row, or the scalar row).
     */
    @Test
    void fusedKernelDecodingStepClosedFormEqualsAutograd() {
        SplittableRandom rng = new SplittableRandom(29);
        double worst = 0;
        for (int d : new int[] {16, 64, 6, 20}) {
            int n = 5;
            Inputs in = toFloat32(Inputs.random(rng, n, 1, d));
            Tensor k = in.z(), v = add(in.z(), in.target()).to(DType.FP32);
            Tensor expected = autogradOfTheLoss(new Inputs(k, sub(v, k), in.gamma(), in.beta()));
            for (boolean simd : new boolean[] {true, false}) {
                boolean was = Simd.setEnabled(simd);
                try (var g = GradMode.disabled()) {
                    var r = TttFusedKernel.step(Tensor.randn(DType.FP32, rng, 1.0, n, 1, d), k, v, Tensor.ones(DType.FP32, 1), Tensor.ones(DType.FP32, n, 1),
                            State.fresh(List.of(identities(n, d), Tensor.zeros(DType.FP32, n, 1, d))), in.gamma(), in.beta(),
                            new Inner(Kind.LINEAR, true, EPS));
                    worst = Math.max(worst, assertClose("fused step d=" + d + (simd ? " simd" : " scalar") + " (row r: pair r)", expected,
                            r.state().sums().get(1).to(DType.FP64), FP32_TOLERANCE));
                } finally {
                    Simd.setEnabled(was);
                }
            }
        }
        System.out.printf("fused decoding step (fp32): max |closed - autograd| / max(1, max |grad|) = %.2e%n", worst);
    }
}
