package org.ttt4j.lm.model;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ttt4j.lm.layers.RopeScaling;

/**
 * The Llama-style decoder of docs/methods.md, section 1, as stored in {@code config.json}.
 *
 * <p>{@code mixers} is a repeating pattern of blocks, expanded to {@code layers}: "full" (causal
 * attention everywhere), "swa" (sliding window of {@code window} keys), or a hybrid such as
 * "swa:5,full:1" (five SWA blocks then one full, repeated); the mixer names are those of the
 * registered methods ({@link ModelParts}). A method's own settings are a section of the config
 * named by the method (e.g. {@code "ttt"}, {@code "e2e"}), read with {@link #section}. Every field
 * is checked by {@link #validate()}, which names the field and the reason. Build one with
 * {@link #builder()}.
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
        @JsonProperty("kv_heads") Integer keyValueHeads,
        @JsonProperty("head_dim") Integer headWidth,
        @JsonProperty("attention_bias") String attentionBias,
        @JsonProperty("rope_scaling") RopeScaling ropeScaling,
        @JsonIgnore @JsonAnySetter Map<String, JsonNode> sections) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public ModelConfig {
        sections = sections == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(sections));
    }

    /** The methods' sections, written after the fields in config.json. */
    @JsonAnyGetter
    public Map<String, JsonNode> sectionsForJson() {
        return sections;
    }

    /** Section {@code name} read as {@code type}, or null when the config has none. */
    public <T> T section(String name, Class<T> type) {
        JsonNode node = sections.get(name);
        if (node == null) return null;
        try {
            return JSON.treeToValue(node, type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("config field " + name + ": " + e.getOriginalMessage(), e);
        }
    }

    /** This config with section {@code name} set to {@code value} (null: removed). */
    public ModelConfig withSection(String name, Object value) {
        Map<String, JsonNode> s = new LinkedHashMap<>(sections);
        if (value == null) s.remove(name);
        else s.put(name, JSON.valueToTree(value));
        return toBuilder().sections(s).build();
    }

    /** A builder with the defaults of a small Llama-style decoder of full-attention blocks. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.vocabSize = vocabSize;
        b.dModel = dModel;
        b.layers = layers;
        b.heads = heads;
        b.dFf = dFf;
        b.context = context;
        b.ropeTheta = ropeTheta;
        b.qkNorm = qkNorm;
        b.postNorm = postNorm;
        b.tiedEmbeddings = tiedEmbeddings;
        b.mixers = mixers;
        b.window = window;
        b.normEps = normEps;
        b.initStd = initStd;
        b.keyValueHeads = keyValueHeads;
        b.headWidth = headWidth;
        b.attentionBias = attentionBias;
        b.ropeScaling = ropeScaling;
        b.sections = new LinkedHashMap<>(sections);
        return b;
    }

    /** Builds a {@link ModelConfig}; unset fields keep their defaults (shown on each setter). */
    public static final class Builder {
        private int vocabSize = 257, dModel = 32, layers = 2, heads = 2, dFf = 64, context = 64, window = 16;
        private double ropeTheta = 10000, normEps = 1e-6, initStd = 0.02;
        private boolean qkNorm, postNorm, tiedEmbeddings = true;
        private String mixers = "full";
        private Integer keyValueHeads, headWidth;
        private String attentionBias;
        private RopeScaling ropeScaling;
        private Map<String, JsonNode> sections = new LinkedHashMap<>();

        private Builder() {}

        /** Vocabulary size (default 257: bytes and a boundary). */
        public Builder vocabSize(int v) { vocabSize = v; return this; }
        /** Model width D (default 32). */
        public Builder dModel(int v) { dModel = v; return this; }
        /** Number of blocks (default 2). */
        public Builder layers(int v) { layers = v; return this; }
        /** Attention heads (default 2). */
        public Builder heads(int v) { heads = v; return this; }
        /** MLP (SwiGLU) width (default 64). */
        public Builder dFf(int v) { dFf = v; return this; }
        /** Training context in tokens (default 64). */
        public Builder context(int v) { context = v; return this; }
        /** RoPE base frequency (default 10000). */
        public Builder ropeTheta(double v) { ropeTheta = v; return this; }
        /** RMSNorm of each head's queries and keys (default false). */
        public Builder qkNorm(boolean v) { qkNorm = v; return this; }
        /** Sandwich norms on each sub-layer's output (default false). */
        public Builder postNorm(boolean v) { postNorm = v; return this; }
        /** LM head tied to the embedding (default true). */
        public Builder tiedEmbeddings(boolean v) { tiedEmbeddings = v; return this; }
        /** Block pattern, e.g. "full", "swa:5,full:1", "ttt_linear" (default "full"). */
        public Builder mixers(String v) { mixers = v; return this; }
        /** Sliding-window size of swa blocks (default 16). */
        public Builder window(int v) { window = v; return this; }
        /** RMSNorm epsilon (default 1e-6). */
        public Builder normEps(double v) { normEps = v; return this; }
        /** Standard deviation of the initial weights (default 0.02). */
        public Builder initStd(double v) { initStd = v; return this; }
        /** Key/value heads of grouped-query attention (default null: as many as heads). */
        public Builder kvHeads(Integer v) { keyValueHeads = v; return this; }
        /** Width of one attention head (default null: d_model / heads). */
        public Builder headDim(Integer v) { headWidth = v; return this; }
        /** Attention biases: "qkv" (Qwen2), "all" (also o_proj), or null for none (default). */
        public Builder attentionBias(String v) { attentionBias = v; return this; }
        /** RoPE scaling (default null: none). */
        public Builder ropeScaling(RopeScaling v) { ropeScaling = v; return this; }

        /** Section {@code name} set to {@code value}, a method's settings record (null: removed). */
        public Builder section(String name, Object value) {
            if (value == null) sections.remove(name);
            else sections.put(name, JSON.valueToTree(value));
            return this;
        }

        Builder sections(Map<String, JsonNode> s) { sections = new LinkedHashMap<>(s); return this; }

        public ModelConfig build() {
            return new ModelConfig(vocabSize, dModel, layers, heads, dFf, context, ropeTheta, qkNorm, postNorm, tiedEmbeddings,
                    mixers, window, normEps, initStd, keyValueHeads, headWidth, attentionBias, ropeScaling, sections);
        }
    }

    /** Checks every field; returns this for chaining. */
    public ModelConfig validate() {
        positive("vocab_size", vocabSize);
        positive("d_model", dModel);
        positive("layers", layers);
        positive("heads", heads);
        positive("d_ff", dFf);
        positive("context", context);
        if (headWidth == null && dModel % heads != 0) fail("heads", "d_model " + dModel + " is not divisible by " + heads + " heads");
        if (headWidth != null && headWidth < 2) fail("head_dim", "must be >= 2, got " + headWidth);
        if (headDim() % 2 != 0) fail(headWidth == null ? "heads" : "head_dim", "head width " + headDim() + " must be even for RoPE");
        if (keyValueHeads != null && (keyValueHeads < 1 || heads % keyValueHeads != 0)) {
            fail("kv_heads", heads + " heads do not split into groups for " + keyValueHeads + " key/value heads");
        }
        if (attentionBias != null && !attentionBias.equals("qkv") && !attentionBias.equals("all")) {
            fail("attention_bias", "expected qkv or all, got \"" + attentionBias + "\"");
        }
        if (ropeScaling != null) ropeScaling.validate();
        if (!(ropeTheta > 1)) fail("rope_theta", "must be > 1, got " + ropeTheta);
        if (!(normEps > 0 && normEps < 1)) fail("norm_eps", "must be in (0, 1), got " + normEps);
        if (!(initStd > 0 && initStd < 1)) fail("init_std", "must be in (0, 1), got " + initStd);
        if ((long) vocabSize * dModel > Integer.MAX_VALUE - 8) fail("vocab_size", "embedding of " + vocabSize + " x " + dModel + " is too large");
        if ((long) dModel * dFf > Integer.MAX_VALUE - 8) fail("d_ff", "MLP of " + dModel + " x " + dFf + " is too large");
        blockMixers();
        for (String name : sections.keySet()) {
            if (ModelParts.ofSection(name).isEmpty()) {
                fail(name, "unknown field (known sections: " + String.join(", ",
                        ModelParts.all().stream().map(ModelPart::section).filter(s -> s != null).distinct().toList()) + ")");
            }
        }
        for (ModelPart part : ModelParts.all()) part.validate(this);
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
            String name = kv[0].trim();
            ModelPart owner = ModelParts.ofMixer(name).orElseThrow(() -> new IllegalArgumentException(
                    "config field mixers: unknown mixer \"" + name + "\" (known: " + String.join(", ", ModelParts.mixerNames()) + ")"));
            Mixer m = new Mixer(name, owner.window(name, this));
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

    /** The width of one attention head: {@code head_dim}, else d_model / heads. */
    @JsonIgnore
    public int headDim() {
        return headWidth != null ? headWidth : dModel / heads;
    }

    /** Key/value heads: {@code kv_heads}, else one per head. */
    @JsonIgnore
    public int kvHeads() {
        return keyValueHeads != null ? keyValueHeads : heads;
    }

    public ModelConfig withContext(int newContext) {
        return toBuilder().context(newContext).build();
    }

    public ModelConfig withVocab(int newVocab) {
        return toBuilder().vocabSize(newVocab).build();
    }

    public ModelConfig withMixers(String newMixers, int newWindow) {
        return toBuilder().mixers(newMixers).window(newWindow).build();
    }

    public ModelConfig withFeedForward(int newDFf) {
        return toBuilder().dFf(newDFf).build();
    }

    public ModelConfig withNorms(boolean newQkNorm, boolean newPostNorm) {
        return toBuilder().qkNorm(newQkNorm).postNorm(newPostNorm).build();
    }

    public ModelConfig withRopeTheta(double newTheta) {
        return toBuilder().ropeTheta(newTheta).build();
    }

    private static void positive(String field, int v) {
        if (v < 1) fail(field, "must be >= 1, got " + v);
    }

    private static void fail(String field, String reason) {
        throw new IllegalArgumentException("config field " + field + ": " + reason);
    }
}
