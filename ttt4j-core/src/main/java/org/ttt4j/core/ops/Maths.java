package org.ttt4j.core.ops;

import static org.ttt4j.core.ops.Arith.add;
import static org.ttt4j.core.ops.Arith.firstOrder;
import static org.ttt4j.core.ops.Arith.map;
import static org.ttt4j.core.ops.Arith.mul;
import static org.ttt4j.core.ops.Arith.rsub;
import static org.ttt4j.core.ops.Arith.div;

import org.ttt4j.core.kernel.Elementwise.Unary;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.Tensor;

/**
 * Element-wise functions: exp, log, sqrt, rsqrt, pow, tanh, sigmoid, relu, silu, gelu (tanh
 * approximation). Every derivative is written with these same ops, so it can be differentiated
 * again; silu and gelu use a one-pass derivative kernel when no graph is being built.
 */
public final class Maths {
    private Maths() {}

    public static Tensor exp(Tensor a) {
        Tensor out = map(Unary.EXP, 0, a);
        return GradFn.record(out, "exp", g -> new Tensor[] {mul(g, out)}, a);
    }

    public static Tensor log(Tensor a) {
        return GradFn.record(map(Unary.LOG, 0, a), "log", g -> new Tensor[] {div(g, a)}, a);
    }

    public static Tensor sqrt(Tensor a) {
        Tensor out = map(Unary.SQRT, 0, a);
        return GradFn.record(out, "sqrt", g -> new Tensor[] {div(mul(g, 0.5), out)}, a);
    }

    /** 1 / sqrt(a). */
    public static Tensor rsqrt(Tensor a) {
        Tensor out = map(Unary.RSQRT, 0, a);
        return GradFn.record(out, "rsqrt", g -> new Tensor[] {mul(mul(g, pow(out, 3)), -0.5)}, a);
    }

    /** a^p for a constant exponent p. */
    public static Tensor pow(Tensor a, double p) {
        Tensor out = map(Unary.POW, p, a);
        return GradFn.record(out, "pow", g -> new Tensor[] {
                p == 1 ? g : mul(mul(g, pow(a, p - 1)), p)}, a);
    }

    public static Tensor tanh(Tensor a) {
        Tensor out = map(Unary.TANH, 0, a);
        return GradFn.record(out, "tanh", g -> new Tensor[] {mul(g, rsub(1, mul(out, out)))}, a);
    }

    public static Tensor sigmoid(Tensor a) {
        Tensor out = map(Unary.SIGMOID, 0, a);
        return GradFn.record(out, "sigmoid", g -> new Tensor[] {mul(g, mul(out, rsub(1, out)))}, a);
    }

    public static Tensor relu(Tensor a) {
        // The derivative is a step: a constant mask, so second derivatives are zero (almost everywhere).
        return GradFn.record(map(Unary.RELU, 0, a), "relu", g -> new Tensor[] {mul(g, map(Unary.STEP, 0, a))}, a);
    }

    /** x * sigmoid(x). */
    public static Tensor silu(Tensor a) {
        return GradFn.record(map(Unary.SILU, 0, a), "silu", g -> new Tensor[] {
                firstOrder() ? mul(g, map(Unary.DSILU, 0, a)) : mul(g, siluDerivative(a))}, a);
    }

    /** silu'(x) = s (1 + x (1 - s)) with s = sigmoid(x), as differentiable ops. */
    public static Tensor siluDerivative(Tensor x) {
        Tensor s = sigmoid(x);
        return mul(s, add(mul(x, rsub(1, s)), 1));
    }

    /** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): the tanh approximation used by GPT-2 and TTT. */
    public static Tensor gelu(Tensor a) {
        return GradFn.record(map(Unary.GELU, 0, a), "gelu", g -> new Tensor[] {
                firstOrder() ? mul(g, map(Unary.DGELU, 0, a)) : mul(g, geluDerivative(a))}, a);
    }

    /** gelu'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 A x^2), t = tanh(c (x + A x^3)). */
    public static Tensor geluDerivative(Tensor x) {
        final double c = 0.7978845608028654, k = 0.044715;
        Tensor x2 = mul(x, x);
        Tensor t = tanh(mul(mul(add(mul(x2, k), 1), x), c));
        Tensor du = mul(add(mul(x2, 3 * k), 1), c);
        return add(mul(add(t, 1), 0.5), mul(mul(mul(rsub(1, mul(t, t)), du), x), 0.5));
    }
}
