package org.ttt4j.lm.methods.attention;

import java.util.List;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.model.BlockBuilder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.SubLayer;

/**
 * Causal self-attention over every earlier token (mixer {@code full}), with RoPE and optional
 * per-head query/key RMSNorm; the Hugging Face Llama parameter names.
 */
public class FullAttention implements Method {
    @Override public String name() { return "full"; }
    @Override public String title() { return "Full attention"; }
    @Override public String summary() { return "causal self-attention over the whole context (a growing KV cache)"; }
    @Override public List<String> mixerNames() { return List.of(name()); }

    @Override
    public void addMixer(BlockBuilder b, String mixer) {
        ModelConfig c = b.config();
        int window = window(mixer, c);
        SelfAttention.Bias bias = c.attentionBias() == null ? SelfAttention.Bias.NONE
                : c.attentionBias().equals("all") ? SelfAttention.Bias.ALL : SelfAttention.Bias.QKV;
        b.add(new SubLayer.Mixing("mixer", b.norm("input_layernorm"),
                SelfAttention.create(b.params(), b.name("self_attn"), c.dModel(), c.heads(), c.kvHeads(), c.headDim(), window, c.qkNorm(), bias,
                        c.ropeTheta(), c.ropeScaling(), c.normEps()),
                b.postNorm("attn_out_norm")));
        b.mlpNormName("post_attention_layernorm");
    }
}
