package org.ttt4j.lm.methods.e2e;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import org.ttt4j.lm.model.ModelConfig;

/**
 * The {@code e2e} section of a model config: a TTT-E2E model (docs/methods.md, section 3). Its last
 * {@code suffix_blocks} blocks hold a prime MLP (the inner loop's only parameters) before their
 * static MLP; sequences are read in chunks of {@code chunk} tokens, each scored and then trained
 * on by one clipped SGD step of the prime weights. Defaults (the official recipe's): suffix_blocks =
 * layers / 4 (at least 1), chunk = window / 8 (at least 1; official b = 1K for k = 8K), inner_lr
 * 1.0, clip 1.0, first_order false.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record E2eSettings(
        @JsonProperty("suffix_blocks") Integer suffixBlocks,
        @JsonProperty("chunk") Integer chunk,
        @JsonProperty("inner_lr") Double innerLr,
        @JsonProperty("clip") Double clip,
        @JsonProperty("first_order") Boolean firstOrder) {

    /** The config section's name. */
    public static final String SECTION = "e2e";

    /** The {@code e2e} section of {@code c}, or null for a model that is not TTT-E2E. */
    public static E2eSettings of(ModelConfig c) {
        return c.section(SECTION, E2eSettings.class);
    }

    /** Checks every field against the model; returns this. */
    public E2eSettings validate(ModelConfig c) {
        int suffix = suffixBlocks(c);
        if (suffix < 1 || suffix > c.layers()) fail("suffix_blocks", "must be in 1.." + c.layers() + ", got " + suffix);
        if (chunk != null && (chunk < 1 || chunk > c.window())) fail("chunk", "must be in 1..window (" + c.window() + "), got " + chunk);
        if (innerLr != null && !(innerLr >= 0 && innerLr < 1e6)) fail("inner_lr", "must be in [0, 1e6), got " + innerLr);
        if (clip != null && !(clip > 0)) fail("clip", "must be > 0, got " + clip);
        if (c.blockMixers().stream().anyMatch(m -> !m.name().equals("swa"))) {
            fail("mixers", "TTT-E2E uses sliding-window attention in every block (mixers \"swa\"), got \"" + c.mixers() + "\"");
        }
        return this;
    }

    public int suffixBlocks(ModelConfig c) {
        return suffixBlocks != null ? suffixBlocks : Math.max(1, c.layers() / 4);
    }

    public int chunk(ModelConfig c) {
        return chunk != null ? chunk : defaultChunk(c.window());
    }

    /** The official ratio of window to chunk, k = 8b. */
    public static int defaultChunk(int window) {
        return Math.max(1, window / 8);
    }

    /** The official TTT-E2E configs' RoPE theta. */
    public static final double ROPE_THETA = 500_000;

    /**
     * The MLP width that keeps a TTT-E2E model's parameter count at its baseline's (the same config
     * without prime MLPs, width {@code dFf}): L blocks of 3 D F become L + S MLPs of 3 D F', so
     * F' = F L / (L + S), less the S prime norms' share, rounded down.
     */
    public static int matchedWidth(ModelConfig baseline, int suffix, boolean postNorm) {
        return matchedWidth(baseline, suffix, postNorm, 1);
    }

    /**
     * {@link #matchedWidth(ModelConfig, int, boolean)} rounded up to a multiple of {@code multiple}
     * (1: no rounding). The official code rounds up to a multiple of 128 (125M: 1638 -> 1664), which
     * adds up to 127 columns to every MLP: 1.6% at 125M, 8.7% of the MLPs at {@code small}.
     */
    public static int matchedWidth(ModelConfig baseline, int suffix, boolean postNorm, int multiple) {
        if (multiple < 1) throw new IllegalArgumentException("MLP width multiple must be >= 1, got " + multiple);
        long d = baseline.dModel(), budget = 3L * d * baseline.dFf() * baseline.layers() - (long) suffix * d * (postNorm ? 2 : 1);
        long width = Math.max(1, budget / (3L * d * (baseline.layers() + suffix)));
        return multiple == 1 ? (int) width : (int) ((width + multiple - 1) / multiple * multiple);
    }

    /**
     * The TTT-E2E model of {@code base} with these settings: qk_norm and sandwich norms on, every
     * MLP shrunk by {@link #matchedWidth} so the parameter count stays the baseline's.
     */
    public ModelConfig matched(ModelConfig base) {
        return matched(base, 1);
    }

    /** {@link #matched(ModelConfig)} with the MLP width rounded up to a multiple of {@code multiple}. */
    public ModelConfig matched(ModelConfig base, int multiple) {
        ModelConfig baseline = base.withNorms(true, true);
        return baseline.withFeedForward(matchedWidth(baseline, suffixBlocks(baseline), true, multiple)).withSection(SECTION, this);
    }

    @JsonIgnore
    public double innerLearningRate() {
        return innerLr == null ? 1.0 : innerLr;
    }

    @JsonIgnore
    public double clipNorm() {
        return clip == null ? 1.0 : clip;
    }

    @JsonIgnore
    public boolean firstOrderOnly() {
        return firstOrder != null && firstOrder;
    }

    private static void fail(String field, String reason) {
        throw new IllegalArgumentException("config field e2e." + field + ": " + reason);
    }
}
