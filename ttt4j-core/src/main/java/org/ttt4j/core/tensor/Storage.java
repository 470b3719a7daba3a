package org.ttt4j.core.tensor;

/**
 * A flat array of elements. Reference kernels read and write through {@link #get}/{@link #set}
 * in double precision (one code path for both types; FP32 rounds on store). Fast kernels take the
 * backing {@code float[]} of an {@link F32} directly.
 */
public sealed interface Storage permits Storage.F32, Storage.F64 {

    double get(int i);

    void set(int i, double v);

    int length();

    DType dtype();

    static Storage allocate(DType dtype, int length) {
        return switch (dtype) {
            case FP32 -> {
                float[] a = Arena.take(length);
                yield new F32(a != null ? a : new float[length]);
            }
            case FP64 -> new F64(new double[length]);
        };
    }

    record F32(float[] a) implements Storage {
        @Override public double get(int i) { return a[i]; }
        @Override public void set(int i, double v) { a[i] = (float) v; }
        @Override public int length() { return a.length; }
        @Override public DType dtype() { return DType.FP32; }
    }

    record F64(double[] a) implements Storage {
        @Override public double get(int i) { return a[i]; }
        @Override public void set(int i, double v) { a[i] = v; }
        @Override public int length() { return a.length; }
        @Override public DType dtype() { return DType.FP64; }
    }
}
