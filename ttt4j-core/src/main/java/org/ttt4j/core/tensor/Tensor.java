package org.ttt4j.core.tensor;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * An n-dimensional array: a shape over a contiguous row-major window of a {@link Storage}.
 * Views (reshape, leading-axis slices) share storage and are free; every other op allocates.
 * 0-d tensors (shape {@code []}) hold one element.
 *
 * <p>Autograd: a tensor either is a leaf (created here; {@link #requiresGrad(boolean)} marks it as
 * a parameter) or was produced by an op while gradient recording was on, in which case
 * {@link #gradFn()} holds its history. Tensors are immutable through the op API; the in-place
 * helpers below are for optimisers and loaders and refuse tensors that carry history.
 */
public final class Tensor {
    private final Storage storage;
    private final int offset;
    private final int[] shape;
    private final int size;

    private boolean requiresGrad;
    private GradFn gradFn;
    private Tensor grad;

    private Tensor(Storage storage, int offset, int[] shape) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape;
        this.size = Shapes.size(shape);
        if (offset < 0 || (long) offset + size > storage.length()) {
            throw new IllegalArgumentException("view of shape " + Shapes.str(shape) + " at offset "
                    + offset + " exceeds storage of " + storage.length() + " elements");
        }
    }

    // ---- factories -------------------------------------------------------------------------

    public static Tensor wrap(Storage storage, int offset, int... shape) {
        return new Tensor(storage, offset, shape.clone());
    }

    public static Tensor zeros(DType dtype, int... shape) {
        return new Tensor(Storage.allocate(dtype, Shapes.size(shape)), 0, shape.clone());
    }

    public static Tensor zeros(int... shape) {
        return zeros(DType.FP32, shape);
    }

    public static Tensor full(DType dtype, double value, int... shape) {
        Tensor t = zeros(dtype, shape);
        for (int i = 0; i < t.size; i++) t.storage.set(i, value);
        return t;
    }

    public static Tensor ones(DType dtype, int... shape) {
        return full(dtype, 1.0, shape);
    }

    public static Tensor scalar(DType dtype, double value) {
        return full(dtype, value);
    }

    public static Tensor scalar(double value) {
        return full(DType.FP32, value);
    }

    /** Copies {@code data} into a new FP32 tensor of the given shape. */
    public static Tensor of(float[] data, int... shape) {
        checkLength(data.length, shape);
        return new Tensor(new Storage.F32(data.clone()), 0, shape.clone());
    }

    /** Copies {@code data} into a new FP64 tensor of the given shape. */
    public static Tensor of(double[] data, int... shape) {
        checkLength(data.length, shape);
        return new Tensor(new Storage.F64(data.clone()), 0, shape.clone());
    }

    private static void checkLength(int length, int[] shape) {
        if (length != Shapes.size(shape)) {
            throw new IllegalArgumentException(length + " values do not fill shape " + Shapes.str(shape));
        }
    }

    /** Normal(0, std) values from a seeded generator: same seed, same tensor. */
    public static Tensor randn(DType dtype, SplittableRandom rng, double std, int... shape) {
        Tensor t = zeros(dtype, shape);
        for (int i = 0; i < t.size; i++) t.storage.set(i, gaussian(rng) * std);
        return t;
    }

    /** Uniform values in [lo, hi). */
    public static Tensor uniform(DType dtype, SplittableRandom rng, double lo, double hi, int... shape) {
        Tensor t = zeros(dtype, shape);
        for (int i = 0; i < t.size; i++) t.storage.set(i, lo + (hi - lo) * rng.nextDouble());
        return t;
    }

    /** Box-Muller; written out so the sequence is fixed by the seed on every JDK. */
    public static double gaussian(SplittableRandom rng) {
        double u1 = rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    // ---- shape and data access -------------------------------------------------------------

    public int[] shape() {
        return shape.clone();
    }

    public int dim(int axis) {
        return shape[Shapes.axis("dim", axis, shape.length)];
    }

    public int rank() {
        return shape.length;
    }

    public int size() {
        return size;
    }

    public DType dtype() {
        return storage.dtype();
    }

    public Storage storage() {
        return storage;
    }

    public int offset() {
        return offset;
    }

    /** The backing float array of an FP32 tensor (its elements start at {@link #offset()}). */
    public float[] f32() {
        if (storage instanceof Storage.F32(float[] a)) return a;
        throw new IllegalStateException("tensor is " + dtype() + ", not FP32");
    }

    public boolean isFastPath() {
        return storage instanceof Storage.F32;
    }

    /** Element at a flat (row-major) index. */
    public double get(int flatIndex) {
        if (flatIndex < 0 || flatIndex >= size) {
            throw new IndexOutOfBoundsException("index " + flatIndex + " in tensor of size " + size);
        }
        return storage.get(offset + flatIndex);
    }

    /** Element at a multi-index. */
    public double at(int... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index of rank " + index.length + " for shape " + Shapes.str(shape));
        }
        int flat = 0;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " for shape " + Shapes.str(shape));
            }
            flat = flat * shape[i] + index[i];
        }
        return storage.get(offset + flat);
    }

    /** The value of a one-element tensor. */
    public double item() {
        if (size != 1) throw new IllegalStateException("item() of a tensor of shape " + Shapes.str(shape));
        return storage.get(offset);
    }

    public float[] toFloatArray() {
        float[] r = new float[size];
        for (int i = 0; i < size; i++) r[i] = (float) storage.get(offset + i);
        return r;
    }

    public double[] toDoubleArray() {
        double[] r = new double[size];
        for (int i = 0; i < size; i++) r[i] = storage.get(offset + i);
        return r;
    }

    /** A contiguous copy in the given type, without history. */
    public Tensor to(DType dtype) {
        Tensor t = zeros(dtype, shape);
        for (int i = 0; i < size; i++) t.storage.set(i, storage.get(offset + i));
        return t;
    }

    /** A copy without history. */
    public Tensor copy() {
        return to(dtype());
    }

    /** A view of the same data with no history: a constant from autograd's point of view. */
    public Tensor detach() {
        return new Tensor(storage, offset, shape);
    }

    /** A view with another shape of the same size (no history; ops use Ops.reshape). */
    public Tensor view(int... newShape) {
        if (Shapes.size(newShape) != size) {
            throw new IllegalArgumentException("reshape: cannot view shape " + Shapes.str(shape)
                    + " as " + Shapes.str(newShape));
        }
        return new Tensor(storage, offset, newShape.clone());
    }

    /** A view of rows [from, to) of the leading axis (no history; ops use Ops.narrow). */
    public Tensor rows(int from, int to) {
        if (shape.length == 0 || from < 0 || to > shape[0] || from > to) {
            throw new IllegalArgumentException("rows: range [" + from + ", " + to + ") out of shape " + Shapes.str(shape));
        }
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(storage, offset + from * Shapes.prod(shape, 1, shape.length), s);
    }

    // ---- in-place helpers (optimisers, loaders) --------------------------------------------

    public void set(int flatIndex, double value) {
        checkMutable();
        if (flatIndex < 0 || flatIndex >= size) {
            throw new IndexOutOfBoundsException("index " + flatIndex + " in tensor of size " + size);
        }
        storage.set(offset + flatIndex, value);
    }

    /** Overwrites this tensor's elements with {@code src}'s (same shape). */
    public void assign(Tensor src) {
        checkMutable();
        if (!Arrays.equals(shape, src.shape)) {
            throw new IllegalArgumentException("assign: shapes " + Shapes.str(shape) + " and " + Shapes.str(src.shape));
        }
        if (storage instanceof Storage.F32(float[] d) && src.storage instanceof Storage.F32(float[] s)) {
            System.arraycopy(s, src.offset, d, offset, size);
        } else {
            for (int i = 0; i < size; i++) storage.set(offset + i, src.storage.get(src.offset + i));
        }
    }

    private void checkMutable() {
        if (gradFn != null) throw new IllegalStateException("in-place write to a tensor with autograd history");
    }

    // ---- autograd state --------------------------------------------------------------------

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf as a parameter whose gradient autograd computes. Returns this. */
    public Tensor requiresGrad(boolean on) {
        if (gradFn != null && !on) throw new IllegalStateException("cannot clear requiresGrad of a non-leaf");
        requiresGrad = on;
        return this;
    }

    public GradFn gradFn() {
        return gradFn;
    }

    public boolean isLeaf() {
        return gradFn == null;
    }

    /** Attaches history to a freshly made op output (called by the autograd recorder). */
    public void attachHistory(GradFn fn) {
        if (gradFn != null) throw new IllegalStateException("tensor already has history");
        gradFn = fn;
        requiresGrad = true;
    }

    /** Gradient accumulated by {@code Autograd.backward}, or null. */
    public Tensor grad() {
        return grad;
    }

    public void setGrad(Tensor g) {
        grad = g;
    }

    @Override
    public String toString() {
        var sb = new StringBuilder("Tensor").append(Shapes.str(shape)).append(' ').append(dtype());
        if (gradFn != null) sb.append(" grad_fn=").append(gradFn.op());
        else if (requiresGrad) sb.append(" requires_grad");
        sb.append(" [");
        int n = Math.min(size, 8);
        for (int i = 0; i < n; i++) sb.append(i > 0 ? ", " : "").append((float) storage.get(offset + i));
        return sb.append(size > n ? ", ...]" : "]").toString();
    }
}
