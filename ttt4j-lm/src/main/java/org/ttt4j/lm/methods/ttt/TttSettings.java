package org.ttt4j.lm.methods.ttt;

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
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TttSettings(
        @JsonProperty("mini_batch") Integer miniBatch,
        @JsonProperty("base_lr") Double baseLr,
        @JsonProperty("backbone") String backbone,
        @JsonProperty("inner_norm") Boolean innerNorm,
        @JsonProperty("learnable_lr") Boolean learnableLr,
        @JsonProperty("conv_width") Integer convWidth) {

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

    @JsonIgnore
    public boolean mamba() {
        return "mamba".equals(backbone);
    }

    /** The layer options for one kind of inner model. */
    public TttOptions options(InnerLoop.Kind kind, double ropeTheta) {
        return new TttOptions(kind, mamba(), miniBatch == null ? 16 : miniBatch,
                baseLr == null ? TttOptions.defaultBaseLr(kind) : baseLr,
                innerNorm == null || innerNorm, learnableLr == null || learnableLr,
                convWidth == null ? 4 : convWidth, ropeTheta, 1e-6);
    }

    private static void fail(String field, String reason) {
        throw new IllegalArgumentException("config field ttt." + field + ": " + reason);
    }
}
