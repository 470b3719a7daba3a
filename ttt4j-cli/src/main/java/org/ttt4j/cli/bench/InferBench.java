package org.ttt4j.cli.bench;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Function;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.kernel.Gemm;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.kernel.Team;
import org.ttt4j.core.kernel.VectorMath;
import org.ttt4j.core.kernel.WeightFormat;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.decode.DecodePlan;
import org.ttt4j.lm.methods.Batched;
import org.ttt4j.lm.methods.MethodSession;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench infer}: prefill and decode tokens/s of a model at several contexts, per weight
 * format and thread count, batched decoding of several sessions, beside the machine's memory
 * bandwidth measured in the same run and the decode speed it allows (every weight and the KV cache
 * read once per token): {@code fraction_of_bandwidth_limit}; prefill beside the GEMM's own speed
 * at the model's shapes ({@code fraction_of_gemm}). Thread counts other than the engine's run in a
 * child JVM ({@code -Dttt4j.threads=N}).
 */
@Command(name = "infer", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Prefill and decode tokens/s per weight format and thread count, against this machine's memory bandwidth.",
                "Also batched decoding of several sessions, prefill against the GEMM's speed, and Jlama and PyTorch on the same weights",
                "with --peers."})
public final class InferBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "MODEL", description = "a model folder (any kind --model takes; default: random weights of --dims)")
    Path model;
    @Option(names = "--dims", defaultValue = "110m", description = "random-weight Llama shapes when no --model: 110m (width 768, 12 layers,"
            + " SwiGLU 2048) or 8m (width 256, 6 layers, SwiGLU 688), vocabulary 32000 (default: ${DEFAULT-VALUE})")
    String dims;
    @Option(names = "--methods", split = ",", defaultValue = "full", description = "with --dims: full, swa, e2e (TTT-E2E of the same size),"
            + " ttt_linear, ttt_mlp (default: ${DEFAULT-VALUE})")
    List<String> methods;
    @Option(names = "--window", defaultValue = "1024", description = "with --dims: the window of swa and e2e, e2e's chunk (default: ${DEFAULT-VALUE})")
    int window;
    @Option(names = "--contexts", split = ",", defaultValue = "128,1024,4096", description = "context lengths read before decoding (default: ${DEFAULT-VALUE})")
    int[] contexts;
    @Option(names = "--weights", split = ",", defaultValue = "f32,bf16,q8", description = "weight formats (default: ${DEFAULT-VALUE})")
    List<String> weights;
    @Option(names = "--kv-cache", split = ",", defaultValue = "f32", description = "KV cache formats, each measured with every weight format:"
            + " f32, bf16 (default: ${DEFAULT-VALUE})")
    List<String> kvCaches;
    @Option(names = "--threads", split = ",", description = "thread counts (default: 1 and the engine's, -Dttt4j.threads)")
    int[] threads;
    @Option(names = "--batch", split = ",", defaultValue = "1,4,16", description = "sessions decoded together (default: ${DEFAULT-VALUE})")
    int[] batch;
    @Option(names = "--batch-context", defaultValue = "128", description = "context each batched session has read (default: ${DEFAULT-VALUE})")
    int batchContext;
    @Option(names = "--tokens", defaultValue = "32", description = "tokens decoded per measurement; the best of three is kept (default: ${DEFAULT-VALUE})")
    int tokens;
    @Option(names = "--chunk", defaultValue = "256", description = "prefill tokens per pass (default: ${DEFAULT-VALUE})") int chunk;
    @Option(names = "--peers", split = ",", defaultValue = "none", description = "peers decoding the same weights: jlama, torch, or none"
            + " (default: ${DEFAULT-VALUE})")
    List<String> peers;
    @Option(names = "--rows-only", hidden = true, description = "print JSON rows only, as the child runs of other thread counts do (default: false)") boolean rowsOnly;
    @Option(names = "--warmup", defaultValue = "128", description = "tokens decoded per warm-up round before measuring (default: ${DEFAULT-VALUE})")
    int warmup;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        List<WeightFormat> formats = weights.stream().map(WeightFormat::parse).toList();
        if (tokens < 1 || chunk < 1 || batchContext < 1) throw new IllegalArgumentException("--tokens, --chunk and --batch-context must be >= 1");
        for (int c : contexts) if (c < 1) throw new IllegalArgumentException("--contexts: each must be >= 1, got " + c);
        for (int b : batch) if (b < 1 || b > Batched.MAX_BATCH) throw new IllegalArgumentException("--batch: each must be 1.." + Batched.MAX_BATCH + ", got " + b);
        int[] counts = threads != null ? threads : Parallel.threads() == 1 ? new int[] {1} : new int[] {1, Parallel.threads()};
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int t : counts) {
            if (t == Parallel.threads()) rows.addAll(measure(formats));
            else rows.addAll(child(t));
        }
        if (rowsOnly) {
            for (var r : rows) stdout().println(JSON.writeValueAsString(r));
            return 0;
        }
        if (!peers.contains("none")) rows.addAll(peerRows(formats, counts));
        ratios(rows);
        table(rows);
        stdout().println();
        for (var r : rows) stdout().println(JSON.writeValueAsString(r));
        return 0;
    }

    /** Every measurement of this process's thread count. */
    private List<Map<String, Object>> measure(List<WeightFormat> formats) {
        List<Map<String, Object>> rows = new ArrayList<>();
        int threads = Parallel.threads();
        double[] bandwidth = Bandwidth.measure(Team.engine());
        if (!rowsOnly) {
            stdout().printf("ttt4j bench infer: %s, %d thread(s): memory bandwidth %.1f GB/s read, %.1f GB/s triad%n", model != null ? model : dims,
                    threads, bandwidth[0] / 1e9, bandwidth[1] / 1e9);
        }
        var rng = new SplittableRandom(7);
        for (String method : model != null ? List.of("model") : methods) {
            double gemm = -1;
            List<KvCache.Format> kvFormats = kvCaches.stream().map(KvCache.Format::parse).toList();
            for (var combo : formats.stream().flatMap(w -> kvFormats.stream().map(kv -> java.util.Map.entry(w, kv))).toList()) {
                WeightFormat f = combo.getKey();
                KvCache.Format kv = combo.getValue();
                Decoder m = load(method).storeWeights(f).kvCacheFormat(kv);
                String stored = f.label() + (kv == KvCache.Format.F32 ? "" : " kv " + kv.label());
                ModelConfig c = m.config();
                if (gemm < 0) gemm = gemmGflops(c);
                long weightBytes = DecodePlan.of(m).map(DecodePlan::weightBytes)
                        .orElse((long) (m.params().count() * f.bytesPerWeight()));
                String name = model != null ? model.toString() : dims + " " + method;
                Function<String, Map<String, Object>> row = kind -> {
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("bench", "infer");
                    r.put("kind", kind);
                    r.put("model", name);
                    r.put("mixers", c.mixers());
                    r.put("parameters", m.params().count());
                    r.put("weights", f.label());
                    r.put("kv_cache", kv.label());
                    r.put("threads", threads);
                    return r;
                };
                try (var off = GradMode.disabled()) {
                    // Compiles the paths measured below (C2 needs thousands of calls of each kernel). The prefill gets eight
                    // passes a round: decoding shares few kernels with it (a TTT layer decodes on arrays).
                    for (int round = 0; round < 2; round++) {
                        MethodSession warm = Methods.of(c).openSession(m, chunk);
                        warm.read(rng.ints(Math.min(8 * chunk, c.context()), 0, c.vocabSize()).toArray());
                        for (int i = 0; i < warmup; i++) warm.next(rng.nextInt(c.vocabSize()));
                    }
                    List<MethodSession> warmBatch = new ArrayList<>();
                    for (int i = 0; i < Batched.MAX_BATCH; i++) {
                        warmBatch.add(Methods.of(c).openSession(m, chunk));
                        warmBatch.getLast().read(rng.ints(8, 0, c.vocabSize()).toArray());
                    }
                    for (int b : batch) for (int i = 0; i < warmup / 4; i++) Batched.next(warmBatch.subList(0, b), rng.ints(b, 0, c.vocabSize()).toArray());
                    for (int ctx : contexts) {
                        // Prefill: the best of three sessions reading the context (the last one decodes below).
                        MethodSession s = null;
                        double prefill = 0;
                        for (int round = 0; round < 3; round++) {
                            s = Methods.of(c).openSession(m, chunk);
                            int[] ids = rng.ints(ctx, 0, c.vocabSize()).toArray();
                            long t0 = System.nanoTime();
                            s.read(ids);
                            prefill = Math.max(prefill, ctx / ((System.nanoTime() - t0) / 1e9));
                        }
                        double decode = 0; // best of three runs of --tokens
                        for (int round = 0; round < 3; round++) {
                            long t1 = System.nanoTime();
                            for (int i = 0; i < tokens; i++) s.next(rng.nextInt(c.vocabSize()));
                            decode = Math.max(decode, tokens / ((System.nanoTime() - t1) / 1e9));
                        }
                        long stateBytes = s.stateFloats() * 4;
                        long readBytes = stateBytesRead(m, s, ctx + tokens / 2, kv);
                        double limit = bandwidth[0] / (weightBytes + readBytes);
                        double flops = prefillFlops(m, ctx);
                        var p = row.apply("prefill");
                        p.put("context", ctx);
                        p.put("tokens_per_s", prefill);
                        p.put("gflops", prefill * flops / 1e9);
                        p.put("gemm_gflops", gemm);
                        p.put("fraction_of_gemm", prefill * flops / 1e9 / gemm);
                        rows.add(p);
                        var d = row.apply("decode");
                        d.put("context", ctx);
                        d.put("tokens_per_s", decode);
                        d.put("ms_per_token", 1000 / decode);
                        d.put("weight_bytes", weightBytes);
                        d.put("state_bytes", stateBytes);
                        d.put("state_bytes_read", readBytes);
                        d.put("bandwidth_read_bytes_per_s", bandwidth[0]);
                        d.put("bandwidth_triad_bytes_per_s", bandwidth[1]);
                        d.put("limit_tokens_per_s", limit);
                        d.put("fraction_of_bandwidth_limit", decode / limit);
                        rows.add(d);
                        progress("%s %s %d thread(s), context %d: prefill %.0f tok/s, decode %.1f tok/s%n", name, stored, threads, ctx, prefill, decode);
                    }
                    for (int b : batch) {
                        List<MethodSession> sessions = new ArrayList<>();
                        for (int i = 0; i < b; i++) {
                            MethodSession s = Methods.of(c).openSession(m, chunk);
                            s.read(rng.ints(batchContext, 0, c.vocabSize()).toArray());
                            sessions.add(s);
                        }
                        double best = 0;
                        for (int round = 0; round < 3; round++) {
                            long t1 = System.nanoTime();
                            for (int i = 0; i < tokens; i++) Batched.next(sessions, rng.ints(b, 0, c.vocabSize()).toArray());
                            best = Math.max(best, (double) b * tokens / ((System.nanoTime() - t1) / 1e9));
                        }
                        var r = row.apply("batch_decode");
                        r.put("sessions", b);
                        r.put("context", batchContext);
                        r.put("tokens_per_s", best);
                        rows.add(r);
                        progress("%s %s %d thread(s), %d sessions: %.1f tok/s%n", name, stored, threads, b, best);
                    }
                }
            }
        }
        return rows;
    }

    private void progress(String format, Object... args) {
        stderr().printf(format, args);
    }

    /** The model of --model, or random weights of --dims for {@code method}. */
    private Decoder load(String method) {
        if (model != null) {
            try {
                return ModelFolders.load(model).model();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        ModelConfig base = config(dims);
        ModelConfig c = switch (method) {
            case "full" -> base;
            case "swa" -> base.withMixers("swa", window);
            case "e2e" -> new E2eSettings(null, window, null, null, null).matched(base.withMixers("swa", window));
            case "ttt_linear", "ttt_mlp" -> base.withMixers(method, window);
            default -> throw new IllegalArgumentException("--methods: unknown \"" + method + "\" (known: full, swa, e2e, ttt_linear, ttt_mlp)");
        };
        return new Decoder(c.validate(), 1);
    }

    /**
     * Bytes of state a token reads at {@code positions}: the keys and values its attention blocks
     * see (the window's, or all of them), and the whole state of other mixers (TTT layers' fast
     * weights; TTT-E2E's windows and fast weights are counted by their session, fully).
     */
    static long stateBytesRead(Decoder m, MethodSession s, long positions, KvCache.Format kv) {
        ModelConfig c = m.config();
        boolean attentionOnly = m.blocks().stream().allMatch(org.ttt4j.lm.model.Block::attentionOnly);
        if (!attentionOnly || E2eSettings.of(c) != null) return s.stateFloats() * 4;
        long bytes = 0;
        int element = kv == KvCache.Format.BF16 ? 2 : 4;
        for (var mixer : c.blockMixers()) bytes += 2L * c.kvHeads() * c.headDim() * element * (mixer.windowed() ? Math.min(positions, c.window()) : positions);
        return bytes;
    }

    static ModelConfig config(String dims) {
        return switch (dims) {
            case "110m" -> ModelConfig.builder().vocabSize(32000).dModel(768).layers(12).heads(12).dFf(2048).context(8192).build();
            case "8m" -> ModelConfig.builder().vocabSize(32000).dModel(256).layers(6).heads(4).dFf(688).context(8192).build();
            default -> throw new IllegalArgumentException("--dims: expected 110m or 8m, got \"" + dims + "\"");
        };
    }

    /**
     * Floating-point operations of reading {@code ctx} tokens, per token: two per weight of every
     * block matrix, and attention's q.k and p.v over the keys each token sees (the head runs on the
     * last token only).
     */
    static double prefillFlops(Decoder m, int ctx) {
        ModelConfig c = m.config();
        double matrices = 0;
        for (var e : m.params().all().entrySet()) {
            if (e.getValue().rank() == 2 && e.getKey().startsWith("model.layers.")) matrices += e.getValue().size();
        }
        double keys = 0; // mean keys a token sees, summed over blocks
        for (var mixer : c.blockMixers()) keys += mixer.windowed() ? Math.min(c.window(), (ctx + 1) / 2.0) : (ctx + 1) / 2.0;
        return 2 * matrices + 4.0 * c.heads() * c.headDim() * keys;
    }

    /** GFLOP/s of the engine's GEMM at the prefill's widest product: [chunk, d] x [d, d_ff] (best of five). */
    private double gemmGflops(ModelConfig c) {
        int m = chunk, k = c.dModel(), n = c.dFf();
        float[] a = new float[m * k], b = new float[n * k], out = new float[m * n];
        var rng = new SplittableRandom(3);
        for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextDouble(-1, 1);
        for (int i = 0; i < b.length; i++) b[i] = (float) rng.nextDouble(-1, 1);
        double best = 0;
        for (int round = 0; round < 25; round++) {
            long t0 = System.nanoTime();
            Gemm.sgemm(false, true, m, n, k, a, 0, k, b, 0, k, out, 0, n, false);
            best = Math.max(best, 2.0 * m * n * k / ((System.nanoTime() - t0) / 1e9) / 1e9);
        }
        return best;
    }

    /** The rows of thread count {@code t}, measured by a child JVM started with {@code -Dttt4j.threads=t}. */
    private List<Map<String, Object>> child(int t) throws Exception {
        List<String> cmd = childMain(t);
        cmd.addAll(List.of("bench", "infer", "--rows-only", "--threads", Integer.toString(t), "--dims", dims, "--window", Integer.toString(window),
                "--tokens", Integer.toString(tokens), "--warmup", Integer.toString(warmup), "--chunk", Integer.toString(chunk), "--batch-context", Integer.toString(batchContext),
                "--methods", String.join(",", methods), "--weights", String.join(",", weights), "--kv-cache", String.join(",", kvCaches), "--contexts", join(contexts), "--batch", join(batch)));
        if (model != null) cmd.addAll(List.of("--model", model.toString()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<Map<String, Object>> rows = new ArrayList<>();
        try (var in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("{")) rows.add(JSON.readValue(line, new TypeReference<LinkedHashMap<String, Object>>() {}));
            }
        }
        int code = p.waitFor();
        if (code != 0) throw new IllegalStateException("the " + t + "-thread child run of bench infer exited with " + code + " (its errors are above)");
        return rows;
    }

    /**
     * The command that runs this CLI's {@code Main} in a child JVM with this JVM's options, the
     * engine threads set to {@code threads} (null: the child's default).
     */
    static List<String> childMain(Integer threads) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) if (!a.startsWith("-Dttt4j.threads=")) cmd.add(a);
        if (threads != null) cmd.add("-Dttt4j.threads=" + threads);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.ttt4j.cli.Main"));
        return cmd;
    }

    private static String join(int[] values) {
        return String.join(",", java.util.Arrays.stream(values).mapToObj(Integer::toString).toList());
    }

    /** The peers' rows on the same weights (written as a Hugging Face folder for them). */
    private List<Map<String, Object>> peerRows(List<WeightFormat> formats, int[] counts) throws Exception {
        return InferPeerRows.measure(this, formats, counts, peers, stdout(), stderr());
    }

    Path modelFolder() {
        return model;
    }

    /** The fp32 model the peers run: --model's, or the random weights of --dims (full attention, as its first method). */
    org.ttt4j.lm.model.Decoder peerModel() {
        return load(model != null ? "model" : "full");
    }

    String dims() {
        return dims;
    }

    int[] contexts() {
        return contexts;
    }

    int tokens() {
        return tokens;
    }

    /** ratio_vs_f32 on decode and batched rows; ratio_vs_jlama and ratio_vs_torch on decode rows a peer measured alike. */
    private void ratios(List<Map<String, Object>> rows) {
        String peerModel = model != null ? model.toString() : dims + " full";
        for (var r : rows) {
            if (!"infer".equals(r.get("bench"))) continue;
            for (var o : rows) {
                if (!"infer".equals(o.get("bench")) || !"f32".equals(o.get("weights")) || !"f32".equals(o.get("kv_cache")) || !same(r, o, "kind", "model", "threads", "context", "sessions")) continue;
                r.put("ratio_vs_f32", num(r, "tokens_per_s") / num(o, "tokens_per_s"));
            }
            if (!"decode".equals(r.get("kind"))) continue;
            for (var o : rows) {
                if (o.get("peer") == null || o.get("decode_tokens_per_s") == null || !same(r, o, "threads", "context")
                        || !r.get("weights").equals(o.get("requested_weights")) || !r.get("model").equals(peerModel)) continue;
                r.put("ratio_vs_" + o.get("peer"), num(r, "tokens_per_s") / num(o, "decode_tokens_per_s"));
            }
        }
    }

    private static boolean same(Map<String, Object> a, Map<String, Object> b, String... keys) {
        for (String k : keys) {
            Object x = a.get(k), y = b.get(k);
            if (x instanceof Number nx && y instanceof Number ny ? nx.doubleValue() != ny.doubleValue() : !Objects.equals(x, y)) return false;
        }
        return true;
    }

    private static double num(Map<String, Object> r, String key) {
        return ((Number) r.get(key)).doubleValue();
    }

    private void table(List<Map<String, Object>> rows) {
        stdout().printf("%n%-22s %-5s %-4s %3s %8s %12s %12s %10s %10s %8s %8s %8s%n", "model", "wts", "kv", "thr", "context", "prefill t/s", "decode t/s",
                "limit t/s", "fraction", "vs f32", "vs jlama", "vs torch");
        for (var d : rows) {
            if (!"decode".equals(d.get("kind")) || d.get("peer") != null) continue;
            Map<String, Object> p = rows.stream().filter(o -> "prefill".equals(o.get("kind")) && same(d, o, "model", "weights", "kv_cache", "threads", "context"))
                    .findFirst().orElse(Map.of());
            stdout().printf("%-22s %-5s %-4s %3s %8s %12.0f %12.1f %10.1f %10.2f %8s %8s %8s%n", d.get("model"), d.get("weights"), d.get("kv_cache"), d.get("threads"),
                    d.get("context"), p.isEmpty() ? Double.NaN : num(p, "tokens_per_s"), num(d, "tokens_per_s"), num(d, "limit_tokens_per_s"),
                    num(d, "fraction_of_bandwidth_limit"), ratio(d, "ratio_vs_f32"), ratio(d, "ratio_vs_jlama"), ratio(d, "ratio_vs_torch"));
        }
        stdout().printf("%n%-22s %-5s %-4s %3s %9s %12s %8s%n", "model", "wts", "kv", "thr", "sessions", "tokens/s", "vs f32");
        for (var r : rows) {
            if (!"batch_decode".equals(r.get("kind"))) continue;
            stdout().printf("%-22s %-5s %-4s %3s %9s %12.1f %8s%n", r.get("model"), r.get("weights"), r.get("kv_cache"), r.get("threads"), r.get("sessions"),
                    num(r, "tokens_per_s"), ratio(r, "ratio_vs_f32"));
        }
        stdout().printf("%n%-22s %-5s %-4s %3s %8s %12s %10s %10s %10s%n", "model", "wts", "kv", "thr", "context", "prefill t/s", "GFLOP/s", "GEMM", "fraction");
        for (var r : rows) {
            if (!"prefill".equals(r.get("kind"))) continue;
            stdout().printf("%-22s %-5s %-4s %3s %8s %12.0f %10.1f %10.1f %10.2f%n", r.get("model"), r.get("weights"), r.get("kv_cache"), r.get("threads"), r.get("context"),
                    num(r, "tokens_per_s"), num(r, "gflops"), num(r, "gemm_gflops"), num(r, "fraction_of_gemm"));
        }
        List<Map<String, Object>> peerRows = rows.stream().filter(r -> r.get("peer") != null).toList();
        if (!peerRows.isEmpty()) {
            stdout().printf("%n%-8s %-12s %-5s %3s %8s %12s %12s%n", "peer", "version", "wts", "thr", "context", "prefill t/s", "decode t/s");
            for (var r : peerRows) {
                stdout().printf("%-8s %-12s %-5s %3s %8s %12s %12s%n", r.get("peer"), r.get("version"), r.get("weights"), r.get("threads"), r.get("context"),
                        r.get("prefill_tokens_per_s"), r.get("decode_tokens_per_s") != null ? r.get("decode_tokens_per_s") : r.get("absent"));
            }
        }
    }

    private static String ratio(Map<String, Object> r, String key) {
        return r.get(key) == null ? "" : String.format("%.2f", num(r, key));
    }

    /**
     * Memory bandwidth over buffers far larger than the caches, each member of the team streaming
     * its own contiguous part: a read-only sum and a STREAM triad.
     */
    static final class Bandwidth {
        private static final int N = 1 << 26; // 64M floats, 256 MB per array
        private static final VectorSpecies<Float> S = Simd.F;
        private static volatile double checksum; // keeps the reads observable

        /** {read-only sum bytes/s, triad bytes/s}, each the best of five. */
        static double[] measure(Team team) {
            float[] a = new float[N], b = new float[N], c = new float[N];
            for (int i = 0; i < N; i++) {
                b[i] = i & 1023;
                c[i] = 1;
            }
            double read = 0, triad = 0;
            double[] sums = new double[team.size()];
            for (int round = 0; round < 5; round++) {
                long t0 = System.nanoTime();
                team.run((m, members, t) -> sums[m] = sum(b, Team.from(N, m, members), Team.from(N, m + 1, members)));
                read = Math.max(read, 4.0 * N / ((System.nanoTime() - t0) / 1e9));
                for (double s : sums) checksum += s;
                long t1 = System.nanoTime();
                team.run((m, members, t) -> triad(a, b, c, Team.from(N, m, members), Team.from(N, m + 1, members)));
                triad = Math.max(triad, 12.0 * N / ((System.nanoTime() - t1) / 1e9));
            }
            checksum += a[1];
            return new double[] {read, triad};
        }

        /**
         * Sum of x[from, to) read as four streams at once (four quarters of the range, one
         * accumulator each), as the matrix-vector kernels read four rows: a single stream leaves
         * memory-level parallelism unused and understates the bandwidth.
         */
        private static double sum(float[] x, int from, int to) {
            int l = S.length(), quarter = (to - from) / 4 / l * l;
            int a = from, b = a + quarter, c = b + quarter, d = c + quarter;
            var s0 = FloatVector.zero(S);
            var s1 = FloatVector.zero(S);
            var s2 = FloatVector.zero(S);
            var s3 = FloatVector.zero(S);
            for (int i = 0; i < quarter; i += l) {
                s0 = s0.add(FloatVector.fromArray(S, x, a + i));
                s1 = s1.add(FloatVector.fromArray(S, x, b + i));
                s2 = s2.add(FloatVector.fromArray(S, x, c + i));
                s3 = s3.add(FloatVector.fromArray(S, x, d + i));
            }
            double s = VectorMath.sumLanes(s0.add(s1).add(s2.add(s3)));
            for (int i = d + quarter; i < to; i++) s += x[i];
            return s;
        }

        private static void triad(float[] a, float[] b, float[] c, int from, int to) {
            int i = from;
            for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
                FloatVector.fromArray(S, c, i).fma(FloatVector.broadcast(S, 3f), FloatVector.fromArray(S, b, i)).intoArray(a, i);
            }
            for (; i < to; i++) a[i] = b[i] + 3f * c[i];
        }
    }
}
