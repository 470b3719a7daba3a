package org.ttt4j.core.ops;

import static org.ttt4j.core.ops.Reduce.sumTo;

import org.ttt4j.core.kernel.Elementwise;
import org.ttt4j.core.kernel.Elementwise.Binary;
import org.ttt4j.core.kernel.Elementwise.Unary;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Shapes;
import org.ttt4j.core.tensor.Tensor;

/**
 * Arithmetic: add, sub, mul, div, neg, scalar forms, comparisons and select.
 *
 * <p>Broadcasting: the binary ops and {@link #where} broadcast their operands with numpy's rules
 * (shapes aligned on the right; a dimension of 1 stretches). Their gradients are summed back to
 * each operand's shape. Shapes that do not broadcast throw IllegalArgumentException naming the op
 * and both shapes. FP32 with FP64 computes in FP64.
 */
public final class Arith {
    private Arith() {}

    /** a + b, broadcasting. */
    public static Tensor add(Tensor a, Tensor b) {
        Tensor out = binary("add", Binary.ADD, a, b);
        return GradFn.record(out, "add", g -> new Tensor[] {
                a.requiresGrad() ? sumTo(g, a.shape()) : null,
                b.requiresGrad() ? sumTo(g, b.shape()) : null}, a, b);
    }

    /** a - b, broadcasting. */
    public static Tensor sub(Tensor a, Tensor b) {
        Tensor out = binary("sub", Binary.SUB, a, b);
        return GradFn.record(out, "sub", g -> new Tensor[] {
                a.requiresGrad() ? sumTo(g, a.shape()) : null,
                b.requiresGrad() ? neg(sumTo(g, b.shape())) : null}, a, b);
    }

    /** a * b element-wise, broadcasting. */
    public static Tensor mul(Tensor a, Tensor b) {
        Tensor out = binary("mul", Binary.MUL, a, b);
        return GradFn.record(out, "mul", g -> new Tensor[] {
                a.requiresGrad() ? sumTo(mul(g, b), a.shape()) : null,
                b.requiresGrad() ? sumTo(mul(g, a), b.shape()) : null}, a, b);
    }

    /** a / b element-wise, broadcasting. */
    public static Tensor div(Tensor a, Tensor b) {
        Tensor out = binary("div", Binary.DIV, a, b);
        return GradFn.record(out, "div", g -> new Tensor[] {
                a.requiresGrad() ? sumTo(div(g, b), a.shape()) : null,
                b.requiresGrad() ? sumTo(neg(div(mul(g, out), b)), b.shape()) : null}, a, b);
    }

    /** 1 where a > b else 0 (broadcasting); a constant: no gradient flows through comparisons. */
    public static Tensor greater(Tensor a, Tensor b) {
        return binary("greater", Binary.GT, a, b);
    }

    private static Tensor binary(String op, Binary f, Tensor a, Tensor b) {
        int[] shape = Shapes.broadcast(op, a.shape(), b.shape());
        Tensor out = Tensor.zeros(DType.promote(a.dtype(), b.dtype()), shape);
        Elementwise.binary(f, a, b, out);
        return out;
    }

    /**
     * cond != 0 ? a : b, with cond, a and b broadcast together (numpy rules). cond is a constant;
     * gradients flow to a where cond holds and to b elsewhere.
     */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        int[] shape = Shapes.broadcast("where", Shapes.broadcast("where", cond.shape(), a.shape()), b.shape());
        Tensor out = Tensor.zeros(DType.promote(a.dtype(), b.dtype()), shape);
        Elementwise.where(cond, a, b, out);
        return GradFn.record(out, "where", g -> {
            Tensor zero = Tensor.scalar(g.dtype(), 0);
            return new Tensor[] {
                    a.requiresGrad() ? sumTo(where(cond, g, zero), a.shape()) : null,
                    b.requiresGrad() ? sumTo(where(cond, zero, g), b.shape()) : null};
        }, a, b);
    }

    // ---- unary forms -----------------------------------------------------------------------

    static Tensor map(Unary f, double p, Tensor a) {
        Tensor out = Tensor.zeros(a.dtype(), a.shape());
        Elementwise.unary(f, p, a, out);
        return out;
    }

    public static Tensor neg(Tensor a) {
        return GradFn.record(map(Unary.NEG, 0, a), "neg", g -> new Tensor[] {neg(g)}, a);
    }

    /** a + c. */
    public static Tensor add(Tensor a, double c) {
        return GradFn.record(map(Unary.ADD_SCALAR, c, a), "add_scalar", g -> new Tensor[] {g}, a);
    }

    /** a - c. */
    public static Tensor sub(Tensor a, double c) {
        return add(a, -c);
    }

    /** c - a. */
    public static Tensor rsub(double c, Tensor a) {
        return add(neg(a), c);
    }

    /** a * c. */
    public static Tensor mul(Tensor a, double c) {
        return GradFn.record(map(Unary.MUL_SCALAR, c, a), "mul_scalar", g -> new Tensor[] {mul(g, c)}, a);
    }

    /** a / c. */
    public static Tensor div(Tensor a, double c) {
        return mul(a, 1 / c);
    }

    /** Whether backward rules may take fused first-order shortcuts (no graph is being built). */
    static boolean firstOrder() {
        return !GradMode.isEnabled();
    }
}
