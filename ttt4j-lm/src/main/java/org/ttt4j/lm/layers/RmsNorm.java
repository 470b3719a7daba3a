package org.ttt4j.lm.layers;

import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.Tensor;

/** RMSNorm over the last axis with a learned scale (init ones). */
public record RmsNorm(Tensor weight, double eps) {
    public static RmsNorm create(Params p, String name, int width, double eps) {
        return new RmsNorm(p.ones(name + ".weight", width), eps);
    }

    public Tensor apply(Tensor x) {
        return Nn.rmsNorm(x, weight, eps);
    }
}
