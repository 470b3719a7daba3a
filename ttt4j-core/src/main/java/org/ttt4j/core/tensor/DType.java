package org.ttt4j.core.tensor;

/**
 * Element types. FP32 is the working type of every model; FP64 exists so that gradient checks can
 * use central finite differences with tight tolerances. FP64 tensors always run the scalar
 * reference kernels.
 */
public enum DType {
    FP32(4),
    FP64(8);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** The wider of two types: mixing FP32 and FP64 computes in FP64. */
    public static DType promote(DType a, DType b) {
        return a == FP64 || b == FP64 ? FP64 : FP32;
    }
}
