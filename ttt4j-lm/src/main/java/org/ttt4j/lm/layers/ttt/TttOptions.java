package org.ttt4j.lm.layers.ttt;

/**
 * The settings of one TTT layer (docs/methods.md, section 2).
 *
 * @param kind        TTT-Linear or TTT-MLP inner model
 * @param useGate     a GELU output gate {@code gelu(g_proj(x)) * y} (the reference's {@code use_gate})
 * @param shareQk     one q/k projection through two causal convolutions instead of q_proj and k_proj
 *                    (the reference's {@code share_qk})
 * @param preConv     a causal convolution sub-layer before the TTT layer (the reference's
 *                    {@code pre_conv}; it belongs to the block, this flag only sizes its cache)
 * @param miniBatch   tokens per inner step, b
 * @param baseLr      eta_base
 * @param innerNorm   {@code f(x) = x + LN(f_res(x))} with target v - k; off: plain {@code f(x) = f_res(x)},
 *                    target v (the "linear attention" rung of the ablation)
 * @param learnableLr token-dependent gate and learnable index offsets; off: {@code eta_ij = eta_base / (i d)}
 * @param convWidth   width of the causal convolutions (Mamba backbone)
 * @param ropeTheta   RoPE base; positions restart in each mini-batch
 * @param eps         LayerNorm epsilon (inner norm and output norm)
 */
public record TttOptions(InnerLoop.Kind kind, boolean useGate, boolean shareQk, boolean preConv, int miniBatch, double baseLr, boolean innerNorm,
                         boolean learnableLr, int convWidth, double ropeTheta, double eps) {
    public TttOptions {
        if (miniBatch < 1) throw new IllegalArgumentException("TTT mini-batch must be >= 1, got " + miniBatch);
        if (!(baseLr > 0)) throw new IllegalArgumentException("TTT base learning rate must be > 0, got " + baseLr);
        if (convWidth < 1) throw new IllegalArgumentException("conv width must be >= 1, got " + convWidth);
    }

    /** The Mamba backbone ({@code mamba}: use_gate, share_qk and pre_conv all on) or the Transformer one (all off). */
    public TttOptions(InnerLoop.Kind kind, boolean mamba, int miniBatch, double baseLr, boolean innerNorm, boolean learnableLr, int convWidth,
                      double ropeTheta, double eps) {
        this(kind, mamba, mamba, mamba, miniBatch, baseLr, innerNorm, learnableLr, convWidth, ropeTheta, eps);
    }

    /** Whether this is the Mamba backbone: all three of use_gate, share_qk and pre_conv. */
    public boolean mamba() {
        return useGate && shareQk && preConv;
    }

    /** Whether any convolution runs (share_qk or pre_conv), so a decode cache keeps histories. */
    public boolean anyConv() {
        return shareQk || preConv;
    }

    /** The published default eta_base: 1.0 for TTT-Linear, 0.1 for TTT-MLP. */
    public static double defaultBaseLr(InnerLoop.Kind kind) {
        return kind == InnerLoop.Kind.LINEAR ? 1.0 : 0.1;
    }

    InnerLoop.Inner inner() {
        return new InnerLoop.Inner(kind, innerNorm, eps);
    }
}
