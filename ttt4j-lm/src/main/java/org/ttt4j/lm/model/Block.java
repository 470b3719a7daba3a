package org.ttt4j.lm.model;

import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.RmsNorm;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SwiGlu;

/**
 * One pre-norm block: {@code h += Mixer(RMSNorm(h)); h += SwiGLU(RMSNorm(h))}, with the optional
 * sandwich norms ({@code post_norm}) on each sub-layer output before the residual add.
 */
public record Block(RmsNorm attnNorm, SelfAttention attention, RmsNorm attnOutNorm,
                    RmsNorm mlpNorm, SwiGlu mlp, RmsNorm mlpOutNorm) {

    static Block create(Params p, ModelConfig c, int index) {
        String n = "model.layers." + index;
        Mixer mixer = c.blockMixers().get(index);
        return new Block(
                RmsNorm.create(p, n + ".input_layernorm", c.dModel(), c.normEps()),
                SelfAttention.create(p, n + ".self_attn", c.dModel(), c.heads(), mixer.window(), c.qkNorm(),
                        c.ropeTheta(), c.normEps()),
                c.postNorm() ? RmsNorm.create(p, n + ".attn_out_norm", c.dModel(), c.normEps()) : null,
                RmsNorm.create(p, n + ".post_attention_layernorm", c.dModel(), c.normEps()),
                SwiGlu.create(p, n + ".mlp", c.dModel(), c.dFf()),
                c.postNorm() ? RmsNorm.create(p, n + ".mlp_out_norm", c.dModel(), c.normEps()) : null);
    }

    /** Training / prefill over a whole sequence starting at position {@code start}. */
    public Tensor apply(Tensor h, int start) {
        h = residual(h, attention.apply(attnNorm.apply(h), start), attnOutNorm);
        return residual(h, mlp.apply(mlpNorm.apply(h)), mlpOutNorm);
    }

    /** Decoding against a cache. */
    public Tensor apply(Tensor h, KvCache cache) {
        h = residual(h, attention.apply(attnNorm.apply(h), cache), attnOutNorm);
        return residual(h, mlp.apply(mlpNorm.apply(h)), mlpOutNorm);
    }

    private static Tensor residual(Tensor h, Tensor update, RmsNorm postNorm) {
        return Arith.add(h, postNorm == null ? update : postNorm.apply(update));
    }
}
