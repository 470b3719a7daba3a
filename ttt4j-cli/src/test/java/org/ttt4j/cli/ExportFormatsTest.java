package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.api.HfExport;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.methods.ttt.OfficialTttConfig;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.tokenizer.BpeTokenizer;
import org.ttt4j.lm.tokenizer.TiktokenTokenizer;
import org.ttt4j.lm.train.CheckpointStore;

/**
 * {@code export --format hf} writes transformers' Llama (Mistral for sliding windows) config.json,
 * the weights under the Llama names marked as PyTorch's, and a tokenizer.json that holds the
 * model's BPE; {@code --format ttt} writes the official TTTConfig, which reads back (through
 * {@link OfficialTttConfig}) to a model that gives the same logits with the exported weights.
 * (scripts/check-hf-export.py loads the hf folders in transformers itself; docs/language-models.md.)
 */
class ExportFormatsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path train(Path dir, String name, String tokenizer, String... extra) throws Exception {
        Path corpus = dir.resolve("t.txt"), run = dir.resolve(name);
        if (!Files.exists(corpus)) Files.writeString(corpus, Cli.CODE);
        var args = new java.util.ArrayList<>(java.util.List.of("train", "--preset", "tiny", "--tokenizer", tokenizer, "--corpus", corpus.toString(),
                "--steps", "2", "--batch", "2", "--context", "16", "--eval-batches", "0", "--checkpoint-every", "2", "--out", run.toString()));
        args.addAll(java.util.List.of(extra));
        var err = new java.io.StringWriter();
        assertEquals(0, Cli.run(err, args.toArray(String[]::new)), err::toString);
        return run;
    }

    @Test
    void hfFoldersHoldLlamaOrMistralConfigWeightsAndTokenizer(@TempDir Path tmp) throws Exception {
        for (String mixers : new String[] {"full", "swa"}) {
            Path run = train(tmp, mixers, "bpe:300", "--mixers", mixers, "--window", "8");
            var loaded = ModelFolders.load(run);
            ModelConfig c = loaded.model().config();
            Path out = tmp.resolve("hf-" + mixers);
            var p = Cli.printed("export", "--model", run.toString(), "--out", out.toString(), "--format", "hf");
            assertEquals(0, p.status(), p.err());

            JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
            assertEquals(mixers.equals("full") ? "llama" : "mistral", config.get("model_type").asText());
            assertEquals(mixers.equals("full") ? "LlamaForCausalLM" : "MistralForCausalLM", config.get("architectures").get(0).asText());
            assertEquals(c.vocabSize(), config.get("vocab_size").asInt());
            assertEquals(c.dModel(), config.get("hidden_size").asInt());
            assertEquals(c.dFf(), config.get("intermediate_size").asInt());
            assertEquals(c.layers(), config.get("num_hidden_layers").asInt());
            assertEquals(c.heads(), config.get("num_attention_heads").asInt());
            assertEquals(c.heads(), config.get("num_key_value_heads").asInt());
            assertEquals(c.normEps(), config.get("rms_norm_eps").asDouble());
            assertEquals(c.ropeTheta(), config.get("rope_theta").asDouble());
            assertEquals(c.context(), config.get("max_position_embeddings").asInt());
            assertEquals(c.tiedEmbeddings(), config.get("tie_word_embeddings").asBoolean());
            assertEquals(loaded.tokenizer().documentBoundary(), config.get("bos_token_id").asInt());
            assertEquals(loaded.tokenizer().documentBoundary(), config.get("eos_token_id").asInt());
            assertEquals("float32", config.get("torch_dtype").asText());
            assertEquals("silu", config.get("hidden_act").asText());
            if (mixers.equals("swa")) assertEquals(8, config.get("sliding_window").asInt());
            else assertFalse(config.has("sliding_window"));

            var weights = SafeTensors.read(out.resolve("model.safetensors"));
            assertEquals("pt", weights.metadata().get("format"), "transformers reads only safetensors marked format pt");
            assertEquals(new TreeSet<>(loaded.model().params().all().keySet()), new TreeSet<>(weights.tensors().keySet()));
            for (String name : weights.tensors().keySet()) {
                assertTrue(name.matches("model\\.(embed_tokens\\.weight|norm\\.weight|layers\\.\\d+\\.(input_layernorm|post_attention_layernorm)\\.weight"
                        + "|layers\\.\\d+\\.self_attn\\.[qkvo]_proj\\.weight|layers\\.\\d+\\.mlp\\.(gate|up|down)_proj\\.weight)"), name);
            }
            for (var e : loaded.model().params().all().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), weights.tensors().get(e.getKey()).toFloatArray(), e.getKey());
            }

            JsonNode tok = JSON.readTree(out.resolve("tokenizer.json").toFile());
            var vocabulary = ((BpeTokenizer) loaded.tokenizer()).vocabulary();
            JsonNode vocab = tok.get("model").get("vocab");
            assertEquals("BPE", tok.get("model").get("type").asText());
            assertEquals(vocabulary.ranks().size(), vocab.size());
            assertEquals(vocabulary.pattern(), tok.get("pre_tokenizer").get("pretokenizers").get(0).get("pattern").get("Regex").asText());
            assertEquals("ByteLevel", tok.get("decoder").get("type").asText());
            assertEquals(vocabulary.boundary(), tok.get("added_tokens").get(0).get("id").asInt());
            assertEquals("<|endoftext|>", tok.get("added_tokens").get(0).get("content").asText());
            // Each learned token is in the vocab at its rank, and made by at least one merge of two vocab entries.
            String[] chars = HfExport.byteChars();
            Set<String> made = new HashSet<>();
            for (JsonNode m : tok.get("model").get("merges")) {
                assertTrue(vocab.has(m.get(0).asText()) && vocab.has(m.get(1).asText()), m.toString());
                made.add(m.get(0).asText() + m.get(1).asText());
            }
            for (int r = 0; r < vocabulary.ranks().size(); r++) {
                StringBuilder s = new StringBuilder();
                for (byte b : vocabulary.ranks().get(r)) s.append(chars[b & 0xFF]);
                assertEquals(r, vocab.get(s.toString()).asInt(), "rank " + r);
                if (r >= 256) assertTrue(made.contains(s.toString()), "no merge makes rank " + r);
            }
            JsonNode tc = JSON.readTree(out.resolve("tokenizer_config.json").toFile());
            assertEquals("<|endoftext|>", tc.get("eos_token").asText());
            assertTrue(tc.get("split_special_tokens").asBoolean());
        }
    }

    @Test
    void gpt2SByteMapIsABijectionOntoPrintableCharacters() {
        String[] chars = HfExport.byteChars();
        assertEquals(256, new HashSet<>(java.util.List.of(chars)).size());
        assertEquals("Ġ", chars[' ']);
        assertEquals("Ċ", chars['\n']);
        assertEquals("a", chars['a']);
    }

    @Test
    void whatTransformersCannotRunIsRefusedWithTheReason(@TempDir Path tmp) throws Exception {
        ModelConfig base = ModelConfig.builder().build();
        assertNull(HfExport.refusal(base));
        assertTrue(HfExport.refusal(base.withMixers("swa:1,full:1", 8)).contains("hybrids"));
        assertTrue(HfExport.refusal(base.withNorms(true, false)).contains("qk_norm"));
        assertTrue(HfExport.refusal(base.withNorms(false, true)).contains("post_norm"));
        assertTrue(HfExport.refusal(base.withMixers("swa", 8).withSection("e2e", new E2eSettings(1, 8, null, null, null))).contains("e2e"));
        assertTrue(HfExport.refusal(base.withMixers("ttt_mlp", 8)).contains("--format ttt"));
        var e = assertThrows(IllegalArgumentException.class, () -> HfExport.tokenizerJson(TiktokenTokenizer.r50k()));
        assertTrue(e.getMessage().contains("gpt2") || e.getMessage().contains("r50k"), e.getMessage());

        Path run = train(tmp, "ttt", "bytes", "--mixers", "ttt_linear");
        Path out = tmp.resolve("hf-ttt");
        var p = Cli.printed("export", "--model", run.toString(), "--out", out.toString(), "--format", "hf");
        assertEquals(1, p.status());
        assertTrue(p.err().contains("--format hf") && p.err().contains("ttt_linear") && p.err().contains("--format ttt"), p.err());
        assertFalse(Files.exists(out), "nothing written for a refused export");
        p = Cli.printed("export", "--model", run.toString(), "--out", out.toString(), "--format", "onnx");
        assertEquals(1, p.status());
        assertTrue(p.err().contains("--format") && p.err().contains("onnx"), p.err());
    }

    @Test
    void tttFoldersHoldTheOfficialConfigThatReadsBackToTheSameModel(@TempDir Path tmp) throws Exception {
        for (String[] flags : new String[][] {{"ttt_linear"}, {"ttt_mlp", "--ttt-share-qk", "true", "--ttt-pre-conv", "true"}}) {
            var args = new java.util.ArrayList<>(java.util.List.of("--mixers", flags[0]));
            args.addAll(java.util.List.of(flags).subList(1, flags.length));
            Path run = train(tmp, flags[0], "bpe:300", args.toArray(String[]::new));
            var loaded = ModelFolders.load(run);
            Path out = tmp.resolve("ttt-" + flags[0]);
            var p = Cli.printed("export", "--model", run.toString(), "--out", out.toString(), "--format", "ttt");
            assertEquals(0, p.status(), p.err());
            JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
            assertTrue(OfficialTttConfig.isOfficial(config), config.toString());
            assertEquals(flags[0].equals("ttt_linear") ? "linear" : "mlp", config.get("ttt_layer_type").asText());
            assertEquals(flags.length > 1, config.get("share_qk").asBoolean());
            assertEquals(flags.length > 1, config.get("pre_conv").asBoolean());
            assertFalse(config.get("use_gate").asBoolean());
            assertNotNull(config.get("mini_batch_size"));
            assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));

            ModelConfig read = OfficialTttConfig.read(out.resolve("config.json"));
            var weights = SafeTensors.read(out.resolve("model.safetensors")).tensors();
            Decoder again = new Decoder(read, 0);
            CheckpointStore.copyInto(weights, again.params().all(), out.toString());
            int[] ids = loaded.tokenizer().encode("public static void main(String[] args) { return value; }");
            try (var g = GradMode.disabled()) {
                assertArrayEquals(loaded.model().logits(ids, 1, ids.length, 0).toFloatArray(), again.logits(ids, 1, ids.length, 0).toFloatArray(),
                        flags[0] + ": the official config read back gives another model");
            }
        }
    }
}
