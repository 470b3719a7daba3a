package org.ttt4j.lm.optim;

import java.util.Map;
import org.ttt4j.core.tensor.Tensor;

/** Global-norm gradient clipping. */
public final class GradClip {
    private GradClip() {}

    /** The global L2 norm of all gradients (accumulated in double, in map order). */
    public static double norm(Map<String, Tensor> grads) {
        double ss = 0;
        for (Tensor g : grads.values()) {
            float[] a = g.f32();
            for (int i = g.offset(), end = g.offset() + g.size(); i < end; i++) ss += (double) a[i] * a[i];
        }
        return Math.sqrt(ss);
    }

    /** Scales the gradients in place so their global norm is at most {@code max}; returns the norm before. */
    public static double clip(Map<String, Tensor> grads, double max) {
        double n = norm(grads);
        if (max > 0 && n > max) {
            float s = (float) (max / (n + 1e-6));
            for (Tensor g : grads.values()) {
                float[] a = g.f32();
                for (int i = g.offset(), end = g.offset() + g.size(); i < end; i++) a[i] *= s;
            }
        }
        return n;
    }
}
