package org.ttt4j.lm.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.infer.InferenceSession;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.model.Decoder;

/**
 * Hugging Face folders written by transformers' own classes (scripts/fixtures/hf-fixtures.py, random
 * weights) give transformers' logits: grouped-query attention, Llama 3.1 and linear RoPE scaling,
 * Qwen2's biases, Qwen3's q/k norms and wide heads, Mistral's window, tied and untied heads, BF16
 * and F16 weights, sharded folders.
 */
class HfImportTest {
    static Path fixture(String name) throws URISyntaxException {
        return Path.of(HfImportTest.class.getResource("/org/ttt4j/lm/hf/fixtures/" + name + "/config.json").toURI()).getParent();
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa-llama3-rope", "llama-linear-rope-bf16-sharded", "qwen2-bias", "qwen3-qknorm-headdim", "mistral-window"})
    void logitsEqualTransformers(String name) throws Exception {
        Path folder = fixture(name);
        Decoder model = HfFolder.load(folder);
        var expected = SafeTensors.read(folder.resolve("expected.safetensors")).tensors();
        float[] idsF = expected.get("ids").toFloatArray(), want = expected.get("logits").toFloatArray();
        int[] ids = new int[idsF.length];
        for (int i = 0; i < ids.length; i++) ids[i] = (int) idsF[i];
        float[] whole, stepwise;
        try (var off = GradMode.disabled()) {
            whole = model.logits(ids, 1, ids.length, 0).toFloatArray();
            InferenceSession s = InferenceSession.open(model, 3); // decoding through the caches, three tokens per pass
            stepwise = s.feed(ids).toFloatArray();
        }
        assertClose(name + " (whole sequence)", want, whole);
        assertClose(name + " (decoding)", want, stepwise);
    }

    static void assertClose(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length, what + ": logits count");
        double scale = 0;
        for (float w : want) scale = Math.max(scale, Math.abs(w));
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(want[i] - got[i]) <= 1e-4 * Math.max(1, scale), what + ": logit " + i + " is " + got[i] + ", transformers " + want[i]);
        }
    }

    @Test
    void theConfigsAreReadAsTheirArchitectures() throws Exception {
        var llama = HfFolder.config(fixture("llama-gqa-llama3-rope"));
        assertEquals(2, llama.kvHeads());
        assertEquals("llama3", llama.ropeScaling().type());
        assertTrue(!llama.tiedEmbeddings());
        var qwen3 = HfFolder.config(fixture("qwen3-qknorm-headdim"));
        assertEquals(16, qwen3.headDim());
        assertTrue(qwen3.qkNorm());
        assertEquals("qkv", HfFolder.config(fixture("qwen2-bias")).attentionBias());
        var mistral = HfFolder.config(fixture("mistral-window"));
        assertEquals("swa", mistral.mixers());
        assertEquals(5, mistral.window());
    }

    @Test
    void badFoldersAreRefusedNamingFileAndField(@TempDir Path dir) throws Exception {
        Path src = fixture("qwen2-bias");
        Path copy = dir.resolve("m");
        Files.createDirectories(copy);
        for (String f : new String[] {"config.json", "model.safetensors"}) Files.copy(src.resolve(f), copy.resolve(f));
        String config = Files.readString(copy.resolve("config.json"));

        Files.writeString(copy.resolve("config.json"), config.replace("\"qwen2\"", "\"gpt_neox\""));
        var e = assertThrows(IllegalArgumentException.class, () -> HfFolder.config(copy));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("model_type") && e.getMessage().contains("gpt_neox"), e.getMessage());

        Files.writeString(copy.resolve("config.json"), config.replace("\"rope_type\": \"default\"", "\"rope_type\": \"yarn\""));
        e = assertThrows(IllegalArgumentException.class, () -> HfFolder.config(copy));
        assertTrue(e.getMessage().contains("rope_parameters.rope_type") && e.getMessage().contains("yarn"), e.getMessage());

        Files.writeString(copy.resolve("config.json"), config.replace("\"max_position_embeddings\": 64,", ""));
        e = assertThrows(IllegalArgumentException.class, () -> HfFolder.config(copy));
        assertTrue(e.getMessage().contains("max_position_embeddings"), "no silent default: " + e.getMessage());

        Files.writeString(copy.resolve("config.json"), "{\"model_type\": \"qwen2\", ");
        Files.writeString(copy.resolve("tokenizer.json"), "{}");
        var unreadable = assertThrows(java.io.IOException.class, () -> HfFolder.config(copy));
        assertTrue(HfFolder.is(copy) && unreadable.getMessage().contains("config.json"), unreadable.getMessage());
        Files.delete(copy.resolve("tokenizer.json"));

        Files.writeString(copy.resolve("config.json"), config.replace("\"intermediate_size\": 48", "\"intermediate_size\": 40"));
        e = assertThrows(IllegalArgumentException.class, () -> HfFolder.load(copy));
        assertTrue(e.getMessage().contains("mlp") && e.getMessage().contains("shape"), e.getMessage());

        Files.writeString(copy.resolve("config.json"), config);
        Path sharded = dir.resolve("s");
        Files.createDirectories(sharded);
        Path from = fixture("llama-linear-rope-bf16-sharded");
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) if (!f.getFileName().toString().equals("model-00002-of-00003.safetensors")) Files.copy(f, sharded.resolve(f.getFileName()));
        }
        var missing = assertThrows(java.io.IOException.class, () -> HfFolder.load(sharded));
        assertTrue(missing.getMessage().contains("model-00002-of-00003.safetensors") && missing.getMessage().contains("missing"), missing.getMessage());
    }

    @Test
    void aTiedCheckpointMayCarryItsHead(@TempDir Path dir) throws Exception {
        Path src = fixture("qwen2-bias"); // tied
        var tensors = new java.util.LinkedHashMap<>(SafeTensors.read(src.resolve("model.safetensors")).tensors());
        tensors.put("lm_head.weight", tensors.get("model.embed_tokens.weight").copy());
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafeTensors.write(dir.resolve("model.safetensors"), tensors, java.util.Map.of());
        Decoder model = HfFolder.load(dir);
        assertTrue(!model.params().all().containsKey("lm_head.weight"));
        Tensor other = tensors.get("model.embed_tokens.weight").copy();
        other.set(0, other.toFloatArray()[0] + 1);
        tensors.put("lm_head.weight", other);
        SafeTensors.write(dir.resolve("model.safetensors"), tensors, java.util.Map.of());
        var e = assertThrows(IllegalArgumentException.class, () -> HfFolder.load(dir));
        assertTrue(e.getMessage().contains("lm_head.weight differs"), e.getMessage());
    }
}
