package org.ttt4j.lm.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ttt4j.lm.model.Mixer;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.tokenizer.BpeTokenizer;
import org.ttt4j.lm.tokenizer.BpeVocabulary;
import org.ttt4j.lm.tokenizer.ByteTokenizer;
import org.ttt4j.lm.tokenizer.Tokenizer;

/**
 * What a Hugging Face {@code transformers} folder of an attention model holds, built from a ttt4j
 * model: {@code config.json} (Llama, or Mistral with {@code sliding_window} for sliding-window
 * models), {@code tokenizer.json} and {@code tokenizer_config.json}. The weights need no renaming:
 * attention blocks use the Llama parameter names already. Anything transformers' Llama or
 * Mistral cannot compute the same way is refused with the reason ({@link #refusal}).
 *
 * <p>Tokenizers: a ttt4j byte-level BPE (ranks in tiktoken's format) becomes a {@code BPE} model
 * over GPT-2's byte-to-character map, with its split regex as a {@code Split} pre-tokenizer before a
 * {@code ByteLevel} one (which does no splitting of its own) and a {@code ByteLevel} decoder; its
 * merges list every way each token splits into two tokens, at that token's rank, and
 * {@code ignore_merges} takes a piece that is a token whole, as tiktoken does. The byte tokenizer
 * is the same with the 256 bytes and no merges. The document boundary is the special token
 * {@code <|endoftext|>}, and {@code split_special_tokens} keeps that text ordinary in user input,
 * as ttt4j does. jtokkit's built-in encodings (gpt2, cl100k_base) are refused: ttt4j does not hold
 * their rank tables (take the Hub's own tokenizer of that name).
 */
public final class HfExport {
    private HfExport() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Why transformers cannot run {@code c} as Llama or Mistral, or null when it can.
     */
    public static String refusal(ModelConfig c) {
        List<Mixer> blocks = c.blockMixers();
        Set<String> kinds = new java.util.TreeSet<>();
        for (Mixer m : blocks) kinds.add(m.name());
        if (!Set.of("full", "swa").containsAll(kinds)) {
            return "mixers \"" + c.mixers() + "\": only attention models (full, swa) have a transformers counterpart"
                    + (kinds.stream().anyMatch(k -> k.startsWith("ttt_")) ? "; TTT-Linear/TTT-MLP models export with --format ttt" : "");
        }
        if (kinds.size() > 1) return "mixers \"" + c.mixers() + "\": hybrids of full and sliding-window blocks have no Llama or Mistral counterpart";
        if (!c.sections().isEmpty()) {
            return "config sections " + c.sections().keySet() + " (e.g. TTT-E2E's inner loop) have no transformers counterpart";
        }
        if (c.qkNorm()) return "qk_norm: per-head RMSNorm of queries and keys has no Llama counterpart";
        if (c.postNorm()) return "post_norm: sandwich norms have no Llama counterpart";
        if (c.attentionBias() != null) return "attention_bias \"" + c.attentionBias() + "\": not written for transformers (q/k/v biases are Qwen2's)";
        if (c.ropeScaling() != null) return "rope_scaling: not written for transformers";
        return null;
    }

    /** The {@code config.json}: Llama for full attention, Mistral with {@code sliding_window} for swa. */
    public static ObjectNode config(ModelConfig c, Tokenizer tok, String torchDtype) {
        String why = refusal(c);
        if (why != null) throw new IllegalArgumentException("cannot export for transformers: " + why);
        boolean swa = c.blockMixers().getFirst().name().equals("swa");
        ObjectNode n = JSON.createObjectNode();
        n.putArray("architectures").add(swa ? "MistralForCausalLM" : "LlamaForCausalLM");
        n.put("model_type", swa ? "mistral" : "llama");
        n.put("vocab_size", c.vocabSize());
        n.put("hidden_size", c.dModel());
        n.put("intermediate_size", c.dFf());
        n.put("num_hidden_layers", c.layers());
        n.put("num_attention_heads", c.heads());
        n.put("num_key_value_heads", c.kvHeads());
        n.put("head_dim", c.headDim());
        n.put("hidden_act", "silu");
        n.put("max_position_embeddings", c.context());
        n.put("initializer_range", c.initStd());
        n.put("rms_norm_eps", c.normEps());
        n.put("rope_theta", c.ropeTheta());
        n.putNull("rope_scaling");
        if (swa) n.put("sliding_window", c.window());
        else {
            n.put("attention_bias", false);
            n.put("mlp_bias", false);
        }
        n.put("attention_dropout", 0.0);
        n.put("tie_word_embeddings", c.tiedEmbeddings());
        n.put("bos_token_id", tok.documentBoundary());
        n.put("eos_token_id", tok.documentBoundary());
        n.put("use_cache", true);
        n.put("torch_dtype", torchDtype);
        return n;
    }

    /** GPT-2's map from bytes to printable characters, the alphabet of byte-level BPE vocabularies. */
    public static String[] byteChars() {
        String[] out = new String[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = new String(Character.toChars(printable ? b : next++));
        }
        return out;
    }

    private static String chars(byte[] token, String[] map) {
        StringBuilder s = new StringBuilder();
        for (byte b : token) s.append(map[b & 0xFF]);
        return s.toString();
    }

    /** The {@code tokenizer.json} of {@code tok}; refuses a tokenizer it cannot express, saying why. */
    public static ObjectNode tokenizerJson(Tokenizer tok) {
        List<byte[]> ranks;
        String pattern;
        if (tok instanceof BpeTokenizer bpe) {
            ranks = bpe.vocabulary().ranks();
            pattern = bpe.vocabulary().pattern();
        } else if (tok instanceof ByteTokenizer) {
            ranks = new ArrayList<>();
            for (int b = 0; b < 256; b++) ranks.add(new byte[] {(byte) b});
            pattern = null;
        } else {
            throw new IllegalArgumentException("cannot export tokenizer " + tok.name() + " for transformers: ttt4j holds no rank table for"
                    + " jtokkit's built-in encodings (use the Hub's tokenizer of that name); byte-level BPE and bytes export");
        }
        String[] map = byteChars();
        ObjectNode n = JSON.createObjectNode();
        n.put("version", "1.0");
        n.putNull("truncation");
        n.putNull("padding");
        ObjectNode special = n.putArray("added_tokens").addObject();
        special.put("id", tok.documentBoundary());
        special.put("content", BpeVocabulary.BOUNDARY_TOKEN);
        special.put("single_word", false);
        special.put("lstrip", false);
        special.put("rstrip", false);
        special.put("normalized", false);
        special.put("special", true);
        n.putNull("normalizer");
        ObjectNode byteLevel = JSON.createObjectNode();
        byteLevel.put("type", "ByteLevel");
        byteLevel.put("add_prefix_space", false);
        byteLevel.put("trim_offsets", true);
        byteLevel.put("use_regex", false);
        if (pattern == null) {
            n.set("pre_tokenizer", byteLevel);
        } else {
            ObjectNode seq = n.putObject("pre_tokenizer");
            seq.put("type", "Sequence");
            ArrayNode list = seq.putArray("pretokenizers");
            ObjectNode split = list.addObject();
            split.put("type", "Split");
            split.putObject("pattern").put("Regex", pattern);
            split.put("behavior", "Isolated");
            split.put("invert", false);
            list.add(byteLevel);
        }
        n.putNull("post_processor");
        n.set("decoder", byteLevel.deepCopy());
        ObjectNode model = n.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", true);
        ObjectNode vocab = model.putObject("vocab");
        Map<String, Integer> rankOf = new HashMap<>();
        for (int r = 0; r < ranks.size(); r++) {
            String s = chars(ranks.get(r), map);
            vocab.put(s, r);
            rankOf.put(new String(ranks.get(r), StandardCharsets.ISO_8859_1), r);
        }
        ArrayNode merges = model.putArray("merges");
        for (int r = 256; r < ranks.size(); r++) {
            byte[] t = ranks.get(r);
            String latin = new String(t, StandardCharsets.ISO_8859_1);
            // Every split of the token into two tokens: tiktoken merges any adjacent pair whose
            // concatenation is a token, so each such pair is a merge, at the rank of what it makes.
            for (int cut = 1; cut < t.length; cut++) {
                Integer a = rankOf.get(latin.substring(0, cut)), b = rankOf.get(latin.substring(cut));
                if (a != null && b != null) {
                    ArrayNode pair = merges.addArray();
                    pair.add(chars(java.util.Arrays.copyOfRange(t, 0, cut), map));
                    pair.add(chars(java.util.Arrays.copyOfRange(t, cut, t.length), map));
                }
            }
        }
        return n;
    }

    /** The {@code tokenizer_config.json}: a fast tokenizer over tokenizer.json, the boundary as BOS, EOS and padding. */
    public static ObjectNode tokenizerConfig(Tokenizer tok, int context) {
        ObjectNode n = JSON.createObjectNode();
        n.put("tokenizer_class", "PreTrainedTokenizerFast");
        n.put("bos_token", BpeVocabulary.BOUNDARY_TOKEN);
        n.put("eos_token", BpeVocabulary.BOUNDARY_TOKEN);
        n.put("pad_token", BpeVocabulary.BOUNDARY_TOKEN);
        n.put("add_bos_token", false);
        n.put("add_eos_token", false);
        n.put("split_special_tokens", true);
        n.put("clean_up_tokenization_spaces", false);
        n.put("model_max_length", context);
        n.put("ttt4j_tokenizer", tok.name());
        return n;
    }
}
