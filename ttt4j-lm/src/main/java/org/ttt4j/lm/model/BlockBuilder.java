package org.ttt4j.lm.model;

import java.util.ArrayList;
import java.util.List;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.RmsNorm;
import org.ttt4j.lm.layers.SwiGlu;

/**
 * Builds block {@code index} of a model: the methods add their sub-layers in order (the mixer's,
 * then any before the MLP), the decoder adds the MLP. Parameters are drawn in the order the
 * sub-layers are added, under the names {@code model.layers.<index>.<name>}.
 */
public final class BlockBuilder {
    private final Params params;
    private final ModelConfig config;
    private final int index;
    private final List<SubLayer> layers = new ArrayList<>();
    private String mlpNormName = "post_attention_layernorm";

    BlockBuilder(Params params, ModelConfig config, int index) {
        this.params = params;
        this.config = config;
        this.index = index;
    }

    public Params params() {
        return params;
    }

    public ModelConfig config() {
        return config;
    }

    /** The block's index in the model. */
    public int index() {
        return index;
    }

    /** The block's parameter-name prefix plus {@code name}: {@code model.layers.<index>.<name>}. */
    public String name(String name) {
        return "model.layers." + index + "." + name;
    }

    /** A new RMSNorm of width d_model named {@code name} in this block. */
    public RmsNorm norm(String name) {
        return RmsNorm.create(params, name(name), config.dModel(), config.normEps());
    }

    /** A sandwich norm named {@code name} when the config has {@code post_norm}, else null. */
    public RmsNorm postNorm(String name) {
        return config.postNorm() ? norm(name) : null;
    }

    /** A new SwiGLU MLP of width d_ff named {@code name} in this block. */
    public SwiGlu swiGlu(String name) {
        return SwiGlu.create(params, name(name), config.dModel(), config.dFf());
    }

    public BlockBuilder add(SubLayer layer) {
        layers.add(layer);
        return this;
    }

    /** Names the RMSNorm before the block's MLP (Llama: {@code post_attention_layernorm}). */
    public BlockBuilder mlpNormName(String name) {
        this.mlpNormName = name;
        return this;
    }

    /** Block {@code index} of a model of config {@code c}: its mixer, what the methods add, its MLP. */
    static Block build(Params p, ModelConfig c, int index) {
        BlockBuilder b = new BlockBuilder(p, c, index);
        Mixer mixer = c.blockMixers().get(index);
        ModelParts.ofMixer(mixer.name()).orElseThrow().addMixer(b, mixer.name());
        for (ModelPart part : ModelParts.all()) part.addBeforeMlp(b);
        RmsNorm norm = b.norm(b.mlpNormName);
        SwiGlu mlp = b.swiGlu("mlp");
        b.add(new SubLayer.Mlp("mlp", norm, mlp, b.postNorm("mlp_out_norm")));
        return new Block(b.layers);
    }
}
