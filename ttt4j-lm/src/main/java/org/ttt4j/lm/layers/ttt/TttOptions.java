package org.ttt4j.lm.layers.ttt;

/**
 * The settings of one TTT layer (docs/methods.md, section 2).
 *
 * @param kind        TTT-Linear or TTT-MLP inner model
 * @param mamba       the Mamba backbone: shared q/k projection through two causal convolutions, and
 *                    a GELU output gate (the block-level convolution belongs to the block)
 * @param miniBatch   tokens per inner step, b
 * @param baseLr      eta_base
 * @param innerNorm   {@code f(x) = x + LN(f_res(x))} with target v - k; off: plain {@code f(x) = f_res(x)},
 *                    target v (the "linear attention" rung of the ablation)
 * @param learnableLr token-dependent gate and learnable index offsets; off: {@code eta_ij = eta_base / (i d)}
 * @param convWidth   width of the causal convolutions (Mamba backbone)
 * @param ropeTheta   RoPE base; positions restart in each mini-batch
 * @param eps         LayerNorm epsilon (inner norm and output norm)
 */
public record TttOptions(InnerLoop.Kind kind, boolean mamba, int miniBatch, double baseLr, boolean innerNorm,
                         boolean learnableLr, int convWidth, double ropeTheta, double eps) {
    public TttOptions {
        if (miniBatch < 1) throw new IllegalArgumentException("TTT mini-batch must be >= 1, got " + miniBatch);
        if (!(baseLr > 0)) throw new IllegalArgumentException("TTT base learning rate must be > 0, got " + baseLr);
        if (convWidth < 1) throw new IllegalArgumentException("conv width must be >= 1, got " + convWidth);
    }

    /** The published default eta_base: 1.0 for TTT-Linear, 0.1 for TTT-MLP. */
    public static double defaultBaseLr(InnerLoop.Kind kind) {
        return kind == InnerLoop.Kind.LINEAR ? 1.0 : 0.1;
    }

    InnerLoop.Inner inner() {
        return new InnerLoop.Inner(kind, innerNorm, eps);
    }
}
