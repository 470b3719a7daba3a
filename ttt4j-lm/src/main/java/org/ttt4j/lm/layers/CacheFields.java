package org.ttt4j.lm.layers;

import java.util.Arrays;
import java.util.Map;
import org.ttt4j.core.tensor.Tensor;

/**
 * Reading the fields of a saved decoding state ({@link MixerCache#saveState}) with errors that name
 * the source (a file) and the field: a missing field, a wrong shape, a counter out of range.
 */
public final class CacheFields {
    private CacheFields() {}

    /**
     * The tensor {@code name}, which must have {@code shape}; returned as a fresh copy.
     *
     * @param tensors the saved tensors
     * @param name the field
     * @param shape the shape it must have
     * @param source what the state was read from, named in errors
     * @return a copy of the tensor
     * @throws IllegalArgumentException naming {@code source} and the field when it is missing or mis-shaped
     */
    public static Tensor tensor(Map<String, Tensor> tensors, String name, int[] shape, String source) {
        Tensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException(source + ": field " + name + " is missing");
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(source + ": field " + name + " has shape " + Arrays.toString(t.shape()) + ", this model's cache "
                    + Arrays.toString(shape));
        }
        return t.copy();
    }

    /**
     * The counter {@code name} of the metadata, an integer in [min, max].
     *
     * @param meta the saved metadata
     * @param name the field
     * @param min its least valid value
     * @param max its greatest valid value
     * @param source what the state was read from, named in errors
     * @return the value
     * @throws IllegalArgumentException naming {@code source} and the field when it is missing, not an integer or out of range
     */
    public static long counter(Map<String, String> meta, String name, long min, long max, String source) {
        String v = meta.get(name);
        if (v == null) throw new IllegalArgumentException(source + ": field " + name + " is missing");
        long n;
        try {
            n = Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + ": field " + name + " is not an integer: \"" + v + "\"");
        }
        if (n < min || n > max) throw new IllegalArgumentException(source + ": field " + name + " is " + n + ", outside [" + min + ", " + max + "]");
        return n;
    }
}
