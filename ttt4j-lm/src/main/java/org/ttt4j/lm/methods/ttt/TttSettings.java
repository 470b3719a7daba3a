package org.ttt4j.lm.methods.ttt;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import org.ttt4j.lm.layers.ttt.InnerLoop;
import org.ttt4j.lm.layers.ttt.TttOptions;
import org.ttt4j.lm.model.ModelConfig;

/**
 * The {@code ttt} section of a model config, used by {@code ttt_linear} and {@code ttt_mlp} blocks.
 * Every field may be left out for the published default: mini_batch 16, base_lr 1.0 (TTT-Linear)
 * or 0.1 (TTT-MLP), backbone "transformer", inner_norm and learnable_lr true, conv_width 4.
 * The switches exist for the ablation ladder of the TTT paper's Table 1.
 *
 * <p>The three architecture flags of the PyTorch reference's {@code TTTConfig} are independent:
 * {@code use_gate} (GELU output gate), {@code share_qk} (one q/k projection through two causal
 * convolutions) and {@code pre_conv} (a causal convolution sub-layer before the TTT layer).
 * {@code backbone} is a shorthand: "mamba" sets all three, "transformer" (the default) none; a flag
 * given explicitly overrides what the shorthand says for it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TttSettings(
        @JsonProperty("mini_batch") Integer miniBatch,
        @JsonProperty("base_lr") Double baseLr,
        @JsonProperty("backbone") String backbone,
        @JsonProperty("inner_norm") Boolean innerNorm,
        @JsonProperty("learnable_lr") Boolean learnableLr,
        @JsonProperty("conv_width") Integer convWidth,
        @JsonProperty("use_gate") Boolean useGate,
        @JsonProperty("share_qk") Boolean shareQk,
        @JsonProperty("pre_conv") Boolean preConv) {

    @JsonCreator
    public TttSettings {}

    /** The settings without the separate flags (the backbone shorthand only). */
    public TttSettings(Integer miniBatch, Double baseLr, String backbone, Boolean innerNorm, Boolean learnableLr, Integer convWidth) {
        this(miniBatch, baseLr, backbone, innerNorm, learnableLr, convWidth, null, null, null);
    }

    public static final TttSettings DEFAULTS = new TttSettings(null, null, null, null, null, null);

    /** The config section's name. */
    public static final String SECTION = "ttt";

    /** The {@code ttt} section of {@code c}, or the defaults when it has none. */
    public static TttSettings of(ModelConfig c) {
        TttSettings s = c.section(SECTION, TttSettings.class);
        return s == null ? DEFAULTS : s;
    }

    /** Checks every field; returns this. */
    public TttSettings validate() {
        if (miniBatch != null && (miniBatch < 1 || miniBatch > 65536)) fail("mini_batch", "must be in 1..65536, got " + miniBatch);
        if (baseLr != null && !(baseLr > 0 && baseLr < 1e6)) fail("base_lr", "must be > 0, got " + baseLr);
        if (backbone != null && !backbone.equals("transformer") && !backbone.equals("mamba")) {
            fail("backbone", "unknown \"" + backbone + "\" (known: transformer, mamba)");
        }
        if (convWidth != null && (convWidth < 1 || convWidth > 64)) fail("conv_width", "must be in 1..64, got " + convWidth);
        return this;
    }

    /** Whether the backbone shorthand says "mamba" (all three flags on unless overridden). */
    @JsonIgnore
    public boolean mamba() {
        return "mamba".equals(backbone);
    }

    /** use_gate: given, else the backbone shorthand's. */
    @JsonIgnore
    public boolean gate() {
        return useGate != null ? useGate : mamba();
    }

    /** share_qk: given, else the backbone shorthand's. */
    @JsonIgnore
    public boolean sharedQk() {
        return shareQk != null ? shareQk : mamba();
    }

    /** pre_conv: given, else the backbone shorthand's. */
    @JsonIgnore
    public boolean conv() {
        return preConv != null ? preConv : mamba();
    }

    /** The layer options for one kind of inner model. */
    public TttOptions options(InnerLoop.Kind kind, double ropeTheta) {
        return new TttOptions(kind, gate(), sharedQk(), conv(), miniBatch == null ? 16 : miniBatch,
                baseLr == null ? TttOptions.defaultBaseLr(kind) : baseLr,
                innerNorm == null || innerNorm, learnableLr == null || learnableLr,
                convWidth == null ? 4 : convWidth, ropeTheta, 1e-6);
    }

    private static void fail(String field, String reason) {
        throw new IllegalArgumentException("config field ttt." + field + ": " + reason);
    }
}
