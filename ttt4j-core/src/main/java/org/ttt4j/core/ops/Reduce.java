package org.ttt4j.core.ops;

import static org.ttt4j.core.ops.Arith.mul;

import java.util.Arrays;
import org.ttt4j.core.kernel.Elementwise;
import org.ttt4j.core.kernel.Elementwise.Binary;
import org.ttt4j.core.kernel.Reductions;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.Shapes;
import org.ttt4j.core.tensor.Tensor;

/** Sums, means and maxima over axes, and the broadcast/sum-to pair that their gradients use. */
public final class Reduce {
    private Reduce() {}

    /** Sum of all elements: a 0-d tensor. */
    public static Tensor sum(Tensor a) {
        int[] all = new int[a.rank()];
        for (int i = 0; i < all.length; i++) all[i] = i;
        return sum(a, all, false);
    }

    /** Sum over {@code axes} (negative counts from the end); keepdim keeps them as size 1. */
    public static Tensor sum(Tensor a, int[] axes, boolean keepdim) {
        int[] shape = a.shape();
        boolean[] reduced = reducedAxes("sum", axes, shape.length);
        // Reduce runs of adjacent axes at once, highest first, so lower axis indices stay valid.
        int[] cur = shape.clone();
        Tensor t = a;
        for (int hi = shape.length - 1; hi >= 0; ) {
            if (!reduced[hi]) {
                hi--;
                continue;
            }
            int lo = hi;
            while (lo > 0 && reduced[lo - 1]) lo--;
            int outer = Shapes.prod(cur, 0, lo), n = Shapes.prod(cur, lo, hi + 1), inner = Shapes.prod(cur, hi + 1, cur.length);
            int[] next = cur.clone();
            for (int i = lo; i <= hi; i++) next[i] = 1;
            Tensor r = Tensor.zeros(a.dtype(), next);
            Reductions.reduce(Reductions.Kind.SUM, t, outer, n, inner, r, null);
            t = r;
            cur = next;
            hi = lo - 1;
        }
        Tensor out = t == a ? a.copy() : t;
        int[] keepShape = cur;
        Tensor result = keepdim ? out : out.view(dropAxes(keepShape, reduced));
        return GradFn.record(result, "sum", g -> new Tensor[] {broadcastTo(Layout.reshape(g, keepShape), shape)}, a);
    }

    /** Mean of all elements: a 0-d tensor. */
    public static Tensor mean(Tensor a) {
        return mul(sum(a), 1.0 / Math.max(1, a.size()));
    }

    /** Mean over {@code axes}. */
    public static Tensor mean(Tensor a, int[] axes, boolean keepdim) {
        boolean[] reduced = reducedAxes("mean", axes, a.rank());
        long count = 1;
        for (int i = 0; i < reduced.length; i++) if (reduced[i]) count *= a.dim(i);
        return mul(sum(a, axes, keepdim), 1.0 / Math.max(1, count));
    }

    /** Sum over the last axis, kept as size 1 (the common case in norms and softmax rules). */
    static Tensor sumLast(Tensor a) {
        return sum(a, new int[] {-1}, true);
    }

    /** Mean over the last axis, kept as size 1. */
    static Tensor meanLast(Tensor a) {
        return mean(a, new int[] {-1}, true);
    }

    /**
     * Maximum over one axis. The gradient goes to the first maximal element of each slice (a
     * constant selection, so the second derivative through the selection is zero).
     */
    public static Tensor max(Tensor a, int axis, boolean keepdim) {
        int[] shape = a.shape();
        int ax = Shapes.axis("max", axis, shape.length);
        if (shape[ax] == 0) throw new IllegalArgumentException("max: empty axis " + axis + " in shape " + Shapes.str(shape));
        int outer = Shapes.prod(shape, 0, ax), n = shape[ax], inner = Shapes.prod(shape, ax + 1, shape.length);
        int[] keepShape = shape.clone();
        keepShape[ax] = 1;
        Tensor out = Tensor.zeros(a.dtype(), keepShape);
        int[] arg = new int[outer * inner];
        Reductions.reduce(Reductions.Kind.MAX, a, outer, n, inner, out, arg);
        boolean[] reduced = new boolean[shape.length];
        reduced[ax] = true;
        Tensor result = keepdim ? out : out.view(dropAxes(keepShape, reduced));
        return GradFn.record(result, "max", g -> {
            Tensor mask = Tensor.zeros(a.dtype(), shape);
            for (int p = 0; p < outer; p++) {
                for (int i = 0; i < inner; i++) mask.set((p * n + arg[p * inner + i]) * inner + i, 1);
            }
            return new Tensor[] {mul(broadcastTo(Layout.reshape(g, keepShape), shape), mask)};
        }, a);
    }

    /** Copies {@code a} broadcast (numpy rules) to {@code shape}. Gradient: {@link #sumTo}. */
    public static Tensor broadcastTo(Tensor a, int[] shape) {
        if (Arrays.equals(a.shape(), shape)) return a;
        int[] b = Shapes.broadcast("broadcastTo", a.shape(), shape);
        if (!Arrays.equals(b, shape)) {
            throw new IllegalArgumentException("broadcastTo: shape " + Shapes.str(a.shape()) + " cannot broadcast to " + Shapes.str(shape));
        }
        Tensor out = Tensor.zeros(a.dtype(), shape);
        Elementwise.binary(Binary.ADD, Tensor.zeros(a.dtype(), shape), a, out);
        return GradFn.record(out, "broadcast_to", g -> new Tensor[] {sumTo(g, a.shape())}, a);
    }

    /**
     * Sums {@code g} down to {@code shape}, undoing a numpy broadcast: the gradient of an operand
     * that was broadcast. Gradient: {@link #broadcastTo}.
     */
    public static Tensor sumTo(Tensor g, int[] shape) {
        int[] gs = g.shape();
        if (Arrays.equals(gs, shape)) return g;
        int extra = gs.length - shape.length;
        if (extra < 0) throw new IllegalArgumentException("sumTo: shape " + Shapes.str(gs) + " cannot sum to " + Shapes.str(shape));
        int[] axes = new int[gs.length];
        int k = 0;
        for (int i = 0; i < gs.length; i++) {
            if (i < extra) {
                axes[k++] = i;
            } else if (shape[i - extra] == 1 && gs[i] != 1) {
                axes[k++] = i;
            } else if (shape[i - extra] != gs[i]) {
                throw new IllegalArgumentException("sumTo: shape " + Shapes.str(gs) + " cannot sum to " + Shapes.str(shape));
            }
        }
        return Layout.reshape(sum(g, Arrays.copyOf(axes, k), true), shape);
    }

    private static boolean[] reducedAxes(String op, int[] axes, int rank) {
        boolean[] r = new boolean[rank];
        for (int ax : axes) {
            int a = Shapes.axis(op, ax, rank);
            if (r[a]) throw new IllegalArgumentException(op + ": axis " + ax + " given twice");
            r[a] = true;
        }
        return r;
    }

    private static int[] dropAxes(int[] shape, boolean[] drop) {
        int n = 0;
        for (boolean d : drop) if (!d) n++;
        int[] r = new int[n];
        for (int i = 0, j = 0; i < shape.length; i++) if (!drop[i]) r[j++] = shape[i];
        return r;
    }
}
