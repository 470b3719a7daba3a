package org.ttt4j.lm.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;
import org.ttt4j.lm.layers.ttt.InnerLoop;

/**
 * The Llama-style decoder of docs/methods.md, section 1, as stored in {@code config.json}.
 *
 * <p>{@code mixers} is a repeating pattern of blocks, expanded to {@code layers}: "full" (causal
 * attention everywhere), "swa" (sliding window of {@code window} keys), or a hybrid such as
 * "swa:5,full:1" (five SWA blocks then one full, repeated). Every field is checked by
 * {@link #validate()}, which names the field and the reason.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelConfig(
        @JsonProperty("vocab_size") int vocabSize,
        @JsonProperty("d_model") int dModel,
        @JsonProperty("layers") int layers,
        @JsonProperty("heads") int heads,
        @JsonProperty("d_ff") int dFf,
        @JsonProperty("context") int context,
        @JsonProperty("rope_theta") double ropeTheta,
        @JsonProperty("qk_norm") boolean qkNorm,
        @JsonProperty("post_norm") boolean postNorm,
        @JsonProperty("tied_embeddings") boolean tiedEmbeddings,
        @JsonProperty("mixers") String mixers,
        @JsonProperty("window") int window,
        @JsonProperty("norm_eps") double normEps,
        @JsonProperty("init_std") double initStd,
        @JsonProperty("ttt") TttSettings ttt,
        @JsonProperty("e2e") E2eSettings e2e) {

    /** A config without the {@code e2e} section. */
    public ModelConfig(int vocabSize, int dModel, int layers, int heads, int dFf, int context, double ropeTheta, boolean qkNorm,
                       boolean postNorm, boolean tiedEmbeddings, String mixers, int window, double normEps, double initStd,
                       TttSettings ttt) {
        this(vocabSize, dModel, layers, heads, dFf, context, ropeTheta, qkNorm, postNorm, tiedEmbeddings, mixers, window, normEps,
                initStd, ttt, null);
    }

    /** A config without a {@code ttt} section (attention-only models). */
    public ModelConfig(int vocabSize, int dModel, int layers, int heads, int dFf, int context, double ropeTheta, boolean qkNorm,
                       boolean postNorm, boolean tiedEmbeddings, String mixers, int window, double normEps, double initStd) {
        this(vocabSize, dModel, layers, heads, dFf, context, ropeTheta, qkNorm, postNorm, tiedEmbeddings, mixers, window, normEps,
                initStd, null, null);
    }

    /** Checks every field; returns this for chaining. */
    public ModelConfig validate() {
        positive("vocab_size", vocabSize);
        positive("d_model", dModel);
        positive("layers", layers);
        positive("heads", heads);
        positive("d_ff", dFf);
        positive("context", context);
        if (dModel % heads != 0) fail("heads", "d_model " + dModel + " is not divisible by " + heads + " heads");
        if ((dModel / heads) % 2 != 0) fail("heads", "head width " + dModel / heads + " must be even for RoPE");
        if (!(ropeTheta > 1)) fail("rope_theta", "must be > 1, got " + ropeTheta);
        if (!(normEps > 0 && normEps < 1)) fail("norm_eps", "must be in (0, 1), got " + normEps);
        if (!(initStd > 0 && initStd < 1)) fail("init_std", "must be in (0, 1), got " + initStd);
        if ((long) vocabSize * dModel > Integer.MAX_VALUE - 8) fail("vocab_size", "embedding of " + vocabSize + " x " + dModel + " is too large");
        if ((long) dModel * dFf > Integer.MAX_VALUE - 8) fail("d_ff", "MLP of " + dModel + " x " + dFf + " is too large");
        List<Mixer> blocks = blockMixers();
        if (blocks.stream().anyMatch(m -> m instanceof Mixer.SlidingWindow) && window < 1) {
            fail("window", "sliding-window blocks need window >= 1, got " + window);
        }
        if (ttt != null) ttt.validate();
        if (e2e != null) e2e.validate(this);
        return this;
    }

    /** The mixer of each block, the pattern expanded to {@code layers} blocks. */
    @JsonIgnore
    public List<Mixer> blockMixers() {
        if (mixers == null || mixers.isBlank()) fail("mixers", "missing (use \"full\", \"swa\" or e.g. \"swa:5,full:1\")");
        List<Mixer> pattern = new ArrayList<>();
        for (String part : mixers.split(",")) {
            String[] kv = part.trim().split(":");
            int count = 1;
            if (kv.length == 2) {
                try {
                    count = Integer.parseInt(kv[1].trim());
                } catch (NumberFormatException e) {
                    fail("mixers", "bad repeat count in \"" + part.trim() + "\"");
                }
                if (count < 1) fail("mixers", "repeat count must be >= 1 in \"" + part.trim() + "\"");
            } else if (kv.length != 1) {
                fail("mixers", "cannot parse \"" + part.trim() + "\"");
            }
            Mixer m = switch (kv[0].trim()) {
                case "full" -> new Mixer.FullAttention();
                case "swa" -> new Mixer.SlidingWindow(Math.max(1, window));
                case "ttt_linear" -> new Mixer.Ttt(InnerLoop.Kind.LINEAR);
                case "ttt_mlp" -> new Mixer.Ttt(InnerLoop.Kind.MLP);
                default -> throw new IllegalArgumentException("config field mixers: unknown mixer \"" + kv[0].trim()
                        + "\" (known: full, swa, ttt_linear, ttt_mlp)");
            };
            for (int i = 0; i < count; i++) pattern.add(m);
        }
        List<Mixer> blocks = new ArrayList<>(layers);
        for (int i = 0; i < layers; i++) blocks.add(pattern.get(i % pattern.size()));
        return blocks;
    }

    /** Field-by-field differences from {@code other}, as "name: this vs other" (empty when equal). */
    public List<String> differences(ModelConfig other) {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var a = json.valueToTree(this);
        var b = json.valueToTree(other);
        List<String> out = new ArrayList<>();
        a.properties().forEach(e -> {
            var bv = b.get(e.getKey());
            if (!e.getValue().equals(bv)) out.add(e.getKey() + ": " + e.getValue() + " vs " + bv);
        });
        return out;
    }

    /** The {@code ttt} section, or the defaults when it is absent. */
    @JsonIgnore
    public TttSettings tttSettings() {
        return ttt == null ? TttSettings.DEFAULTS : ttt;
    }

    @JsonIgnore
    public int headDim() {
        return dModel / heads;
    }

    public ModelConfig withContext(int newContext) {
        return new ModelConfig(vocabSize, dModel, layers, heads, dFf, newContext, ropeTheta, qkNorm, postNorm,
                tiedEmbeddings, mixers, window, normEps, initStd, ttt, e2e);
    }

    public ModelConfig withVocab(int newVocab) {
        return new ModelConfig(newVocab, dModel, layers, heads, dFf, context, ropeTheta, qkNorm, postNorm,
                tiedEmbeddings, mixers, window, normEps, initStd, ttt, e2e);
    }

    public ModelConfig withMixers(String newMixers, int newWindow) {
        return new ModelConfig(vocabSize, dModel, layers, heads, dFf, context, ropeTheta, qkNorm, postNorm,
                tiedEmbeddings, newMixers, newWindow, normEps, initStd, ttt, e2e);
    }

    public ModelConfig withTtt(TttSettings newTtt) {
        return new ModelConfig(vocabSize, dModel, layers, heads, dFf, context, ropeTheta, qkNorm, postNorm,
                tiedEmbeddings, mixers, window, normEps, initStd, newTtt, e2e);
    }

    public ModelConfig withFeedForward(int newDFf) {
        return new ModelConfig(vocabSize, dModel, layers, heads, newDFf, context, ropeTheta, qkNorm, postNorm,
                tiedEmbeddings, mixers, window, normEps, initStd, ttt, e2e);
    }

    public ModelConfig withNorms(boolean newQkNorm, boolean newPostNorm) {
        return new ModelConfig(vocabSize, dModel, layers, heads, dFf, context, ropeTheta, newQkNorm, newPostNorm,
                tiedEmbeddings, mixers, window, normEps, initStd, ttt, e2e);
    }

    public ModelConfig withRopeTheta(double newTheta) {
        return new ModelConfig(vocabSize, dModel, layers, heads, dFf, context, newTheta, qkNorm, postNorm,
                tiedEmbeddings, mixers, window, normEps, initStd, ttt, e2e);
    }

    public ModelConfig withE2e(E2eSettings newE2e) {
        return new ModelConfig(vocabSize, dModel, layers, heads, dFf, context, ropeTheta, qkNorm, postNorm,
                tiedEmbeddings, mixers, window, normEps, initStd, ttt, newE2e);
    }

    private static void positive(String field, int v) {
        if (v < 1) fail(field, "must be >= 1, got " + v);
    }

    private static void fail(String field, String reason) {
        throw new IllegalArgumentException("config field " + field + ": " + reason);
    }
}
