package org.ttt4j.lm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A trained byte-level BPE vocabulary as it is stored: the token bytes in rank order (ranks 0..255
 * are the single bytes 0..255, learned tokens follow in merge order), the pre-tokenisation regex,
 * and one special token, the document boundary, with id {@code ranks().size()}.
 *
 * <p>On disk it is a folder with {@value #RANKS_FILE}, in tiktoken's ranks format (one line per
 * token: base64 of its bytes, a space, its rank) so that tiktoken-compatible tools (jtokkit here)
 * read it directly, and {@value #SIDECAR_FILE}, a small JSON file with the name, regex and special
 * tokens, which the ranks format has no place for.
 */
public record BpeVocabulary(String name, String pattern, List<byte[]> ranks) {
    public static final String RANKS_FILE = "ranks.tiktoken";
    public static final String SIDECAR_FILE = "tokenizer.json";
    public static final String BOUNDARY_TOKEN = "<|endoftext|>";

    public BpeVocabulary {
        ranks = List.copyOf(ranks);
        if (ranks.size() < 256) {
            throw new IllegalArgumentException("a byte-level vocabulary needs the 256 single bytes as ranks 0..255");
        }
        for (int b = 0; b < 256; b++) {
            byte[] t = ranks.get(b);
            if (t.length != 1 || (t[0] & 0xFF) != b) {
                throw new IllegalArgumentException("rank " + b + " must be the single byte " + b);
            }
        }
        Set<String> seen = new HashSet<>();
        for (int r = 0; r < ranks.size(); r++) {
            if (ranks.get(r).length == 0 || !seen.add(new String(ranks.get(r), StandardCharsets.ISO_8859_1))) {
                throw new IllegalArgumentException("rank " + r + " is empty or duplicates an earlier token");
            }
        }
    }

    /** The id of the document boundary: right after the learned ranks. */
    public int boundary() {
        return ranks.size();
    }

    /** Ranks plus the boundary. */
    public int vocabSize() {
        return ranks.size() + 1;
    }

    /** Writes {@value #RANKS_FILE} and {@value #SIDECAR_FILE} into {@code dir} (created if needed). */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        Base64.Encoder b64 = Base64.getEncoder();
        try (BufferedWriter w = Files.newBufferedWriter(dir.resolve(RANKS_FILE), StandardCharsets.US_ASCII)) {
            for (int r = 0; r < ranks.size(); r++) {
                w.write(b64.encodeToString(ranks.get(r)));
                w.write(' ');
                w.write(Integer.toString(r));
                w.write('\n');
            }
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", name);
        json.put("type", "byte-level-bpe");
        json.put("ranks_file", RANKS_FILE);
        json.put("pattern", pattern);
        json.put("special_tokens", Map.of(BOUNDARY_TOKEN, boundary()));
        json.put("document_boundary", boundary());
        json.put("vocab_size", vocabSize());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(dir.resolve(SIDECAR_FILE).toFile(), json);
    }

    /** Reads a folder written by {@link #save}. */
    public static BpeVocabulary load(Path dir) throws IOException {
        Path sidecar = dir.resolve(SIDECAR_FILE);
        if (!Files.isRegularFile(sidecar)) {
            throw new IOException("not a BPE tokenizer folder (no " + SIDECAR_FILE + "): " + dir);
        }
        JsonNode json = new ObjectMapper().readTree(sidecar.toFile());
        String name = json.path("name").asText(null);
        String pattern = json.path("pattern").asText(null);
        String ranksFile = json.path("ranks_file").asText(RANKS_FILE);
        if (name == null || pattern == null) {
            throw new IOException(sidecar + ": missing name or pattern");
        }
        List<byte[]> ranks = new ArrayList<>();
        Base64.Decoder b64 = Base64.getDecoder();
        try (BufferedReader r = Files.newBufferedReader(dir.resolve(ranksFile), StandardCharsets.US_ASCII)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                int sp = line.indexOf(' ');
                if (sp < 0 || Integer.parseInt(line.substring(sp + 1).trim()) != ranks.size()) {
                    throw new IOException(ranksFile + " line " + lineNo + ": expected '<base64> " + ranks.size() + "'");
                }
                ranks.add(b64.decode(line.substring(0, sp)));
            }
        } catch (NumberFormatException e) {
            throw new IOException(ranksFile + ": bad rank: " + e.getMessage(), e);
        }
        BpeVocabulary v;
        try {
            v = new BpeVocabulary(name, pattern, ranks);
        } catch (IllegalArgumentException e) {
            throw new IOException(dir + ": " + e.getMessage(), e);
        }
        int boundary = json.path("special_tokens").path(BOUNDARY_TOKEN).asInt(-1);
        if (boundary != v.boundary()) {
            throw new IOException(sidecar + ": expected " + BOUNDARY_TOKEN + " = " + v.boundary() + ", found " + boundary);
        }
        return v;
    }

}
