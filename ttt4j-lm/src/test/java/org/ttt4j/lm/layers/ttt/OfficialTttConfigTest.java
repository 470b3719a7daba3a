package org.ttt4j.lm.layers.ttt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.methods.ttt.OfficialTttConfig;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.TiedHead;

/**
 * The official ttt-lm-pytorch config.json, written by hand with the TTTConfig field names for each
 * torch fixture (the mixed flags included), opens as a ttt4j model whose logits are torch's; the
 * state dict may carry the tied head as lm_head.weight. ttt4j's own TTT configs write out as that
 * config.json and read back to the same model.
 */
class OfficialTttConfigTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static java.util.List<String> cases() {
        return TttTorchFixtureTest.CASES;
    }

    /** The TTTConfig of a fixture, from what the torch script was told (its config.json), not from ttt4j's config. */
    static ObjectNode official(Path dir) throws Exception {
        var torch = JSON.readTree(dir.resolve("config.json").toFile());
        boolean mamba = torch.path("mamba").asBoolean();
        ObjectNode n = JSON.createObjectNode();
        n.put("model_type", "ttt");
        n.putArray("architectures").add("TTTForCausalLM");
        n.put("vocab_size", 64);
        n.put("hidden_size", 32);
        n.put("intermediate_size", 48);
        n.put("num_hidden_layers", torch.get("layers").intValue());
        n.put("num_attention_heads", torch.get("heads").intValue());
        n.put("hidden_act", "silu");
        n.put("max_position_embeddings", 16);
        n.put("rms_norm_eps", torch.get("norm_eps").doubleValue());
        n.put("rope_theta", torch.get("rope_theta").doubleValue());
        n.put("tie_word_embeddings", true);
        n.put("ttt_layer_type", torch.get("mlp").booleanValue() ? "mlp" : "linear");
        n.put("mini_batch_size", torch.get("mini_batch").intValue());
        n.put("ttt_base_lr", torch.get("base_lr").doubleValue());
        for (String f : new String[] {"use_gate", "share_qk", "pre_conv"}) n.put(f, torch.has(f) ? torch.get(f).booleanValue() : mamba);
        n.put("conv_kernel", 4);
        n.put("scan_checkpoint_group_size", 0);
        n.put("use_cache", false);
        n.put("bos_token_id", 1);
        n.put("eos_token_id", 2);
        n.put("pretraining_tp", 1);
        return n;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theOfficialConfigGivesTorchsLogits(String name, @TempDir Path tmp) throws Exception {
        Path dir = TttTorchFixtureTest.root().resolve(name);
        var f = TttTorchFixtureTest.Fixture.load(dir);
        Path file = tmp.resolve("config.json");
        Files.writeString(file, JSON.writeValueAsString(official(dir)));
        var node = JSON.readTree(file.toFile());
        assertTrue(OfficialTttConfig.isOfficial(node));
        assertFalse(OfficialTttConfig.isOfficial(JSON.readTree("{\"model_type\": \"llama\"}")));
        ModelConfig c = OfficialTttConfig.read(file);
        // The state dict as PyTorch saves a tied model: the head written out next to the embedding.
        Map<String, Tensor> weights = new LinkedHashMap<>(f.weights());
        weights.put("lm_head.weight", weights.get("model.embed_tokens.weight").copy());
        Decoder model = new Decoder(c, new Params(TiedHead.drop(weights, c, tmp.resolve("model.safetensors"))));
        assertEquals(f.weights().keySet(), model.params().all().keySet(), name);
        float[] got;
        try (var g = GradMode.disabled()) {
            got = model.logits(f.tokens(), f.batch(), f.t(), 0).toFloatArray();
        }
        double worst = 0;
        for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - f.logits()[i]));
        assertTrue(worst <= TttTorchFixtureTest.RELATIVE_TOLERANCE * f.scale(), name + ": max |ttt4j - torch| " + worst);

        // Back out as the official config.json and in again: the same model.
        ModelConfig again = OfficialTttConfig.toModelConfig(OfficialTttConfig.fromModelConfig(c, 1, 2), file);
        assertEquals(c, again);
        ModelConfig fixture = f.config();
        ModelConfig viaOfficial = OfficialTttConfig.toModelConfig(OfficialTttConfig.fromModelConfig(fixture, null, null), file);
        assertEquals(new Decoder(fixture, 1).params().all().keySet(), new Decoder(viaOfficial, 1).params().all().keySet(), name);
        var a = org.ttt4j.lm.methods.ttt.TttSettings.of(fixture).options(InnerLoop.Kind.LINEAR, 1);
        var b = org.ttt4j.lm.methods.ttt.TttSettings.of(viaOfficial).options(InnerLoop.Kind.LINEAR, 1);
        assertEquals(a.miniBatch(), b.miniBatch());
        assertEquals(java.util.List.of(a.useGate(), a.shareQk(), a.preConv()), java.util.List.of(b.useGate(), b.shareQk(), b.preConv()));
    }

    @Test
    void unsupportedFieldsAreNamedWithTheFile(@TempDir Path tmp) throws Exception {
        Path dir = TttTorchFixtureTest.root().resolve("ttt_linear-transformer");
        Path file = tmp.resolve("config.json");
        for (String[] bad : new String[][] {{"hidden_act", "\"gelu\""}, {"ttt_layer_type", "\"conv\""}, {"num_key_value_heads", "1"},
                {"rope_scaling", "{\"type\": \"linear\", \"factor\": 2}"}, {"sliding_window", "4"}, {"mini_batch_size", "\"16\""},
                {"mini_batch_size", "0"}}) {
            ObjectNode n = official(dir);
            n.set(bad[0], JSON.readTree(bad[1]));
            Files.writeString(file, JSON.writeValueAsString(n));
            var e = assertThrows(IllegalArgumentException.class, () -> OfficialTttConfig.read(file), bad[0]);
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(bad[0].equals("mini_batch_size") && bad[1].equals("0")
                    ? "mini_batch" : bad[0]), e.getMessage());
        }
    }

    @Test
    void anUntiedHeadUnderATiedConfigIsRefused(@TempDir Path tmp) throws Exception {
        var f = TttTorchFixtureTest.Fixture.load(TttTorchFixtureTest.root().resolve("ttt_linear-transformer"));
        Map<String, Tensor> weights = new LinkedHashMap<>(f.weights());
        Tensor head = weights.get("model.embed_tokens.weight").copy();
        head.set(5, head.get(5) + 1);
        weights.put("lm_head.weight", head);
        Path file = tmp.resolve("model.safetensors");
        var e = assertThrows(IllegalArgumentException.class, () -> TiedHead.drop(weights, f.config(), file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("lm_head.weight") && e.getMessage().contains("element 5"),
                e.getMessage());
        // Untied configs keep their head.
        ModelConfig untied = f.config().toBuilder().tiedEmbeddings(false).build();
        assertTrue(TiedHead.drop(weights, untied, file).containsKey("lm_head.weight"));
    }

    @Test
    void configsTheOfficialCannotExpressAreRefusedByField() {
        ModelConfig attention = ModelConfig.builder().build();
        var e = assertThrows(IllegalArgumentException.class, () -> OfficialTttConfig.fromModelConfig(attention, null, null));
        assertTrue(e.getMessage().contains("mixers"), e.getMessage());
        ModelConfig qk = ModelConfig.builder().mixers("ttt_linear").qkNorm(true).build();
        e = assertThrows(IllegalArgumentException.class, () -> OfficialTttConfig.fromModelConfig(qk, null, null));
        assertTrue(e.getMessage().contains("qk_norm"), e.getMessage());
    }
}
