package org.ttt4j.core.kernel;

import java.util.Locale;

/**
 * How a weight matrix is stored for inference: fp32, bfloat16 (the high 16 bits of an fp32,
 * rounded to nearest even) or Q8_0-style int8 blocks of {@value PackedMatrix#Q8_BLOCK} along a
 * row with one fp32 scale per block (w = q * scale, scale = max|w| / 127).
 */
public enum WeightFormat {
    F32(4.0),
    BF16(2.0),
    Q8(1.0 + 4.0 / PackedMatrix.Q8_BLOCK);

    private final double bytesPerWeight;

    WeightFormat(double bytesPerWeight) {
        this.bytesPerWeight = bytesPerWeight;
    }

    /** Bytes one weight takes on average, scales included. */
    public double bytesPerWeight() {
        return bytesPerWeight;
    }

    /** The name used on command lines: f32, bf16, q8. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The format named {@code s} (f32, bf16 or q8, any case). */
    public static WeightFormat parse(String s) {
        for (WeightFormat f : values()) if (f.label().equalsIgnoreCase(s.trim())) return f;
        throw new IllegalArgumentException("weight format: expected f32, bf16 or q8, got \"" + s + "\"");
    }
}
