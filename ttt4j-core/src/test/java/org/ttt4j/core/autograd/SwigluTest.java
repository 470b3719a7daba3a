package org.ttt4j.core.autograd;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * {@link Nn#swiglu}, one pass forward and backward, against {@code mul(silu(gate), up)}: the same
 * bits forward and first-order backward (sizes with vector tails and several parallel chunks),
 * the same second derivatives, and the closed forms in double within fp32 rounding.
 */
class SwigluTest {
    /** 3 x 7 x 37: one chunk with a tail; 5 x 70001: several chunks of the parallel split, each with a tail. */
    private static final int[][] SHAPES = {{3, 7, 37}, {5, 70001}};

    @Test
    void forwardAndBackwardHaveTheBitsOfTheTwoOps() {
        var rng = new SplittableRandom(5);
        for (int[] shape : SHAPES) {
            Tensor gate = Tensor.randn(DType.FP32, rng, 3, shape), up = Tensor.randn(DType.FP32, rng, 1, shape);
            Tensor g1 = gate.copy().requiresGrad(true), u1 = up.copy().requiresGrad(true);
            Tensor g2 = gate.copy().requiresGrad(true), u2 = up.copy().requiresGrad(true);
            Tensor fused = Nn.swiglu(g1, u1), composed = Arith.mul(Maths.silu(g2), u2);
            assertArrayEquals(composed.toFloatArray(), fused.toFloatArray(), "forward, shape " + java.util.Arrays.toString(shape));
            Tensor seed = Tensor.randn(DType.FP32, rng, 1, shape);
            Tensor[] a = Autograd.grad(new Tensor[] {fused}, new Tensor[] {g1, u1}, new Tensor[] {seed}, false);
            Tensor[] b = Autograd.grad(new Tensor[] {composed}, new Tensor[] {g2, u2}, new Tensor[] {seed}, false);
            assertArrayEquals(b[0].toFloatArray(), a[0].toFloatArray(), "d gate");
            assertArrayEquals(b[1].toFloatArray(), a[1].toFloatArray(), "d up");
            // The closed forms in double: out = x s u, d up = g x s, d gate = g u s (1 + x (1 - s)).
            float[] x = gate.toFloatArray(), u = up.toFloatArray(), gs = seed.toFloatArray(), out = fused.toFloatArray();
            float[] dg = a[0].toFloatArray(), du = a[1].toFloatArray();
            for (int i = 0; i < x.length; i++) {
                double s = 1 / (1 + Math.exp(-x[i]));
                assertEquals(x[i] * s * u[i], out[i], 1e-5 * (1 + Math.abs(out[i])), "out[" + i + "]");
                assertEquals(gs[i] * x[i] * s, du[i], 1e-5 * (1 + Math.abs(du[i])), "d up[" + i + "]");
                assertEquals(gs[i] * u[i] * s * (1 + x[i] * (1 - s)), dg[i], 1e-5 * (1 + Math.abs(dg[i])), "d gate[" + i + "]");
            }
        }
    }

    @Test
    void secondDerivativesAreThoseOfTheTwoOps() {
        var rng = new SplittableRandom(6);
        Tensor gate = Tensor.randn(DType.FP32, rng, 2, 4, 33), up = Tensor.randn(DType.FP32, rng, 1, 4, 33);
        Tensor w = Tensor.randn(DType.FP32, rng, 1, 4, 33);
        Tensor[] fused = hessianVector(gate, up, w, true), composed = hessianVector(gate, up, w, false);
        for (int i = 0; i < 2; i++) {
            float[] f = fused[i].toFloatArray(), c = composed[i].toFloatArray();
            for (int e = 0; e < f.length; e++) assertEquals(c[e], f[e], 1e-5 * (1 + Math.abs(c[e])), "input " + i + " element " + e);
        }
        assertTrue(java.util.Arrays.stream(new double[] {fused[0].get(0), fused[0].get(1)}).anyMatch(v -> v != 0), "a non-trivial second derivative");
    }

    /** d/d(gate, up) of sum(d sum(w * f) / d gate): second derivatives through the backward. */
    private static Tensor[] hessianVector(Tensor gate, Tensor up, Tensor w, boolean fused) {
        Tensor g = gate.copy().requiresGrad(true), u = up.copy().requiresGrad(true);
        Tensor out = fused ? Nn.swiglu(g, u) : Arith.mul(Maths.silu(g), u);
        Tensor s = Reduce.sum(Arith.mul(out, w));
        Tensor[] d = Autograd.grad(s, new Tensor[] {g, u}, true);
        return Autograd.grad(Reduce.sum(d[0]), new Tensor[] {g, u}, false);
    }
}
