package org.ttt4j.lm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A Hugging Face {@code tokenizer.json} (with the {@code tokenizer_config.json} beside it, if any):
 * the BPE tokenizers of the Llama family, byte-level (Llama 3, Qwen3, DeepSeek-V3) and
 * SentencePiece-style with byte fallback (Llama 2, Gemma 3).
 *
 * <p>Encoding follows Hugging Face's pipeline: added tokens are cut out of the raw text first
 * (longest match at the leftmost position), the pieces between them are normalized, then added
 * tokens marked {@code normalized} are cut out of the normalized text, the rest is pre-tokenized
 * and each pre-token goes through the BPE model; the post-processor adds the special tokens
 * ({@link #encode(String)} does, as Hugging Face's {@code encode(text)} does by default).
 *
 * <p>Components accepted: model BPE (merges as "a b" strings or [a, b] pairs, {@code byte_fallback},
 * {@code unk_token}/{@code fuse_unk}, {@code ignore_merges}); normalizers NFC, NFD, NFKC, NFKD,
 * Lowercase, Strip, Replace, Prepend, Sequence; pre-tokenizers Split (string or regex, every
 * behavior, {@code invert}), ByteLevel, Metaspace, Sequence; post-processors TemplateProcessing,
 * ByteLevel, Sequence; decoders ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence.
 * Anything else is refused when loading, naming the file and the JSON field.
 *
 * <p>Text goes in as a Java string: {@link #encode(byte[])} decodes UTF-8 first, so invalid
 * UTF-8 becomes U+FFFD (Hugging Face's tokenizers take strings too). Immutable and thread-safe.
 */
public final class HfTokenizer implements Tokenizer {
    private static final int MAX_ID = 1 << 24;

    private final String name;
    private final int vocabSize;
    private final String[] idToToken;         // id -> token string (added tokens override the model's)
    private final boolean[] special;          // id -> is a special added token
    private final boolean[] added;            // id -> is an added token
    private final Map<String, Integer> tokenToId;
    private final Map<String, Integer> addedByContent;
    private final Trie rawSplitter;           // added tokens matched on the raw text
    private final Trie normalizedSplitter;    // added tokens matched on the normalized text
    private final Map<String, AddedToken> addedTokens;
    private final UnaryOperator<String> normalizer; // null: none
    private final List<PreTokenizer> preTokenizers;
    private final HfBpe model;
    private final int[] prefix;               // the post-processor's ids before the sequence
    private final int[] suffix;               // ... and after it
    private final List<DecodeStep> decoders;
    private final int bosId;
    private final int eosId;
    private final Boolean configAddBos;

    private record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip,
                              boolean normalized, boolean singleWord) {
    }

    /**
     * Reads {@code tokenizerJson} and, when present in the same folder, {@code tokenizer_config.json}.
     *
     * @throws IOException              if a file cannot be read or is not JSON
     * @throws IllegalArgumentException if a component is not supported or a value is out of range;
     *                                  the message names the file and the JSON field
     */
    public static HfTokenizer load(Path tokenizerJson) throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode root;
        try {
            root = json.readTree(tokenizerJson.toFile());
        } catch (IOException e) {
            throw new IOException(tokenizerJson + ": not a readable tokenizer.json: " + e.getMessage(), e);
        }
        Path configPath = tokenizerJson.toAbsolutePath().getParent().resolve("tokenizer_config.json");
        JsonNode config = null;
        if (Files.isRegularFile(configPath)) {
            try {
                config = json.readTree(configPath.toFile());
            } catch (IOException e) {
                throw new IOException(configPath + ": not readable JSON: " + e.getMessage(), e);
            }
        }
        Path parent = tokenizerJson.toAbsolutePath().getParent();
        String name = "hf:" + (parent != null && parent.getFileName() != null ? parent.getFileName() : tokenizerJson);
        return new HfTokenizer(name, new Loader(tokenizerJson.toString(), root), config == null ? null : new Loader(configPath.toString(), config));
    }

    private HfTokenizer(String name, Loader f, Loader cfg) {
        this.name = name;
        JsonNode root = f.root;
        if (!root.isObject()) throw f.error("", "the file is not a JSON object");
        f.refuseIf(root.path("truncation"), "truncation", "truncation settings are not supported");
        f.refuseIf(root.path("padding"), "padding", "padding settings are not supported");

        // ---- model
        JsonNode m = root.path("model");
        if (!m.isObject()) throw f.error("model", "missing or not an object");
        String type = m.path("type").asText("BPE");
        if (!type.equals("BPE")) throw f.error("model.type", "\"" + type + "\" is not supported (supported: BPE)");
        JsonNode dropout = m.path("dropout");
        if (!dropout.isMissingNode() && !dropout.isNull() && dropout.asDouble() != 0) {
            throw f.error("model.dropout", dropout + " is not supported (only null: dropout is for training)");
        }
        for (String affix : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
            JsonNode a = m.path(affix);
            if (!a.isMissingNode() && !a.isNull() && !a.asText().isEmpty()) {
                throw f.error("model." + affix, "\"" + a.asText() + "\" is not supported (only null or \"\")");
            }
        }
        JsonNode vocabNode = m.path("vocab");
        if (!vocabNode.isObject()) throw f.error("model.vocab", "missing or not an object of token -> id");
        Map<String, Integer> vocab = new HashMap<>(vocabNode.size() * 2);
        int maxId = -1;
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            var e = it.next();
            int id = f.id(e.getValue(), "model.vocab[\"" + e.getKey() + "\"]");
            vocab.put(e.getKey(), id);
            maxId = Math.max(maxId, id);
        }
        // ---- added tokens
        List<AddedToken> addedList = new ArrayList<>();
        JsonNode at = root.path("added_tokens");
        if (!at.isMissingNode() && !at.isNull() && !at.isArray()) throw f.error("added_tokens", "not an array");
        for (int i = 0; i < at.size(); i++) {
            JsonNode t = at.get(i);
            String where = "added_tokens[" + i + "]";
            int id = f.id(t.path("id"), where + ".id");
            JsonNode content = t.path("content");
            if (!content.isTextual() || content.asText().isEmpty()) throw f.error(where + ".content", "missing or empty");
            addedList.add(new AddedToken(id, content.asText(), t.path("special").asBoolean(false), t.path("lstrip").asBoolean(false),
                    t.path("rstrip").asBoolean(false), t.path("normalized").asBoolean(!t.path("special").asBoolean(false)),
                    t.path("single_word").asBoolean(false)));
            maxId = Math.max(maxId, id);
        }
        if (maxId < 0) throw f.error("model.vocab", "is empty");
        this.vocabSize = maxId + 1;
        this.idToToken = new String[vocabSize];
        for (var e : vocab.entrySet()) {
            if (idToToken[e.getValue()] != null) {
                throw f.error("model.vocab[\"" + e.getKey() + "\"]", "id " + e.getValue() + " is also the id of \""
                        + idToToken[e.getValue()] + "\"");
            }
            idToToken[e.getValue()] = e.getKey();
        }
        this.special = new boolean[vocabSize];
        this.added = new boolean[vocabSize];
        this.addedTokens = new HashMap<>();
        this.addedByContent = new HashMap<>();
        this.tokenToId = new HashMap<>(vocab);
        for (AddedToken t : addedList) {
            idToToken[t.id] = t.content;
            special[t.id] = t.special;
            added[t.id] = true;
            addedTokens.put(t.content, t);
            addedByContent.put(t.content, t.id);
            tokenToId.put(t.content, t.id);
            // A model token whose text is an added token's gets the added token's id, as in Hugging Face's
            // JavaScript tokenizers (which map token strings to ids with the added tokens first).
            if (vocab.containsKey(t.content)) vocab.put(t.content, t.id);
        }

        // ---- merges
        JsonNode merges = m.path("merges");
        if (!merges.isMissingNode() && !merges.isNull() && !merges.isArray()) throw f.error("model.merges", "not an array");
        int nm = merges.isArray() ? merges.size() : 0;
        long[] pairs = new long[nm];
        int[] result = new int[nm];
        for (int r = 0; r < nm; r++) {
            JsonNode e = merges.get(r);
            String where = "model.merges[" + r + "]";
            String a;
            String b;
            if (e.isTextual()) {
                String s = e.asText();
                int sp = s.indexOf(' ', 1);
                if (sp < 0 || s.indexOf(' ', sp + 1) >= 0) throw f.error(where, "\"" + s + "\" is not two tokens separated by one space");
                a = s.substring(0, sp);
                b = s.substring(sp + 1);
            } else if (e.isArray() && e.size() == 2 && e.get(0).isTextual() && e.get(1).isTextual()) {
                a = e.get(0).asText();
                b = e.get(1).asText();
            } else {
                throw f.error(where, "not a \"a b\" string or an [a, b] pair of strings");
            }
            Integer ia = vocab.get(a);
            Integer ib = vocab.get(b);
            Integer ic = vocab.get(a + b);
            if (ia == null) throw f.error(where, "token \"" + a + "\" is not in model.vocab");
            if (ib == null) throw f.error(where, "token \"" + b + "\" is not in model.vocab");
            if (ic == null) throw f.error(where, "the merged token \"" + a + b + "\" is not in model.vocab");
            pairs[r] = HfBpe.pair(ia, ib);
            result[r] = ic;
        }
        int unk = -1;
        JsonNode unkNode = m.path("unk_token");
        if (unkNode.isTextual()) {
            Integer u = tokenToId.get(unkNode.asText());
            if (u == null) throw f.error("model.unk_token", "\"" + unkNode.asText() + "\" is not in the vocabulary");
            unk = u;
        }
        int[] fallback = null;
        if (m.path("byte_fallback").asBoolean(false)) {
            fallback = new int[256];
            for (int b = 0; b < 256; b++) {
                Integer id = vocab.get(String.format(Locale.ROOT, "<0x%02X>", b));
                fallback[b] = id == null ? -1 : id;
            }
        }
        this.model = new HfBpe(vocab, pairs, result, m.path("ignore_merges").asBoolean(false), unk,
                m.path("fuse_unk").asBoolean(false), fallback);

        // ---- normalizer, pre-tokenizer (the normalizer first: added tokens marked normalized are normalized by it)
        this.normalizer = normalizer(f, root.path("normalizer"), "normalizer");
        List<String> raw = new ArrayList<>();
        List<String> normalizedContents = new ArrayList<>();
        // tokenizer_config.json's split_special_tokens: special tokens are not found in text (only ids give them).
        boolean splitSpecial = cfg != null && cfg.root.path("split_special_tokens").asBoolean(false);
        for (AddedToken t : addedList) {
            if (t.normalized && normalizer != null) {
                String n = normalizer.apply(t.content);
                if (!n.isEmpty()) {
                    if (!(splitSpecial && t.special)) normalizedContents.add(n);
                    addedByContent.putIfAbsent(n, t.id);
                    addedTokens.putIfAbsent(n, t);
                }
            } else if (!(splitSpecial && t.special)) {
                raw.add(t.content);
            }
        }
        this.rawSplitter = new Trie(raw);
        this.normalizedSplitter = new Trie(normalizedContents);
        this.preTokenizers = new ArrayList<>();
        preTokenizer(f, root.path("pre_tokenizer"), "pre_tokenizer", preTokenizers);

        // ---- post-processor
        List<Integer> pre = new ArrayList<>();
        List<Integer> post = new ArrayList<>();
        postProcessor(f, root.path("post_processor"), "post_processor", pre, post);
        this.prefix = pre.stream().mapToInt(Integer::intValue).toArray();
        this.suffix = post.stream().mapToInt(Integer::intValue).toArray();
        for (int id : prefix) if (id >= vocabSize) throw f.error("post_processor", "adds id " + id + ", outside the vocabulary of " + vocabSize + " ids");
        for (int id : suffix) if (id >= vocabSize) throw f.error("post_processor", "adds id " + id + ", outside the vocabulary of " + vocabSize + " ids");

        // ---- decoder
        this.decoders = new ArrayList<>();
        decoder(f, root.path("decoder"), "decoder", decoders);

        // ---- tokenizer_config.json
        int bos = -1;
        int eos = -1;
        Boolean addBos = null;
        if (cfg != null) {
            bos = cfg.specialToken(cfg.root.path("bos_token"), "bos_token", tokenToId);
            eos = cfg.specialToken(cfg.root.path("eos_token"), "eos_token", tokenToId);
            JsonNode ab = cfg.root.path("add_bos_token");
            if (ab.isBoolean()) addBos = ab.asBoolean();
        }
        if (bos < 0 && prefix.length > 0) bos = prefix[0];
        this.bosId = bos;
        this.eosId = eos;
        this.configAddBos = addBos;
    }

    // ------------------------------------------------------------------ API

    @Override
    public String name() {
        return name;
    }

    /** Largest id + 1, added tokens included. */
    @Override
    public int vocabSize() {
        return vocabSize;
    }

    /** The end-of-sequence id (from tokenizer_config.json), or the beginning-of-sequence id if there is none. */
    @Override
    public int documentBoundary() {
        if (eosId >= 0) return eosId;
        if (bosId >= 0) return bosId;
        throw new IllegalStateException(name + ": neither an eos_token nor a bos_token is known (tokenizer_config.json)");
    }

    /** The beginning-of-sequence id: tokenizer_config.json's bos_token, else the post-processor's first special token; or -1. */
    public int bosId() {
        return bosId;
    }

    /** The end-of-sequence id (tokenizer_config.json's eos_token), or -1. */
    public int eosId() {
        return eosId;
    }

    /** Whether {@link #encode(String)} puts special tokens in front (the post-processor's template). */
    public boolean addsBos() {
        return prefix.length > 0;
    }

    /** tokenizer_config.json's {@code add_bos_token}, or null when absent. Informative: encoding follows the post-processor. */
    public Boolean configAddBosToken() {
        return configAddBos;
    }

    /** The id of a token (an added/special token's content, or a vocabulary entry), or -1. */
    public int id(String token) {
        Integer id = tokenToId.get(token);
        return id == null ? -1 : id;
    }

    /** The token text of an id (added tokens as written), or null for an id no token has. */
    public String token(int id) {
        return id >= 0 && id < vocabSize ? idToToken[id] : null;
    }

    /** Whether {@code id} is a special added token. */
    public boolean isSpecial(int id) {
        return id >= 0 && id < vocabSize && special[id];
    }

    /** As Hugging Face's {@code encode(text)}: the post-processor's special tokens (Llama 2's, Gemma's BOS) included. */
    @Override
    public int[] encode(String text) {
        return encode(text, true);
    }

    /** The UTF-8 text decoded (invalid sequences become U+FFFD), then {@link #encode(String)}. */
    @Override
    public int[] encode(byte[] utf8) {
        return encode(new String(utf8, StandardCharsets.UTF_8), true);
    }

    /** @param addSpecialTokens whether the post-processor adds its special tokens (BOS) */
    public int[] encode(String text, boolean addSpecialTokens) {
        HfBpe.IntList out = new HfBpe.IntList(text.length() / 3 + 8);
        if (addSpecialTokens) for (int id : prefix) out.add(id);
        List<String> sections = rawSplitter.split(text);
        strip(sections);
        for (int s = 0; s < sections.size(); s++) {
            String section = sections.get(s);
            if (section.isEmpty()) continue;
            Integer addedId = addedByContent.get(section);
            if (addedId != null) {
                out.add(addedId);
                continue;
            }
            String normalized = normalizer == null ? section : normalizer.apply(section);
            if (normalized.isEmpty()) continue;
            List<String> subsections = normalizedSplitter.split(normalized);
            strip(subsections);
            for (String sub : subsections) {
                if (sub.isEmpty()) continue;
                Integer subId = addedByContent.get(sub);
                if (subId != null) {
                    out.add(subId);
                    continue;
                }
                List<String> pieces = List.of(sub);
                for (PreTokenizer p : preTokenizers) pieces = p.apply(pieces, s);
                for (String piece : pieces) model.encode(piece, out);
            }
        }
        if (addSpecialTokens) for (int id : suffix) out.add(id);
        return out.toArray();
    }

    /** lstrip/rstrip of the added tokens found: the whitespace next to them is dropped. */
    private void strip(List<String> sections) {
        for (int i = 0; i < sections.size(); i++) {
            AddedToken t = addedTokens.get(sections.get(i));
            if (t == null) continue;
            if (t.lstrip && i > 0) sections.set(i - 1, sections.get(i - 1).stripTrailing());
            if (t.rstrip && i + 1 < sections.size()) sections.set(i + 1, sections.get(i + 1).stripLeading());
        }
    }

    /** The bytes of the ids; special tokens decode to nothing. Unknown ids throw IllegalArgumentException. */
    @Override
    public byte[] decode(int[] ids) {
        return decodeBytes(ids, true);
    }

    /** The text of the ids, as Hugging Face's {@code decode(ids, skip_special_tokens)} (without clean-up of spaces). */
    public String decodeString(int[] ids, boolean skipSpecialTokens) {
        return new String(decodeBytes(ids, skipSpecialTokens), StandardCharsets.UTF_8);
    }

    /** The bytes of the ids through the decoder chain; byte tokens stay raw bytes, so invalid UTF-8 round-trips. */
    public byte[] decodeBytes(int[] ids, boolean skipSpecialTokens) {
        List<Object> pieces = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= vocabSize || idToToken[id] == null) {
                throw new IllegalArgumentException("token id " + id + " is not in " + name + " (" + vocabSize + " ids)");
            }
            if (skipSpecialTokens && special[id]) continue;
            pieces.add(added[id] ? new Added(idToToken[id]) : idToToken[id]);
        }
        for (DecodeStep d : decoders) pieces = d.apply(pieces);
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (Object p : pieces) out.writeBytes(bytesOf(p));
        return out.toByteArray();
    }

    @Override
    public String toString() {
        return "HfTokenizer[" + name + ", " + vocabSize + " ids]";
    }

    // ------------------------------------------------------------------ decoding pieces

    /** An added token's text in the decoder chain: byte-level decoding leaves it as written. */
    private record Added(String text) {
    }

    private static byte[] bytesOf(Object p) {
        if (p instanceof byte[] b) return b;
        if (p instanceof Added a) return a.text.getBytes(StandardCharsets.UTF_8);
        return ((String) p).getBytes(StandardCharsets.UTF_8);
    }

    private static String textOf(Object p) {
        if (p instanceof String s) return s;
        if (p instanceof Added a) return a.text;
        return null;
    }

    private interface DecodeStep {
        List<Object> apply(List<Object> pieces);
    }

    private interface PreTokenizer {
        List<String> apply(List<String> pieces, int sectionIndex);
    }

    // ------------------------------------------------------------------ components

    private static UnaryOperator<String> normalizer(Loader f, JsonNode n, String where) {
        if (n.isMissingNode() || n.isNull()) return null;
        String type = f.type(n, where);
        switch (type) {
            case "NFC":
                return s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            case "NFD":
                return s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            case "NFKC":
                return s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            case "NFKD":
                return s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            case "Lowercase":
                return s -> s.toLowerCase(Locale.ROOT);
            case "Strip": {
                boolean left = n.path("strip_left").asBoolean(true);
                boolean right = n.path("strip_right").asBoolean(true);
                return s -> {
                    if (left) s = s.stripLeading();
                    if (right) s = s.stripTrailing();
                    return s;
                };
            }
            case "Prepend": {
                String p = f.text(n.path("prepend"), where + ".prepend");
                return s -> s.isEmpty() ? s : p + s;
            }
            case "Replace": {
                Pattern pattern = f.pattern(n.path("pattern"), where + ".pattern");
                String content = Matcher.quoteReplacement(f.text(n.path("content"), where + ".content"));
                return s -> pattern.matcher(s).replaceAll(content);
            }
            case "Sequence": {
                JsonNode list = n.path("normalizers");
                if (!list.isArray()) throw f.error(where + ".normalizers", "missing or not an array");
                List<UnaryOperator<String>> steps = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    UnaryOperator<String> step = normalizer(f, list.get(i), where + ".normalizers[" + i + "]");
                    if (step != null) steps.add(step);
                }
                return s -> {
                    for (UnaryOperator<String> step : steps) s = step.apply(s);
                    return s;
                };
            }
            default:
                throw f.error(where + ".type", "\"" + type + "\" is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip,"
                        + " Replace, Prepend, Sequence)");
        }
    }

    private static void preTokenizer(Loader f, JsonNode n, String where, List<PreTokenizer> out) {
        if (n.isMissingNode() || n.isNull()) return;
        String type = f.type(n, where);
        switch (type) {
            case "Sequence" -> {
                JsonNode list = n.path("pretokenizers");
                if (!list.isArray()) throw f.error(where + ".pretokenizers", "missing or not an array");
                for (int i = 0; i < list.size(); i++) preTokenizer(f, list.get(i), where + ".pretokenizers[" + i + "]", out);
            }
            case "Split" -> {
                Pattern pattern = f.pattern(n.path("pattern"), where + ".pattern");
                String behavior = n.path("behavior").asText("Isolated");
                Behavior b;
                try {
                    b = Behavior.valueOf(behavior);
                } catch (IllegalArgumentException e) {
                    throw f.error(where + ".behavior", "\"" + behavior + "\" is not supported (supported: Removed, Isolated,"
                            + " MergedWithPrevious, MergedWithNext, Contiguous)");
                }
                boolean invert = n.path("invert").asBoolean(false);
                out.add((pieces, s) -> {
                    List<String> r = new ArrayList<>();
                    for (String p : pieces) split(p, pattern, b, invert, r);
                    return r;
                });
            }
            case "ByteLevel" -> {
                boolean prefixSpace = n.path("add_prefix_space").asBoolean(true);
                boolean useRegex = n.path("use_regex").asBoolean(true);
                out.add((pieces, s) -> {
                    List<String> r = new ArrayList<>(pieces.size());
                    for (String p : pieces) {
                        if (prefixSpace && !p.startsWith(" ")) p = " " + p;
                        if (useRegex) {
                            List<String> parts = new ArrayList<>();
                            split(p, ByteLevel.GPT2_PATTERN, Behavior.Isolated, false, parts);
                            for (String q : parts) r.add(ByteLevel.encode(q));
                        } else {
                            r.add(ByteLevel.encode(p));
                        }
                    }
                    return r;
                });
            }
            case "Metaspace" -> {
                String replacement = f.text(n.path("replacement"), where + ".replacement");
                String scheme = n.path("prepend_scheme").asText(n.path("add_prefix_space").asBoolean(true) ? "always" : "never");
                if (!scheme.equals("always") && !scheme.equals("first") && !scheme.equals("never")) {
                    throw f.error(where + ".prepend_scheme", "\"" + scheme + "\" is not supported (supported: always, first, never)");
                }
                boolean splitOn = n.path("split").asBoolean(true);
                Pattern rep = Pattern.compile(Pattern.quote(replacement));
                out.add((pieces, s) -> {
                    List<String> r = new ArrayList<>();
                    for (String p : pieces) {
                        p = p.replace(" ", replacement);
                        boolean prepend = scheme.equals("always") || (scheme.equals("first") && s == 0);
                        if (prepend && !p.startsWith(replacement)) p = replacement + p;
                        if (splitOn) split(p, rep, Behavior.MergedWithNext, false, r);
                        else r.add(p);
                    }
                    return r;
                });
            }
            default -> throw f.error(where + ".type", "\"" + type + "\" is not supported (supported: Split, ByteLevel, Metaspace, Sequence)");
        }
    }

    enum Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

    /** Splits {@code s} at the matches of {@code pattern}, keeping the pieces as {@code behavior} says; appends the non-empty pieces. */
    static void split(String s, Pattern pattern, Behavior behavior, boolean invert, List<String> out) {
        Matcher m = pattern.matcher(s);
        int last = 0;
        List<int[]> spans = new ArrayList<>(); // {start, end, isMatch}
        while (m.find()) {
            if (m.end() == m.start()) continue;
            if (m.start() > last) spans.add(new int[] {last, m.start(), invert ? 1 : 0});
            spans.add(new int[] {m.start(), m.end(), invert ? 0 : 1});
            last = m.end();
        }
        if (last < s.length()) spans.add(new int[] {last, s.length(), invert ? 1 : 0});
        switch (behavior) {
            case Isolated -> {
                for (int[] sp : spans) out.add(s.substring(sp[0], sp[1]));
            }
            case Removed -> {
                for (int[] sp : spans) if (sp[2] == 0) out.add(s.substring(sp[0], sp[1]));
            }
            case MergedWithPrevious -> {
                // A delimiter joins the piece before it unless that piece already ends with one: in a
                // run of delimiters only the first is merged, the others stand alone.
                List<int[]> pieces = new ArrayList<>();
                boolean endsWithDelimiter = false;
                for (int[] sp : spans) {
                    if (sp[2] == 1 && !pieces.isEmpty() && !endsWithDelimiter) {
                        pieces.getLast()[1] = sp[1];
                        endsWithDelimiter = true;
                    } else {
                        pieces.add(new int[] {sp[0], sp[1]});
                        endsWithDelimiter = sp[2] == 1;
                    }
                }
                for (int[] p : pieces) out.add(s.substring(p[0], p[1]));
            }
            case MergedWithNext -> {
                // A delimiter joins the piece after it; in a run of delimiters only the last is merged.
                int pending = -1;
                for (int[] sp : spans) {
                    if (sp[2] == 1) {
                        if (pending >= 0) out.add(s.substring(pending, sp[0]));
                        pending = sp[0];
                    } else {
                        out.add(s.substring(pending >= 0 ? pending : sp[0], sp[1]));
                        pending = -1;
                    }
                }
                if (pending >= 0) out.add(s.substring(pending));
            }
            case Contiguous -> {
                int start = -1;
                int prevMatch = -1;
                for (int[] sp : spans) {
                    if (start >= 0 && sp[2] == 1 && prevMatch == 1) {
                        prevMatch = 1;
                        continue;
                    }
                    if (start >= 0) out.add(s.substring(start, sp[0]));
                    start = sp[0];
                    prevMatch = sp[2];
                }
                if (start >= 0) out.add(s.substring(start));
            }
        }
    }

    private static void postProcessor(Loader f, JsonNode n, String where, List<Integer> pre, List<Integer> post) {
        if (n.isMissingNode() || n.isNull()) return;
        String type = f.type(n, where);
        switch (type) {
            case "ByteLevel" -> {
                // Only adjusts offsets, which this reader does not report.
            }
            case "Sequence" -> {
                JsonNode list = n.path("processors");
                if (!list.isArray()) throw f.error(where + ".processors", "missing or not an array");
                for (int i = 0; i < list.size(); i++) postProcessor(f, list.get(i), where + ".processors[" + i + "]", pre, post);
            }
            case "TemplateProcessing" -> {
                JsonNode single = n.path("single");
                if (!single.isArray()) throw f.error(where + ".single", "missing or not an array");
                JsonNode specials = n.path("special_tokens");
                boolean seenSequence = false;
                for (int i = 0; i < single.size(); i++) {
                    JsonNode piece = single.get(i);
                    String at = where + ".single[" + i + "]";
                    if (piece.has("Sequence")) {
                        if (seenSequence) throw f.error(at, "a second Sequence in the single template");
                        String seqId = piece.path("Sequence").path("id").asText("A");
                        if (!seqId.equals("A")) throw f.error(at + ".Sequence.id", "\"" + seqId + "\" (a single text is A)");
                        seenSequence = true;
                    } else if (piece.has("SpecialToken")) {
                        String key = piece.path("SpecialToken").path("id").asText();
                        JsonNode st = specials.path(key);
                        if (!st.isObject()) throw f.error(where + ".special_tokens", "has no \"" + key + "\" (used by " + at + ")");
                        JsonNode ids = st.path("ids");
                        if (!ids.isArray()) throw f.error(where + ".special_tokens[\"" + key + "\"].ids", "missing or not an array");
                        for (int k = 0; k < ids.size(); k++) {
                            int id = f.id(ids.get(k), where + ".special_tokens[\"" + key + "\"].ids[" + k + "]");
                            (seenSequence ? post : pre).add(id);
                        }
                    } else {
                        throw f.error(at, "neither a Sequence nor a SpecialToken");
                    }
                }
                if (!seenSequence) throw f.error(where + ".single", "has no Sequence");
            }
            default -> throw f.error(where + ".type", "\"" + type + "\" is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
        }
    }

    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x([0-9A-Fa-f]{2})>");

    private static void decoder(Loader f, JsonNode n, String where, List<DecodeStep> out) {
        if (n.isMissingNode() || n.isNull()) return;
        String type = f.type(n, where);
        switch (type) {
            case "Sequence" -> {
                JsonNode list = n.path("decoders");
                if (!list.isArray()) throw f.error(where + ".decoders", "missing or not an array");
                for (int i = 0; i < list.size(); i++) decoder(f, list.get(i), where + ".decoders[" + i + "]", out);
            }
            case "ByteLevel" -> out.add(pieces -> {
                List<Object> r = new ArrayList<>(pieces.size());
                for (Object p : pieces) r.add(p instanceof String s ? ByteLevel.decode(s) : p);
                return r;
            });
            case "Replace" -> {
                Pattern pattern = f.pattern(n.path("pattern"), where + ".pattern");
                String content = Matcher.quoteReplacement(f.text(n.path("content"), where + ".content"));
                out.add(pieces -> {
                    List<Object> r = new ArrayList<>(pieces.size());
                    for (Object p : pieces) {
                        if (p instanceof String s) r.add(pattern.matcher(s).replaceAll(content));
                        else if (p instanceof Added a) r.add(new Added(pattern.matcher(a.text).replaceAll(content)));
                        else r.add(p);
                    }
                    return r;
                });
            }
            case "ByteFallback" -> out.add(pieces -> {
                List<Object> r = new ArrayList<>(pieces.size());
                for (Object p : pieces) {
                    if (p instanceof String s && s.length() == 6) {
                        Matcher m = BYTE_TOKEN.matcher(s);
                        if (m.matches()) {
                            r.add(new byte[] {(byte) Integer.parseInt(m.group(1), 16)});
                            continue;
                        }
                    }
                    r.add(p);
                }
                return r;
            });
            case "Fuse" -> out.add(pieces -> {
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                for (Object p : pieces) all.writeBytes(bytesOf(p));
                List<Object> r = new ArrayList<>(1);
                r.add(all.toByteArray());
                return r;
            });
            case "Strip" -> {
                String content = f.text(n.path("content"), where + ".content");
                if (content.codePointCount(0, content.length()) != 1) throw f.error(where + ".content", "is not one character");
                byte[] c = content.getBytes(StandardCharsets.UTF_8);
                int start = n.path("start").asInt(0);
                int stop = n.path("stop").asInt(0);
                out.add(pieces -> {
                    List<Object> r = new ArrayList<>(pieces.size());
                    for (Object p : pieces) {
                        byte[] b = bytesOf(p);
                        int from = 0;
                        int to = b.length;
                        for (int k = 0; k < start && startsWith(b, from, to, c); k++) from += c.length;
                        for (int k = 0; k < stop && to - c.length >= from && startsWith(b, to - c.length, to, c); k++) to -= c.length;
                        r.add(java.util.Arrays.copyOfRange(b, from, to));
                    }
                    return r;
                });
            }
            case "Metaspace" -> {
                String replacement = f.text(n.path("replacement"), where + ".replacement");
                String scheme = n.path("prepend_scheme").asText(n.path("add_prefix_space").asBoolean(true) ? "always" : "never");
                out.add(pieces -> {
                    List<Object> r = new ArrayList<>(pieces.size());
                    for (int i = 0; i < pieces.size(); i++) {
                        Object p = pieces.get(i);
                        String s = textOf(p);
                        if (s == null) {
                            r.add(p);
                            continue;
                        }
                        s = s.replace(replacement, " ");
                        if (i == 0 && !scheme.equals("never") && s.startsWith(" ")) s = s.substring(1);
                        r.add(s);
                    }
                    return r;
                });
            }
            default -> throw f.error(where + ".type", "\"" + type + "\" is not supported (supported: ByteLevel, Replace, ByteFallback,"
                    + " Fuse, Strip, Metaspace, Sequence)");
        }
    }

    private static boolean startsWith(byte[] b, int from, int to, byte[] c) {
        if (to - from < c.length) return false;
        for (int i = 0; i < c.length; i++) if (b[from + i] != c[i]) return false;
        return true;
    }

    // ------------------------------------------------------------------ byte-level alphabet

    /** GPT-2's reversible map of the 256 bytes onto printable characters. */
    static final class ByteLevel {
        static final char[] BYTE_TO_CHAR = new char[256];
        static final int[] CHAR_TO_BYTE = new int[512];
        /** GPT-2's pre-tokenisation pattern (ByteLevel with use_regex). */
        static final Pattern GPT2_PATTERN = Pattern.compile(
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", Pattern.UNICODE_CHARACTER_CLASS);

        static {
            java.util.Arrays.fill(CHAR_TO_BYTE, -1);
            int extra = 0;
            for (int b = 0; b < 256; b++) {
                boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                char c = printable ? (char) b : (char) (256 + extra++);
                BYTE_TO_CHAR[b] = c;
                CHAR_TO_BYTE[c] = b;
            }
        }

        static String encode(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            char[] c = new char[b.length];
            for (int i = 0; i < b.length; i++) c[i] = BYTE_TO_CHAR[b[i] & 0xff];
            return new String(c);
        }

        /** The bytes of a byte-level token; a token with characters outside the alphabet stays its UTF-8 text. */
        static byte[] decode(String s) {
            byte[] b = new byte[s.length()];
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                int v = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
                if (v < 0) return s.getBytes(StandardCharsets.UTF_8);
                b[i] = (byte) v;
            }
            return b;
        }
    }

    // ------------------------------------------------------------------ added-token splitter

    /** Cuts the longest added token starting at the leftmost position out of a text, repeatedly. */
    static final class Trie {
        private static final class Node {
            final Map<Character, Node> next = new HashMap<>(4);
            String end;
        }

        private final Node root = new Node();
        private final boolean[] first = new boolean[65536];
        private final boolean empty;

        Trie(List<String> words) {
            for (String w : words) {
                Node n = root;
                for (int i = 0; i < w.length(); i++) n = n.next.computeIfAbsent(w.charAt(i), k -> new Node());
                n.end = w;
                first[w.charAt(0)] = true;
            }
            empty = words.isEmpty();
        }

        List<String> split(String text) {
            List<String> out = new ArrayList<>();
            if (empty) {
                out.add(text);
                return out;
            }
            int start = 0;
            int i = 0;
            int n = text.length();
            while (i < n) {
                if (!first[text.charAt(i)]) {
                    i++;
                    continue;
                }
                Node node = root;
                String match = null;
                for (int j = i; j < n && (node = node.next.get(text.charAt(j))) != null; j++) {
                    if (node.end != null) match = node.end;
                }
                if (match == null) {
                    i++;
                    continue;
                }
                if (i > start) out.add(text.substring(start, i));
                out.add(match);
                i += match.length();
                start = i;
            }
            if (start < n) out.add(text.substring(start));
            return out;
        }
    }

    // ------------------------------------------------------------------ reading JSON with located errors

    private record Loader(String file, JsonNode root) {
        IllegalArgumentException error(String field, String what) {
            return new IllegalArgumentException(file + ": " + (field.isEmpty() ? "" : field + " ") + what);
        }

        void refuseIf(JsonNode n, String field, String what) {
            if (!n.isMissingNode() && !n.isNull()) throw error(field, what);
        }

        String type(JsonNode n, String where) {
            if (!n.isObject()) throw error(where, "is not an object");
            JsonNode t = n.path("type");
            if (!t.isTextual()) throw error(where + ".type", "missing");
            return t.asText();
        }

        String text(JsonNode n, String where) {
            if (!n.isTextual()) throw error(where, "missing or not a string");
            return n.asText();
        }

        int id(JsonNode n, String where) {
            if (!n.canConvertToInt() || !n.isIntegralNumber()) throw error(where, "is not an integer id: " + n);
            int id = n.asInt();
            if (id < 0 || id >= MAX_ID) throw error(where, "id " + id + " is out of range [0, " + MAX_ID + ")");
            return id;
        }

        /** A Split/Replace pattern: {"String": literal} or {"Regex": Oniguruma-style regex, compiled by java.util.regex}. */
        Pattern pattern(JsonNode n, String where) {
            if (n.has("String")) return Pattern.compile(Pattern.quote(text(n.path("String"), where + ".String")));
            if (n.has("Regex")) {
                String re = text(n.path("Regex"), where + ".Regex");
                try {
                    return Pattern.compile(re, Pattern.UNICODE_CHARACTER_CLASS);
                } catch (PatternSyntaxException e) {
                    throw error(where + ".Regex", "is not a regex Java accepts: " + e.getDescription());
                }
            }
            throw error(where, "has neither String nor Regex");
        }

        /** tokenizer_config.json's bos_token/eos_token: a string, an {"content": ...} object, or null; -1 when absent. */
        int specialToken(JsonNode n, String where, Map<String, Integer> ids) {
            if (n.isMissingNode() || n.isNull()) return -1;
            String content;
            if (n.isTextual()) content = n.asText();
            else if (n.isObject() && n.path("content").isTextual()) content = n.path("content").asText();
            else throw error(where, "is neither a string nor an object with a content");
            Integer id = ids.get(content);
            if (id == null) throw error(where, "\"" + content + "\" is not a token of the tokenizer.json");
            return id;
        }
    }
}
