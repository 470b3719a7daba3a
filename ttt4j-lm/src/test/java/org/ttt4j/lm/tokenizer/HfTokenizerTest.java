package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link HfTokenizer}: the committed expected ids, the special tokens, round trips and the refusals. */
class HfTokenizerTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static java.util.List<String> names() {
        return HfFixtures.NAMES;
    }

    /** Ids the reference gave when the fixture was written (resources/tokenizers/expected-ids.json). */
    @ParameterizedTest
    @MethodSource("names")
    void committedExpectedIds(String name) throws Exception {
        JsonNode fixture;
        try (InputStream in = getClass().getResourceAsStream("/tokenizers/expected-ids.json")) {
            fixture = JSON.readTree(in);
        }
        HfTokenizer tok = HfTokenizer.load(HfFixtures.tokenizerJson(HfFixtures.modules(), name));
        JsonNode texts = fixture.path("texts");
        JsonNode ids = fixture.path("ids").path(name);
        assertEquals(texts.size(), ids.size());
        for (int i = 0; i < texts.size(); i++) {
            assertArrayEquals(HfFixtures.ints(ids.get(i)), tok.encode(texts.get(i).asText()), name + " text " + i);
        }
    }

    @Test
    void specialTokensAndSizes() throws Exception {
        Path m = HfFixtures.modules();
        HfTokenizer llama2 = HfTokenizer.load(HfFixtures.tokenizerJson(m, "llama2"));
        assertEquals(1, llama2.bosId());
        assertEquals(2, llama2.eosId());
        assertEquals(2, llama2.documentBoundary());
        assertEquals(32000, llama2.vocabSize());
        assertTrue(llama2.addsBos());
        assertEquals(1, llama2.id("<s>"));
        HfTokenizer llama3 = HfTokenizer.load(HfFixtures.tokenizerJson(m, "llama3"));
        assertEquals(128000, llama3.bosId());
        assertEquals(128001, llama3.eosId());
        assertEquals(128256, llama3.vocabSize());
        assertEquals(128000, llama3.id("<|begin_of_text|>"));
        assertFalse(llama3.addsBos()); // this file's post-processor is ByteLevel alone
        HfTokenizer qwen = HfTokenizer.load(HfFixtures.tokenizerJson(m, "qwen3"));
        assertEquals(-1, qwen.bosId());
        assertEquals(151645, qwen.eosId());
        assertEquals(151645, qwen.documentBoundary());
        assertEquals(151669, qwen.vocabSize());
        assertEquals(-1, qwen.id("<no such token>"));
        HfTokenizer gemma = HfTokenizer.load(HfFixtures.tokenizerJson(m, "gemma3"));
        assertEquals(2, gemma.bosId());
        assertEquals(262145, gemma.vocabSize());
    }

    /** Any bytes that are valid UTF-8 come back from decode (special tokens decode to nothing). */
    @ParameterizedTest
    @MethodSource("names")
    void roundTrip(String name) throws Exception {
        HfTokenizer tok = HfTokenizer.load(HfFixtures.tokenizerJson(HfFixtures.modules(), name));
        for (String text : HfTokenizerParityTest.texts()) {
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            int[] ids = tok.encode(text, false);
            for (int id : ids) assertTrue(id >= 0 && id < tok.vocabSize());
            // Skipped: texts with special tokens (they decode to nothing) or with U+2581 (SentencePiece's space).
            if (containsSpecial(tok, text) || text.contains("\u2581")) continue;
            String back = new String(tok.decode(tok.encode(utf8)), StandardCharsets.UTF_8);
            if (!back.equals(text)) { // Qwen3 normalizes to NFC
                assertEquals(java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC), back, name + ": " + text);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {tok.vocabSize()}));
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {-1}));
    }

    private static boolean containsSpecial(HfTokenizer tok, String text) {
        for (int id : tok.encode(text, false)) if (tok.isSpecial(id)) return true;
        return false;
    }

    // ---------------------------------------------------------------- refusals

    static final String MINIMAL = """
            {"version": "1.0", "added_tokens": [{"id": 4, "content": "<s>", "special": true, "lstrip": false, "rstrip": false,
              "normalized": false, "single_word": false}],
             "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
             "post_processor": null, "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "c": 3}, "merges": ["a b"]}}
            """;

    private static Path write(Path dir, String json) throws Exception {
        Path p = dir.resolve("tokenizer.json");
        Files.writeString(p, json);
        return p;
    }

    @Test
    void minimalWorks(@TempDir Path dir) throws Exception {
        HfTokenizer tok = HfTokenizer.load(write(dir, MINIMAL));
        assertArrayEquals(new int[] {2, 3, 4, 0}, tok.encode("abc<s>a"));
        assertEquals(5, tok.vocabSize());
        assertEquals("abc<s>a", tok.decodeString(new int[] {2, 3, 4, 0}, false));
        // No tokenizer_config.json and no template: no bos/eos, so no document boundary.
        assertEquals(-1, tok.eosId());
        assertThrows(IllegalStateException.class, tok::documentBoundary);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"<s>\"}, \"bos_token\": null}");
        tok = HfTokenizer.load(dir.resolve("tokenizer.json"));
        assertEquals(4, tok.eosId());
        assertEquals(4, tok.documentBoundary());
        assertEquals("abca", tok.decodeString(new int[] {2, 3, 4, 0}));
    }

    private static String refusal(Path dir, String json) {
        return assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(write(dir, json))).getMessage();
    }

    @Test
    void refusesUnsupportedComponentsNamingFileAndField(@TempDir Path dir) {
        String m = refusal(dir, MINIMAL.replace("\"type\": \"BPE\"", "\"type\": \"Unigram\""));
        assertTrue(m.contains("tokenizer.json: model.type \"Unigram\" is not supported (supported: BPE)"), m);
        m = refusal(dir, MINIMAL.replace("\"normalizer\": null", "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": \"BertNormalizer\"}]}"));
        assertTrue(m.contains("normalizer.normalizers[1].type \"BertNormalizer\" is not supported"), m);
        m = refusal(dir, MINIMAL.replace("\"type\": \"ByteLevel\", \"add_prefix_space\"", "\"type\": \"Whitespace\", \"add_prefix_space\""));
        assertTrue(m.contains("pre_tokenizer.type \"Whitespace\" is not supported"), m);
        m = refusal(dir, MINIMAL.replace("\"decoder\": {\"type\": \"ByteLevel\"}", "\"decoder\": {\"type\": \"WordPiece\"}"));
        assertTrue(m.contains("decoder.type \"WordPiece\" is not supported"), m);
        m = refusal(dir, MINIMAL.replace("\"post_processor\": null", "\"post_processor\": {\"type\": \"BertProcessing\"}"));
        assertTrue(m.contains("post_processor.type \"BertProcessing\" is not supported"), m);
        m = refusal(dir, MINIMAL.replace("{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}",
                "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}"));
        assertTrue(m.contains("pre_tokenizer.pattern.Regex is not a regex"), m);
    }

    @Test
    void refusesBadIdsAndMerges(@TempDir Path dir) {
        String m = refusal(dir, MINIMAL.replace("[\"a b\"]", "[\"a x\"]"));
        assertTrue(m.contains("model.merges[0] token \"x\" is not in model.vocab"), m);
        m = refusal(dir, MINIMAL.replace("[\"a b\"]", "[\"b c\"]"));
        assertTrue(m.contains("model.merges[0] the merged token \"bc\" is not in model.vocab"), m);
        m = refusal(dir, MINIMAL.replace("[\"a b\"]", "[\"ab\"]"));
        assertTrue(m.contains("model.merges[0] \"ab\" is not two tokens"), m);
        m = refusal(dir, MINIMAL.replace("\"c\": 3", "\"c\": -3"));
        assertTrue(m.contains("model.vocab[\"c\"] id -3 is out of range"), m);
        m = refusal(dir, MINIMAL.replace("\"c\": 3", "\"c\": 2"));
        assertTrue(m.contains("model.vocab[\"c\"] id 2 is also the id of") || m.contains("model.vocab[\"ab\"] id 2 is also the id of"), m);
        m = refusal(dir, MINIMAL.replace("\"id\": 4", "\"id\": \"four\""));
        assertTrue(m.contains("added_tokens[0].id is not an integer id"), m);
        m = refusal(dir, MINIMAL.replace("\"post_processor\": null", "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": ["
                + "{\"SpecialToken\": {\"id\": \"<s>\"}}, {\"Sequence\": {\"id\": \"A\"}}], \"special_tokens\": {\"<s>\": {\"ids\": [99999999]}}}"));
        assertTrue(m.contains("post_processor.special_tokens[\"<s>\"].ids[0] id 99999999 is out of range"), m);
    }

    @Test
    void refusesUnknownConfigTokens(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<nope>\"}");
        String m = refusal(dir, MINIMAL);
        assertTrue(m.contains("tokenizer_config.json: bos_token \"<nope>\" is not a token"), m);
    }
}
