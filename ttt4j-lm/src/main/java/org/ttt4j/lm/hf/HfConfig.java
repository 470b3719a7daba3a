package org.ttt4j.lm.hf;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.ttt4j.lm.layers.RopeScaling;
import org.ttt4j.lm.model.ModelConfig;

/**
 * A Hugging Face {@code config.json} of a Llama-family model read as a ttt4j {@link ModelConfig}:
 * {@code model_type} llama (Llama 2, 3.x), mistral, qwen2 or qwen3. Both layouts of RoPE settings
 * are read: {@code rope_theta} with {@code rope_scaling} (transformers 4) and
 * {@code rope_parameters} (transformers 5). Anything the decoder cannot compute is refused, naming
 * the file and the field.
 */
public final class HfConfig {
    private HfConfig() {}

    /** The architectures read. */
    public static final Set<String> MODEL_TYPES = Set.of("llama", "mistral", "qwen2", "qwen3");

    /** Whether {@code config} is a Hugging Face config (it names a {@code model_type}). */
    public static boolean isHf(JsonNode config) {
        return config.hasNonNull("model_type");
    }

    /** The ttt4j config of the Hugging Face config {@code c}, read from {@code file}. */
    public static ModelConfig toModelConfig(JsonNode c, Path file) {
        String type = text(c, "model_type", file);
        if (!MODEL_TYPES.contains(type)) {
            throw new IllegalArgumentException(file + ": field model_type \"" + type + "\" is not supported (supported: "
                    + String.join(", ", MODEL_TYPES.stream().sorted().toList()) + ")");
        }
        int hidden = integer(c, "hidden_size", file), heads = integer(c, "num_attention_heads", file), layers = integer(c, "num_hidden_layers", file);
        String act = c.path("hidden_act").asText("silu");
        if (!act.equals("silu")) throw new IllegalArgumentException(file + ": field hidden_act \"" + act + "\" is not supported (supported: silu)");
        if (c.path("mlp_bias").asBoolean(false)) throw new IllegalArgumentException(file + ": field mlp_bias true is not supported");
        ModelConfig.Builder b = ModelConfig.builder()
                .vocabSize(integer(c, "vocab_size", file)).dModel(hidden).layers(layers).heads(heads)
                .dFf(integer(c, "intermediate_size", file))
                .context(integer(c, "max_position_embeddings", file))
                .normEps(c.path("rms_norm_eps").asDouble(1e-6))
                .tiedEmbeddings(c.path("tie_word_embeddings").asBoolean(false)) // transformers' default for these four
                .qkNorm(type.equals("qwen3"));
        if (c.hasNonNull("num_key_value_heads") && integer(c, "num_key_value_heads", file) != heads) {
            b.kvHeads(integer(c, "num_key_value_heads", file));
        }
        if (c.hasNonNull("head_dim") && integer(c, "head_dim", file) != hidden / heads) b.headDim(integer(c, "head_dim", file));
        if (type.equals("qwen2")) b.attentionBias("qkv");
        else if (c.path("attention_bias").asBoolean(false)) b.attentionBias("all");
        rope(c, file, b);
        mixers(c, type, layers, file, b);
        return b.build();
    }

    /** RoPE base and scaling from {@code rope_parameters} or {@code rope_theta} + {@code rope_scaling}. */
    private static void rope(JsonNode c, Path file, ModelConfig.Builder b) {
        JsonNode params = c.path("rope_parameters");
        JsonNode scaling = params.isObject() ? params : c.path("rope_scaling");
        String where = params.isObject() ? "rope_parameters" : "rope_scaling";
        if (params.isObject() && !params.has("rope_theta") && !params.has("rope_type")) {
            throw new IllegalArgumentException(file + ": field rope_parameters holds no rope_theta (RoPE settings per layer type are not supported)");
        }
        JsonNode thetaNode = params.isObject() ? params.get("rope_theta") : c.get("rope_theta");
        if (thetaNode == null || !thetaNode.isNumber() || !(thetaNode.asDouble() > 1)) {
            throw new IllegalArgumentException(file + ": field " + (params.isObject() ? "rope_parameters." : "") + "rope_theta must be a number > 1, got " + thetaNode);
        }
        double theta = thetaNode.asDouble();
        b.ropeTheta(theta);
        if (!scaling.isObject()) return;
        String type = scaling.hasNonNull("rope_type") ? scaling.get("rope_type").asText() : scaling.path("type").asText("default");
        switch (type) {
            case "default" -> { }
            case "linear" -> b.ropeScaling(new RopeScaling("linear", number(scaling, where, "factor", file), null, null, null).validate());
            case "llama3" -> b.ropeScaling(new RopeScaling("llama3", number(scaling, where, "factor", file),
                    number(scaling, where, "low_freq_factor", file), number(scaling, where, "high_freq_factor", file),
                    integer(scaling, "original_max_position_embeddings", file)).validate());
            default -> throw new IllegalArgumentException(file + ": field " + where + ".rope_type \"" + type
                    + "\" is not supported (supported: default, linear, llama3)");
        }
    }

    /** Full attention, or a sliding window (Mistral; Qwen's layer_types), block by block. */
    private static void mixers(JsonNode c, String type, int layers, Path file, ModelConfig.Builder b) {
        Integer window = c.hasNonNull("sliding_window") ? integer(c, "sliding_window", file) : null;
        boolean sliding = switch (type) {
            case "mistral" -> window != null;
            case "qwen2", "qwen3" -> c.path("use_sliding_window").asBoolean(false);
            default -> false;
        };
        JsonNode types = c.path("layer_types");
        List<String> pattern = new ArrayList<>();
        if (types.isArray()) {
            if (types.size() != layers) {
                throw new IllegalArgumentException(file + ": field layer_types has " + types.size() + " entries for " + layers + " layers");
            }
            for (int i = 0; i < types.size(); i++) {
                String t = types.get(i).asText();
                pattern.add(switch (t) {
                    case "full_attention" -> "full";
                    case "sliding_attention" -> "swa";
                    default -> throw new IllegalArgumentException(file + ": field layer_types[" + i + "] \"" + t
                            + "\" is not supported (supported: full_attention, sliding_attention)");
                });
            }
        } else {
            for (int i = 0; i < layers; i++) pattern.add(sliding ? "swa" : "full");
        }
        if (type.startsWith("qwen") && sliding && !types.isArray()) {
            throw new IllegalArgumentException(file + ": field use_sliding_window true without layer_types is not supported");
        }
        if (pattern.contains("swa")) {
            if (window == null || window < 1) throw new IllegalArgumentException(file + ": field sliding_window must be >= 1 for sliding layers, got " + window);
            b.window(window);
        }
        b.mixers(pattern.stream().distinct().count() == 1 ? pattern.getFirst() : String.join(",", pattern));
    }

    private static String text(JsonNode c, String field, Path file) {
        JsonNode v = c.get(field);
        if (v == null || !v.isTextual()) throw new IllegalArgumentException(file + ": field " + field + " is missing or not a string");
        return v.asText();
    }

    private static int integer(JsonNode c, String field, Path file) {
        JsonNode v = c.get(field);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 1) {
            throw new IllegalArgumentException(file + ": field " + field + " must be a positive integer, got " + v);
        }
        return v.asInt();
    }

    private static double number(JsonNode c, String where, String field, Path file) {
        JsonNode v = c.get(field);
        if (v == null || !v.isNumber() || !Double.isFinite(v.asDouble())) {
            throw new IllegalArgumentException(file + ": field " + where + "." + field + " must be a number, got " + v);
        }
        return v.asDouble();
    }
}
