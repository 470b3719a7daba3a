package org.ttt4j.lm.methods.ttt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.ttt4j.lm.layers.ttt.InnerLoop;
import org.ttt4j.lm.layers.ttt.TttOptions;
import org.ttt4j.lm.model.Mixer;
import org.ttt4j.lm.model.ModelConfig;

/**
 * The {@code config.json} of the official PyTorch TTT reference ({@code ttt-lm-pytorch}'s
 * {@code TTTConfig}, {@code model_type: "ttt"}) read as a ttt4j {@link ModelConfig}, and written
 * back from one. Its parameter names are ttt4j's already ({@code ReferenceNames}); a state dict
 * that carries the tied head as {@code lm_head.weight} goes through {@code TiedHead.drop}.
 *
 * <p>Fields and their ttt4j counterparts (a missing field takes TTTConfig's default, in brackets):
 * vocab_size [32000], hidden_size -> d_model [2048], intermediate_size -> d_ff [5504],
 * num_hidden_layers -> layers [24], num_attention_heads -> heads [32], max_position_embeddings ->
 * context [2048], rms_norm_eps -> norm_eps [1e-6], rope_theta [10000], tie_word_embeddings [true],
 * initializer_range -> init_std [0.02], ttt_layer_type linear|mlp -> mixers ttt_linear|ttt_mlp
 * [linear], mini_batch_size -> ttt.mini_batch [16], ttt_base_lr -> ttt.base_lr [1.0], use_gate,
 * share_qk, pre_conv -> the ttt section's flags [false], conv_kernel -> ttt.conv_width [4].
 * hidden_act must be silu; num_key_value_heads (when given) the number of heads; rope_scaling
 * absent or null. Training-only and generic Hugging Face fields are ignored ({@link #IGNORED});
 * any other field is refused, named with the file, so nothing is silently dropped.
 */
public final class OfficialTttConfig {
    private OfficialTttConfig() {}

    /** The reference's model type. */
    public static final String MODEL_TYPE = "ttt";

    /** Fields that change nothing ttt4j computes (training switches, generation and bookkeeping fields). */
    public static final Set<String> IGNORED = Set.of("scan_checkpoint_group_size", "use_cache", "pad_token_id", "bos_token_id", "eos_token_id",
            "pretraining_tp", "architectures", "transformers_version", "torch_dtype", "dtype", "_name_or_path", "model_type", "auto_map",
            "attention_dropout", "hidden_dropout", "output_attentions", "output_hidden_states", "return_dict");

    private static final Set<String> READ = Set.of("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "max_position_embeddings", "rms_norm_eps", "rope_theta", "tie_word_embeddings", "initializer_range", "ttt_layer_type",
            "mini_batch_size", "ttt_base_lr", "use_gate", "share_qk", "pre_conv", "conv_kernel", "hidden_act", "num_key_value_heads",
            "rope_scaling");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Whether {@code config} is the reference's TTTConfig ({@code model_type: "ttt"}). */
    public static boolean isOfficial(JsonNode config) {
        return config != null && config.isObject() && MODEL_TYPE.equals(config.path("model_type").asText(null));
    }

    /** Reads {@code file} as the reference's config.json; see {@link #toModelConfig(JsonNode, Path)}. */
    public static ModelConfig read(Path file) throws IOException {
        return toModelConfig(JSON.readTree(file.toFile()), file);
    }

    /**
     * The ttt4j config of the reference's {@code config}, validated.
     *
     * @param file where it was read, named in errors
     * @throws IllegalArgumentException naming the file and the field for a value ttt4j cannot run
     */
    public static ModelConfig toModelConfig(JsonNode config, Path file) {
        if (!isOfficial(config)) throw fail(file, "model_type", "is " + config.path("model_type") + ", expected \"ttt\" (ttt-lm-pytorch's TTTConfig)");
        config.fieldNames().forEachRemaining(f -> {
            if (!READ.contains(f) && !IGNORED.contains(f)) {
                throw fail(file, f, "is not a field ttt4j knows in TTTConfig (known: " + String.join(", ", READ.stream().sorted().toList())
                        + "; ignored: " + String.join(", ", IGNORED.stream().sorted().toList()) + ")");
            }
        });
        String act = text(config, file, "hidden_act", "silu");
        if (!act.equals("silu")) throw fail(file, "hidden_act", "is \"" + act + "\": ttt4j's MLP is SwiGLU (silu)");
        if (config.hasNonNull("rope_scaling")) throw fail(file, "rope_scaling", "is not supported for TTT models (RoPE restarts in every mini-batch)");
        String type = text(config, file, "ttt_layer_type", "linear");
        String mixer = switch (type) {
            case "linear" -> "ttt_linear";
            case "mlp" -> "ttt_mlp";
            default -> throw fail(file, "ttt_layer_type", "is \"" + type + "\" (known: linear, mlp)");
        };
        int heads = integer(config, file, "num_attention_heads", 32);
        if (config.has("num_key_value_heads") && !config.get("num_key_value_heads").isNull()
                && integer(config, file, "num_key_value_heads", heads) != heads) {
            throw fail(file, "num_key_value_heads", "is " + config.get("num_key_value_heads") + ": TTT layers have one key per head ("
                    + heads + ")");
        }
        TttSettings ttt = new TttSettings(integer(config, file, "mini_batch_size", 16), number(config, file, "ttt_base_lr", 1.0), null, null, null,
                integer(config, file, "conv_kernel", 4), bool(config, file, "use_gate", false), bool(config, file, "share_qk", false),
                bool(config, file, "pre_conv", false));
        try {
            ttt.validate();
            return ModelConfig.builder().vocabSize(integer(config, file, "vocab_size", 32000)).dModel(integer(config, file, "hidden_size", 2048))
                    .dFf(integer(config, file, "intermediate_size", 5504)).layers(integer(config, file, "num_hidden_layers", 24)).heads(heads)
                    .context(integer(config, file, "max_position_embeddings", 2048)).normEps(number(config, file, "rms_norm_eps", 1e-6))
                    .ropeTheta(number(config, file, "rope_theta", 10000)).tiedEmbeddings(bool(config, file, "tie_word_embeddings", true))
                    .initStd(number(config, file, "initializer_range", 0.02)).mixers(mixer).window(0).qkNorm(false).postNorm(false)
                    .section(TttSettings.SECTION, ttt).build().validate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage() + " (read from the TTTConfig fields)", e);
        }
    }

    /**
     * The reference's config.json for a ttt4j TTT model: every block one TTT kind, no qk_norm or
     * post_norm, the inner norm and learnable learning rate on (the reference has no switch for them).
     *
     * @param bos the beginning-of-sequence id to write, or null
     * @param eos the end-of-sequence id to write, or null
     * @throws IllegalArgumentException naming the field of {@code c} the reference cannot express
     */
    public static ObjectNode fromModelConfig(ModelConfig c, Integer bos, Integer eos) {
        List<Mixer> blocks = c.blockMixers();
        InnerLoop.Kind kind = TttMethod.kindOf(blocks.getFirst().name());
        if (kind == null || blocks.stream().anyMatch(m -> !m.name().equals(blocks.getFirst().name()))) {
            throw new IllegalArgumentException("config field mixers: \"" + c.mixers() + "\" is not one TTT layer kind in every block;"
                    + " the official TTTConfig has ttt_linear or ttt_mlp blocks only");
        }
        if (c.qkNorm()) throw new IllegalArgumentException("config field qk_norm: true has no counterpart in the official TTTConfig");
        if (c.postNorm()) throw new IllegalArgumentException("config field post_norm: true has no counterpart in the official TTTConfig");
        TttSettings s = TttSettings.of(c);
        TttOptions o = s.options(kind, c.ropeTheta());
        if (!o.innerNorm()) throw new IllegalArgumentException("config field ttt.inner_norm: false has no counterpart in the official TTTConfig");
        if (!o.learnableLr()) throw new IllegalArgumentException("config field ttt.learnable_lr: false has no counterpart in the official TTTConfig");
        ObjectNode n = JSON.createObjectNode();
        n.putArray("architectures").add("TTTForCausalLM");
        n.put("model_type", MODEL_TYPE);
        n.put("vocab_size", c.vocabSize());
        n.put("hidden_size", c.dModel());
        n.put("intermediate_size", c.dFf());
        n.put("num_hidden_layers", c.layers());
        n.put("num_attention_heads", c.heads());
        n.put("hidden_act", "silu");
        n.put("max_position_embeddings", c.context());
        n.put("initializer_range", c.initStd());
        n.put("rms_norm_eps", c.normEps());
        n.put("rope_theta", c.ropeTheta());
        n.put("tie_word_embeddings", c.tiedEmbeddings());
        n.put("ttt_layer_type", kind == InnerLoop.Kind.LINEAR ? "linear" : "mlp");
        n.put("mini_batch_size", o.miniBatch());
        n.put("ttt_base_lr", o.baseLr());
        n.put("use_gate", o.useGate());
        n.put("share_qk", o.shareQk());
        n.put("pre_conv", o.preConv());
        n.put("conv_kernel", o.convWidth());
        n.put("scan_checkpoint_group_size", 0);
        n.put("pretraining_tp", 1);
        n.put("use_cache", false);
        if (bos != null) n.put("bos_token_id", bos);
        if (eos != null) n.put("eos_token_id", eos);
        n.put("torch_dtype", "float32");
        return n;
    }

    private static JsonNode field(JsonNode c, String name) {
        JsonNode v = c.get(name);
        return v == null || v.isNull() ? null : v;
    }

    private static int integer(JsonNode c, Path file, String name, int otherwise) {
        JsonNode v = field(c, name);
        if (v == null) return otherwise;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw fail(file, name, "is " + v + ", expected an integer");
        return v.intValue();
    }

    private static double number(JsonNode c, Path file, String name, double otherwise) {
        JsonNode v = field(c, name);
        if (v == null) return otherwise;
        if (!v.isNumber()) throw fail(file, name, "is " + v + ", expected a number");
        return v.doubleValue();
    }

    private static boolean bool(JsonNode c, Path file, String name, boolean otherwise) {
        JsonNode v = field(c, name);
        if (v == null) return otherwise;
        if (!v.isBoolean()) throw fail(file, name, "is " + v + ", expected true or false");
        return v.booleanValue();
    }

    private static String text(JsonNode c, Path file, String name, String otherwise) {
        JsonNode v = field(c, name);
        if (v == null) return otherwise;
        if (!v.isTextual()) throw fail(file, name, "is " + v + ", expected a string");
        return v.textValue();
    }

    private static IllegalArgumentException fail(Path file, String field, String reason) {
        return new IllegalArgumentException(file + ": field " + field + " " + reason);
    }
}
