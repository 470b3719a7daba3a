package org.ttt4j.core.ops;

import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * Constant 0/1 masks [t, s] for attention over s keys by the last t queries (query i sits at
 * position i + s - t). Use with {@link Arith#where}.
 */
public final class Masks {
    private Masks() {}

    /** 1 where key j {@code <=} the query position (lower-triangular, diagonal included). */
    public static Tensor causal(int t, int s) {
        return band(t, s, 0);
    }

    /** 1 where {@code i - window < j <= i} for query position i; window 0 means unlimited (causal). */
    public static Tensor band(int t, int s, int window) {
        return visible(t, s, true, window);
    }

    /**
     * 1 where key j is visible to query i at position p = i + s - t: {@code j <= p} when causal,
     * and {@code j > p - window} when window > 0 (the rule of {@link Attention#attention}).
     */
    public static Tensor visible(int t, int s, boolean causal, int window) {
        if (t < 0 || s < 0 || t > s || window < 0) {
            throw new IllegalArgumentException("mask: need 0 <= t <= s and window >= 0, got t=" + t + " s=" + s + " window=" + window);
        }
        Tensor m = Tensor.zeros(DType.FP32, t, s);
        for (int i = 0; i < t; i++) {
            int p = i + s - t;
            for (int j = 0; j < s; j++) {
                if ((!causal || j <= p) && (window == 0 || j > p - window)) m.set(i * s + j, 1);
            }
        }
        return m;
    }
}
