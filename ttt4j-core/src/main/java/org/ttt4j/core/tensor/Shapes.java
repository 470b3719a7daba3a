package org.ttt4j.core.tensor;

import java.util.Arrays;

/** Shape arithmetic shared by the ops: sizes, strides, broadcasting, axis normalisation. */
public final class Shapes {
    /** Upper bound on elements in one tensor: Java arrays are int-indexed. */
    public static final long MAX_SIZE = Integer.MAX_VALUE - 8;

    private Shapes() {}

    public static int size(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
            n *= d;
            if (n > MAX_SIZE) {
                throw new IllegalArgumentException("shape " + str(shape) + " has more than "
                        + MAX_SIZE + " elements (a Java array holds at most that many)");
            }
        }
        return (int) n;
    }

    public static String str(int[] shape) {
        return Arrays.toString(shape);
    }

    /** Row-major strides of a contiguous tensor. */
    public static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** Resolves a possibly negative axis against a rank, or throws naming the op. */
    public static int axis(String op, int axis, int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException(op + ": axis " + axis + " out of range for rank " + rank);
        }
        return a;
    }

    /** Numpy broadcasting of two shapes, or IllegalArgumentException naming the op and both shapes. */
    public static int[] broadcast(String op, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + str(a) + " and " + str(b)
                        + " do not broadcast");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /**
     * Strides with which an input of shape {@code in} is read when broadcast to {@code out}: zero
     * on broadcast axes, aligned to the right.
     */
    public static int[] broadcastStrides(int[] in, int[] out) {
        int[] st = strides(in);
        int[] r = new int[out.length];
        int shift = out.length - in.length;
        for (int i = 0; i < in.length; i++) {
            r[i + shift] = in[i] == 1 && out[i + shift] != 1 ? 0 : st[i];
        }
        return r;
    }

    /** Product of the dims in [from, to). */
    public static int prod(int[] shape, int from, int to) {
        int n = 1;
        for (int i = from; i < to; i++) n *= shape[i];
        return n;
    }
}
