package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.ttt4j.lm.api.HfExport;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

/**
 * The peers of {@code ttt4j bench infer}: Jlama and PyTorch decoding the same Hugging Face Llama
 * folder in the same weight format on the same number of threads, each run as a subprocess that
 * prints one JSON object per context ({@code peer, version, weights, threads, context,
 * prefill_tokens_per_s, decode_tokens_per_s}). Their rules are ttt4j's: a warm-up, then per context
 * a fresh KV cache that reads {@code context} random token ids, and the best of three rounds of
 * {@code tokens} single-token steps (each a random id, its logits and argmax computed).
 *
 * <p>Both peers live in the repository's {@code scripts/peers/} folder, found above the working
 * folder or the CLI's jar: {@code jlama/} is a Maven project of its own (Jlama is no dependency of
 * ttt4j), built on first use with the repository's {@code mvnw} and run with this JVM's
 * {@code java}; {@code torch_decode.py} runs with the first of {@code python3} and
 * {@code /usr/bin/python3} that has torch and transformers. A peer that cannot run gives results
 * that say why ({@link PeerResult#absent()}) instead of failing the bench; its standard error goes
 * to the log.
 */
public final class InferPeers {
    private InferPeers() {}

    /** The weight formats the bench asks the peers for. */
    public static final List<String> WEIGHTS = List.of("f32", "bf16", "q8");

    /**
     * Jlama's format for ttt4j's {@code q8}: Jlama 0.8.4's pure-Java kernels multiply F32, BF16 and
     * Q4 weights only (Q8 weights written by its quantizer fail in the first layer with
     * {@code UnsupportedOperationException: I8}), so its closest format, Q4 blocks against Q8
     * activations, stands in; its results name it.
     */
    public static final String JLAMA_Q8 = "q4";

    /** The JVM options the Jlama peer runs with on {@code threads} threads (besides the class path). */
    public static List<String> jlamaJvmOptions(int threads) {
        return List.of("--add-modules=jdk.incubator.vector",
                // Jlama's matrix products run on its own pool of exactly --threads threads; its few parallel
                // streams run on the common pool, with the calling thread: threads - 1 workers.
                "-Djava.util.concurrent.ForkJoinPool.common.parallelism=" + (threads - 1),
                // As Jlama's own launcher: no bounds checks in vector loads and stores.
                "-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0",
                // The pure-Java (Vector API) kernels, even were jlama-native on the class path.
                "-Djlama.force_panama_tensor_operations=true");
    }

    /** The longest a peer may take before it is stopped and counted absent. */
    static final Duration TIMEOUT = Duration.ofMinutes(30);

    /**
     * One peer's speed at one context, or why there is none.
     *
     * @param peer "jlama" or "torch"
     * @param version the peer's version (torch's followed by transformers')
     * @param weights the format that ran (Jlama's {@value #JLAMA_Q8} when {@code q8} was asked)
     * @param threads threads the peer ran on
     * @param context tokens read before decoding
     * @param prefillTokensPerS tokens/s of reading the context (NaN when absent)
     * @param decodeTokensPerS tokens/s of decoding, the best of three rounds (NaN when absent)
     * @param absent why the peer has no result here, or null when it was measured
     */
    public record PeerResult(String peer, String version, String weights, int threads, int context,
                             double prefillTokensPerS, double decodeTokensPerS, String absent) {
        /** A peer that could not be measured at {@code context}, saying why. */
        public static PeerResult absent(String peer, String weights, int threads, int context, String why) {
            return new PeerResult(peer, "?", weights, threads, context, Double.NaN, Double.NaN, why);
        }

        /** True when the peer ran and this holds its speed. */
        public boolean measured() {
            return absent == null;
        }

        /** The result as a JSON row: the peer's own fields, or {@code absent} with the reason. */
        public Map<String, Object> row() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("peer", peer);
            m.put("version", version);
            m.put("weights", weights);
            m.put("threads", threads);
            m.put("context", context);
            if (measured()) {
                m.put("prefill_tokens_per_s", prefillTokensPerS);
                m.put("decode_tokens_per_s", decodeTokensPerS);
            } else {
                m.put("absent", absent);
            }
            return m;
        }
    }

    /**
     * Jlama's speed on {@code hfFolder} in {@code weights} (f32, bf16, or q8 which runs Jlama's
     * {@value #JLAMA_Q8}) on {@code threads} threads: one result per context, absent ones saying why.
     */
    public static List<PeerResult> jlama(Path hfFolder, String weights, int threads, int[] contexts, int tokens, PrintWriter log) {
        String format = weights.equals("q8") ? JLAMA_Q8 : weights;
        Path peers;
        Path project;
        try {
            peers = peersFolder();
            project = buildJlama(peers, log);
        } catch (IOException | RuntimeException e) {
            log.println("jlama peer absent: " + e.getMessage());
            return absentAll("jlama", format, threads, contexts, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return absentAll("jlama", format, threads, contexts, "interrupted");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(javaCommand());
        cmd.addAll(jlamaJvmOptions(threads));
        cmd.add("-cp");
        try {
            cmd.add(project.resolve("target/classes") + java.io.File.pathSeparator
                    + Files.readString(project.resolve("target/classpath.txt")).strip());
        } catch (IOException e) {
            return absentAll("jlama", format, threads, contexts, "cannot read the Jlama peer's class path: " + e.getMessage());
        }
        cmd.add("org.ttt4j.peers.jlama.Main");
        cmd.addAll(peerArgs(hfFolder, format, threads, contexts, tokens));
        return results("jlama", format, threads, contexts, run(cmd, Map.of(), TIMEOUT), log);
    }

    /**
     * PyTorch's speed (transformers' Llama with a KV cache) on {@code hfFolder} in {@code weights}
     * (f32, bf16, q8: dynamic qint8 quantization of the Linear layers) on {@code threads} threads:
     * one result per context, absent ones saying why.
     */
    public static List<PeerResult> torch(Path hfFolder, String weights, int threads, int[] contexts, int tokens, PrintWriter log) {
        return torch(hfFolder, weights, threads, contexts, tokens, PythonPeer.interpreters(null), log);
    }

    /** As {@link #torch(Path, String, int, int[], int, PrintWriter)} with the first of {@code interpreters} that has torch. */
    static List<PeerResult> torch(Path hfFolder, String weights, int threads, int[] contexts, int tokens, List<String> interpreters,
                                  PrintWriter log) {
        Path script;
        try {
            script = peersFolder().resolve("torch_decode.py");
        } catch (IOException | RuntimeException e) {
            log.println("torch peer absent: " + e.getMessage());
            return absentAll("torch", weights, threads, contexts, e.getMessage());
        }
        List<String> args = peerArgs(hfFolder, weights, threads, contexts, tokens);
        List<String> tried = new ArrayList<>();
        for (String python : interpreters) {
            List<String> cmd = new ArrayList<>(List.of(python, script.toString()));
            cmd.addAll(args);
            Outcome o = run(cmd, threadEnv(threads), TIMEOUT);
            if (o.status() == Outcome.NOT_STARTED || o.status() == NO_TORCH) {
                tried.add(python + (o.status() == NO_TORCH ? " (" + lastLine(o.err()) + ")" : " (not found)"));
                continue;
            }
            return results("torch", weights, threads, contexts, o, log);
        }
        String why = "no Python with torch and transformers (tried " + String.join(", ", tried) + ")";
        log.println("torch peer absent: " + why);
        return absentAll("torch", weights, threads, contexts, why);
    }

    /** The exit status of torch_decode.py when torch or transformers cannot be imported. */
    static final int NO_TORCH = 4;

    /** PyTorch's raw logits of the last of {@code ids} on {@code hfFolder} (F32), for checking that it runs ttt4j's model. */
    public static float[] torchLogits(Path hfFolder, int[] ids) throws IOException {
        Path script = peersFolder().resolve("torch_decode.py");
        String csv = Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
        List<String> tried = new ArrayList<>();
        for (String python : PythonPeer.interpreters(null)) {
            Outcome o = run(List.of(python, script.toString(), "--folder", hfFolder.toString(), "--logits", csv), threadEnv(1), TIMEOUT);
            if (o.status() == Outcome.NOT_STARTED || o.status() == NO_TORCH) {
                tried.add(python);
                continue;
            }
            if (o.status() != 0) throw new IOException("torch_decode.py --logits failed (status " + o.status() + "): " + o.err().strip());
            JsonNode n = new ObjectMapper().readTree(o.out().lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse("{}"));
            JsonNode logits = n.get("logits");
            if (logits == null || !logits.isArray()) throw new IOException("torch_decode.py --logits printed no logits: " + o.out().strip());
            float[] out = new float[logits.size()];
            for (int i = 0; i < out.length; i++) out[i] = (float) logits.get(i).asDouble();
            return out;
        }
        throw new IOException("no Python with torch and transformers (tried " + String.join(", ", tried) + ")");
    }

    /**
     * Writes {@code model} as a Hugging Face Llama folder into {@code dir} (created if needed):
     * config.json, model.safetensors (F32) and the byte tokenizer's tokenizer.json, what both peers
     * load. The model must be an attention model that transformers' Llama computes
     * ({@link HfExport#refusal}) with a vocabulary of at least {@value ByteTokenizer#VOCAB_SIZE}.
     *
     * @return {@code dir}
     */
    public static Path writeHfFolder(Decoder model, Path dir) throws IOException {
        var c = model.config();
        if (c.vocabSize() < ByteTokenizer.VOCAB_SIZE) {
            throw new IllegalArgumentException("vocabulary " + c.vocabSize() + ": the folder's byte tokenizer needs " + ByteTokenizer.VOCAB_SIZE);
        }
        var tok = ByteTokenizer.instance();
        var json = new ObjectMapper();
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(HfExport.config(c, tok, "float32")));
        Files.writeString(dir.resolve("tokenizer.json"), json.writeValueAsString(HfExport.tokenizerJson(tok)));
        Files.writeString(dir.resolve("tokenizer_config.json"), json.writeValueAsString(HfExport.tokenizerConfig(tok, c.context())));
        // "pt": transformers reads only safetensors marked as PyTorch's.
        SafeTensors.write(dir.resolve("model.safetensors"), model.params().all(), Map.of("format", "pt"));
        return dir;
    }

    // ---- running a peer -------------------------------------------------------------------

    /** What a peer process did: its exit status ({@link #NOT_STARTED} when it could not start), stdout and stderr. */
    record Outcome(int status, String out, String err) {
        static final int NOT_STARTED = -1;
        static final int TIMED_OUT = -2;
    }

    /** Runs {@code cmd} with {@code env} added to this environment; never throws. */
    static Outcome run(List<String> cmd, Map<String, String> env, Duration timeout) {
        Path err = null;
        try {
            err = Files.createTempFile("ttt4j-peer", ".err");
            var pb = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(nullFile()));
            pb.environment().putAll(env);
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                return new Outcome(Outcome.NOT_STARTED, "", e.getMessage());
            }
            // Standard output is read to its end (the peer closes it when it exits), standard error goes to a file.
            var out = new java.io.ByteArrayOutputStream();
            Thread reader = Thread.ofVirtual().start(() -> {
                try (var in = p.getInputStream()) {
                    in.transferTo(out);
                } catch (IOException ignored) {
                    // the process was stopped
                }
            });
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor();
                reader.join();
                return new Outcome(Outcome.TIMED_OUT, out.toString(StandardCharsets.UTF_8), Files.readString(err));
            }
            reader.join();
            return new Outcome(p.exitValue(), out.toString(StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Outcome(Outcome.NOT_STARTED, "", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(Outcome.NOT_STARTED, "", "interrupted");
        } finally {
            if (err != null) {
                try {
                    Files.deleteIfExists(err);
                } catch (IOException ignored) {
                    // a temporary file left behind
                }
            }
        }
    }

    private static java.io.File nullFile() {
        return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    /**
     * The results of a peer's run: its JSON lines, one per context; every context it gave none for,
     * or every context when it failed, absent with the reason. A failure's standard error goes to {@code log}.
     */
    static List<PeerResult> results(String peer, String weights, int threads, int[] contexts, Outcome o, PrintWriter log) {
        String why = null;
        List<PeerResult> parsed = List.of();
        if (o.status() == Outcome.NOT_STARTED) {
            why = "could not start: " + o.err().strip();
        } else if (o.status() == Outcome.TIMED_OUT) {
            why = "stopped after " + TIMEOUT.toMinutes() + " minutes";
        } else if (o.status() != 0) {
            why = "exited with status " + o.status() + ": " + errorLine(o.err());
        } else {
            try {
                parsed = parse(o.out());
                if (parsed.isEmpty()) why = "printed no result line (a JSON object starting with '{'); its output: " + excerpt(o.out());
            } catch (IllegalArgumentException e) {
                why = e.getMessage();
            }
        }
        if (why != null) {
            log.println(peer + " peer (" + weights + ", " + threads + " thread(s)) absent: " + why);
            if (!o.err().isBlank()) log.println("  its standard error:\n" + o.err().strip().indent(4).stripTrailing());
            return absentAll(peer, weights, threads, contexts, why);
        }
        List<PeerResult> out = new ArrayList<>();
        for (int ctx : contexts) {
            PeerResult r = parsed.stream().filter(p -> p.context() == ctx).findFirst().orElse(null);
            out.add(r != null ? r : PeerResult.absent(peer, weights, threads, ctx, "printed no result for context " + ctx));
        }
        return out;
    }

    /**
     * The results in a peer's standard output: each line that starts with "{" must be a JSON object
     * with the fields of a result; other lines are the peer's chatter.
     *
     * @throws IllegalArgumentException naming the line and the field when a result line is unreadable
     */
    static List<PeerResult> parse(String stdout) {
        var json = new ObjectMapper();
        List<PeerResult> out = new ArrayList<>();
        int n = 0;
        for (String line : stdout.split("\\R")) {
            n++;
            String s = line.strip();
            if (!s.startsWith("{")) continue;
            JsonNode o;
            try {
                o = json.readTree(s);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException("line " + n + " of its output is not JSON (" + e.getOriginalMessage() + "): " + excerpt(s));
            }
            for (String f : List.of("peer", "version", "weights", "threads", "context", "prefill_tokens_per_s", "decode_tokens_per_s")) {
                if (o.get(f) == null || o.get(f).isNull()) throw new IllegalArgumentException("line " + n + " of its output lacks \"" + f + "\": " + excerpt(s));
            }
            for (String f : List.of("threads", "context", "prefill_tokens_per_s", "decode_tokens_per_s")) {
                if (!o.get(f).isNumber()) throw new IllegalArgumentException("line " + n + " of its output: \"" + f + "\" is not a number: " + excerpt(s));
            }
            String version = o.get("version").asText();
            if (o.hasNonNull("transformers")) version += " (transformers " + o.get("transformers").asText() + ")";
            out.add(new PeerResult(o.get("peer").asText(), version, o.get("weights").asText(), o.get("threads").asInt(), o.get("context").asInt(),
                    o.get("prefill_tokens_per_s").asDouble(), o.get("decode_tokens_per_s").asDouble(), null));
        }
        return out;
    }

    private static List<PeerResult> absentAll(String peer, String weights, int threads, int[] contexts, String why) {
        return Arrays.stream(contexts).mapToObj(c -> PeerResult.absent(peer, weights, threads, c, why)).toList();
    }

    private static List<String> peerArgs(Path hfFolder, String weights, int threads, int[] contexts, int tokens) {
        return List.of("--folder", hfFolder.toAbsolutePath().toString(), "--threads", Integer.toString(threads), "--weights", weights,
                "--contexts", Arrays.stream(contexts).mapToObj(Integer::toString).collect(Collectors.joining(",")),
                "--tokens", Integer.toString(tokens));
    }

    /** The same thread count for torch's pool and the OpenMP, MKL and OpenBLAS pools under it. */
    private static Map<String, String> threadEnv(int threads) {
        String n = Integer.toString(threads);
        return Map.of("OMP_NUM_THREADS", n, "MKL_NUM_THREADS", n, "OPENBLAS_NUM_THREADS", n);
    }

    /**
     * The line of a peer's standard error that says what went wrong: the last one that is not part
     * of a stack trace (indented) nor a logging or JVM warning, e.g. Python's exception or Java's
     * innermost {@code Caused by:}.
     */
    static String errorLine(String err) {
        return err.lines().filter(l -> !l.isBlank() && !Character.isWhitespace(l.charAt(0)) && !l.startsWith("SLF4J:") && !l.startsWith("WARNING:"))
                .reduce((a, b) -> b).map(String::strip).orElse(lastLine(err));
    }

    private static String lastLine(String s) {
        return s.strip().lines().reduce((a, b) -> b).orElse("(no output)");
    }

    private static String excerpt(String s) {
        String t = s.strip();
        if (t.isEmpty()) return "(nothing)";
        return t.length() <= 300 ? t : t.substring(0, 300) + " ...";
    }

    // ---- finding and building the peers ------------------------------------------------------

    /**
     * The repository's {@code scripts/peers} folder, found above the working folder or the CLI's jar.
     *
     * @throws IOException when neither is inside a ttt4j repository
     */
    static Path peersFolder() throws IOException {
        List<Path> starts = new ArrayList<>();
        starts.add(Path.of("").toAbsolutePath());
        var code = InferPeers.class.getProtectionDomain().getCodeSource();
        if (code != null) {
            try {
                starts.add(Path.of(code.getLocation().toURI()).toAbsolutePath());
            } catch (java.net.URISyntaxException | IllegalArgumentException ignored) {
                // not a file location
            }
        }
        for (Path start : starts) {
            for (Path d = start; d != null; d = d.getParent()) {
                Path s = d.resolve("scripts").resolve("peers");
                if (Files.isRegularFile(s.resolve("torch_decode.py")) && Files.isRegularFile(s.resolve("jlama").resolve("pom.xml"))) return s;
            }
        }
        throw new IOException("scripts/peers (the peers' programs) not found above " + starts + ": run from a ttt4j repository checkout");
    }

    /**
     * The Jlama peer's project, built with the repository's Maven wrapper when its class path is
     * missing or older than its sources.
     *
     * @throws IOException saying why when it cannot be built (Maven offline, no wrapper)
     */
    static Path buildJlama(Path peers, PrintWriter log) throws IOException, InterruptedException {
        Path project = peers.resolve("jlama");
        Path classpath = project.resolve("target").resolve("classpath.txt");
        if (Files.isRegularFile(classpath) && !newerThan(project, Files.getLastModifiedTime(classpath).toMillis())) return project;
        Path root = peers.getParent().getParent();
        Path mvnw = root.resolve(System.getProperty("os.name").startsWith("Windows") ? "mvnw.cmd" : "mvnw");
        if (!Files.isRegularFile(mvnw)) throw new IOException("cannot build the Jlama peer: no Maven wrapper at " + mvnw);
        log.println("building the Jlama peer (" + project + ", first use or sources changed) ...");
        Outcome o = run(List.of(mvnw.toString(), "-B", "-ntp", "-q", "-f", project.resolve("pom.xml").toString(), "package"),
                Map.of("JAVA_HOME", System.getProperty("java.home")), TIMEOUT);
        if (o.status() != 0 || !Files.isRegularFile(classpath)) {
            String output = (o.out() + "\n" + o.err()).strip();
            log.println("  Maven's output:\n" + output.indent(4).stripTrailing());
            String error = output.lines().filter(l -> l.contains("[ERROR]")).findFirst().orElse(lastLine(output));
            throw new IOException("cannot build the Jlama peer (Maven Central unreachable?): " + error.strip());
        }
        // The build leaves an unchanged class path file as it was: its time marks the build.
        Files.setLastModifiedTime(classpath, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
        return project;
    }

    private static boolean newerThan(Path project, long millis) throws IOException {
        try (var files = Files.walk(project)) {
            return files.filter(f -> !f.startsWith(project.resolve("target")) && Files.isRegularFile(f)).anyMatch(f -> {
                try {
                    return Files.getLastModifiedTime(f).toMillis() > millis;
                } catch (IOException e) {
                    return true;
                }
            });
        }
    }

    /** The {@code java} of the running JVM. */
    static String javaCommand() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
