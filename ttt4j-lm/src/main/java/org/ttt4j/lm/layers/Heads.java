package org.ttt4j.lm.layers;

import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.tensor.Tensor;

/** Moving between the model layout [B, T, D] and the per-head layout [B, H, T, d]. */
public final class Heads {
    private Heads() {}

    /** [B, T, D] -> [B, H, T, d]. */
    public static Tensor split(Tensor x, int heads) {
        int b = x.dim(0), t = x.dim(1);
        return Layout.permute(Layout.reshape(x, b, t, heads, -1), 0, 2, 1, 3);
    }

    /** [B, H, T, d] -> [B, T, D]. */
    public static Tensor merge(Tensor a) {
        int b = a.dim(0), t = a.dim(2);
        return Layout.reshape(Layout.permute(a, 0, 2, 1, 3), b, t, -1);
    }

    /** Positions start .. start+t-1, each taken modulo {@code period} (0: no modulo). */
    public static int[] positions(long start, int t, int period) {
        int[] p = new int[t];
        for (int i = 0; i < t; i++) p[i] = (int) (period > 0 ? (start + i) % period : start + i);
        return p;
    }
}
