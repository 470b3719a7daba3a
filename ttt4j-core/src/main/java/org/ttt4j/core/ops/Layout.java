package org.ttt4j.core.ops;

import java.util.List;
import org.ttt4j.core.kernel.Elementwise;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.Shapes;
import org.ttt4j.core.tensor.Storage;
import org.ttt4j.core.tensor.Tensor;

/**
 * Shape ops: reshape and leading-axis narrowing (free views), slice, pad-back, concat,
 * transpose and permute (copies; the matmul kernels read transposed operands in place, so
 * attention and linear layers rarely need these).
 */
public final class Layout {
    private Layout() {}

    /** A view with a new shape of the same size; one dimension may be -1 (inferred). */
    public static Tensor reshape(Tensor a, int... shape) {
        int[] s = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: more than one -1 in " + Shapes.str(shape));
                infer = i;
            } else {
                known *= s[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || a.size() % known != 0) {
                throw new IllegalArgumentException("reshape: cannot view shape " + Shapes.str(a.shape()) + " as " + Shapes.str(shape));
            }
            s[infer] = (int) (a.size() / known);
        }
        int[] from = a.shape();
        if (java.util.Arrays.equals(from, s)) return a;
        Tensor out = a.view(s);
        return GradFn.record(out, "reshape", g -> new Tensor[] {reshape(g, from)}, a);
    }

    /** Rows [start, end) of the leading axis: a free view. */
    public static Tensor narrow(Tensor a, int start, int end) {
        Tensor out = a.rows(start, end);
        int full = a.dim(0);
        return GradFn.record(out, "narrow", g -> new Tensor[] {pad(g, 0, start, full)}, a);
    }

    /** Elements [start, end) along {@code axis} (a copy). */
    public static Tensor slice(Tensor a, int axis, int start, int end) {
        int[] shape = a.shape();
        int ax = Shapes.axis("slice", axis, shape.length);
        if (start < 0 || end > shape[ax] || start > end) {
            throw new IllegalArgumentException("slice: range [" + start + ", " + end + ") out of axis " + axis
                    + " of shape " + Shapes.str(shape));
        }
        int[] os = shape.clone();
        os[ax] = end - start;
        Tensor out = Tensor.zeros(a.dtype(), os);
        int outer = Shapes.prod(shape, 0, ax), inner = Shapes.prod(shape, ax + 1, shape.length);
        for (int p = 0; p < outer; p++) {
            copy(a, a.offset() + (p * shape[ax] + start) * inner, out, out.offset() + p * os[ax] * inner, os[ax] * inner);
        }
        int full = shape[ax];
        return GradFn.record(out, "slice", g -> new Tensor[] {pad(g, ax, start, full)}, a);
    }

    /** Places {@code a} at [start, start + n) of a zero tensor whose {@code axis} has length {@code full}. */
    public static Tensor pad(Tensor a, int axis, int start, int full) {
        int[] shape = a.shape();
        int ax = Shapes.axis("pad", axis, shape.length);
        int n = shape[ax];
        if (start < 0 || start + n > full) {
            throw new IllegalArgumentException("pad: " + n + " elements at " + start + " exceed length " + full);
        }
        int[] os = shape.clone();
        os[ax] = full;
        Tensor out = Tensor.zeros(a.dtype(), os);
        int outer = Shapes.prod(shape, 0, ax), inner = Shapes.prod(shape, ax + 1, shape.length);
        for (int p = 0; p < outer; p++) {
            copy(a, a.offset() + p * n * inner, out, out.offset() + (p * full + start) * inner, n * inner);
        }
        return GradFn.record(out, "pad", g -> new Tensor[] {slice(g, ax, start, start + n)}, a);
    }

    /** Concatenation along {@code axis}; all other dimensions must agree. */
    public static Tensor concat(List<Tensor> parts, int axis) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concat: no tensors");
        int[] first = parts.getFirst().shape();
        int ax = Shapes.axis("concat", axis, first.length);
        int total = 0;
        for (Tensor t : parts) {
            int[] s = t.shape();
            boolean ok = s.length == first.length;
            for (int i = 0; ok && i < s.length; i++) ok = i == ax || s[i] == first[i];
            if (!ok) {
                throw new IllegalArgumentException("concat: shapes " + Shapes.str(first) + " and " + Shapes.str(s)
                        + " differ outside axis " + axis);
            }
            if (t.dtype() != parts.getFirst().dtype()) throw new IllegalArgumentException("concat: mixed dtypes");
            total += s[ax];
        }
        int[] os = first.clone();
        os[ax] = total;
        Tensor out = Tensor.zeros(parts.getFirst().dtype(), os);
        int outer = Shapes.prod(first, 0, ax), inner = Shapes.prod(first, ax + 1, first.length);
        int[] starts = new int[parts.size()];
        int at = 0;
        for (int k = 0; k < parts.size(); k++) {
            Tensor t = parts.get(k);
            int n = t.dim(ax);
            starts[k] = at;
            for (int p = 0; p < outer; p++) {
                copy(t, t.offset() + p * n * inner, out, out.offset() + (p * total + at) * inner, n * inner);
            }
            at += n;
        }
        Tensor[] inputs = parts.toArray(Tensor[]::new);
        return GradFn.record(out, "concat", g -> {
            Tensor[] r = new Tensor[inputs.length];
            for (int k = 0; k < inputs.length; k++) {
                if (inputs[k].requiresGrad()) r[k] = slice(g, ax, starts[k], starts[k] + inputs[k].dim(ax));
            }
            return r;
        }, inputs);
    }

    /** Swaps two axes (a copy). */
    public static Tensor transpose(Tensor a, int i, int j) {
        int rank = a.rank();
        int[] perm = new int[rank];
        for (int k = 0; k < rank; k++) perm[k] = k;
        int x = Shapes.axis("transpose", i, rank), y = Shapes.axis("transpose", j, rank);
        perm[x] = y;
        perm[y] = x;
        return permute(a, perm);
    }

    /** out.shape[d] = a.shape[perm[d]] (a copy). */
    public static Tensor permute(Tensor a, int... perm) {
        int[] shape = a.shape();
        if (perm.length != shape.length) {
            throw new IllegalArgumentException("permute: " + perm.length + " axes for shape " + Shapes.str(shape));
        }
        int[] inverse = new int[perm.length];
        boolean[] seen = new boolean[perm.length];
        int[] os = new int[perm.length];
        for (int d = 0; d < perm.length; d++) {
            int p = Shapes.axis("permute", perm[d], perm.length);
            if (seen[p]) throw new IllegalArgumentException("permute: axis " + perm[d] + " repeated in " + Shapes.str(perm));
            seen[p] = true;
            inverse[p] = d;
            os[d] = shape[p];
        }
        int[] norm = new int[perm.length];
        for (int d = 0; d < perm.length; d++) norm[d] = Shapes.axis("permute", perm[d], perm.length);
        Tensor out = Tensor.zeros(a.dtype(), os);
        Elementwise.permute(a, norm, out);
        return GradFn.record(out, "permute", g -> new Tensor[] {permute(g, inverse)}, a);
    }

    private static void copy(Tensor src, int from, Tensor dst, int to, int n) {
        if (src.storage() instanceof Storage.F32(float[] s) && dst.storage() instanceof Storage.F32(float[] d)) {
            System.arraycopy(s, from, d, to, n);
        } else {
            for (int i = 0; i < n; i++) dst.storage().set(to + i, src.storage().get(from + i));
        }
    }
}
