package org.ttt4j.peers.jlama;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
import com.github.tjake.jlama.safetensors.SafeTensorSupport;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * Jlama's prefill and decode speed on a Hugging Face Llama folder, measured as {@code ttt4j bench
 * infer} measures ttt4j's, printed as one JSON object per context on standard output:
 *
 * <pre>{@code
 * java --add-modules=jdk.incubator.vector -Djava.util.concurrent.ForkJoinPool.common.parallelism=N-1 \
 *      -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0 -Djlama.force_panama_tensor_operations=true \
 *      -cp target/classes:$(cat target/classpath.txt) org.ttt4j.peers.jlama.Main \
 *      --folder DIR --threads N --weights f32|bf16|q4 --contexts 128,1024 --tokens 32 [--logits ID,ID,...]
 * }</pre>
 *
 * <p>Rules (those of ttt4j's bench): a warm-up session first (up to 256 random token ids read, then 64
 * decoded); per context, a fresh KV cache reads {@code context} random token ids (uniform over the
 * vocabulary, seeded) in Jlama's batched prefill (256 tokens a pass), then three rounds of
 * {@code tokens} single-token steps, each a random id, each step computing the LM head's logits and
 * their argmax; decode tokens/s is the best of the three rounds. Prefill tokens/s includes the LM
 * head of the last token.
 *
 * <p>Weights: {@code f32} runs the folder's F32 weights with F32 activations. The others are Jlama's
 * own quantization of the folder ({@code SafeTensorSupport.quantizeModel}, what its {@code quantize}
 * command does: every tensor but the norms, the embedding and LM head included) into a temporary
 * folder, then loaded as Jlama loads such a checkpoint: {@code bf16} runs BF16 activations against BF16
 * weights; {@code q4} runs Q4 blocks (32 weights, one F32 scale) against activations quantized to Q8
 * blocks (working quantization I8). Jlama 0.8.4's pure-Java kernels have no matrix product for Q8
 * weights, so {@code q4} is its closest format to a q8. Quantizing is not timed.
 *
 * <p>Threads: Jlama's matrix products run on its {@code PhysicalCoreExecutor} pool, set to exactly
 * {@code threads}; a few element-wise loops run as parallel streams on the common pool, which the
 * command line limits with {@code java.util.concurrent.ForkJoinPool.common.parallelism} = threads - 1
 * (the calling thread takes part); the program refuses to run otherwise.
 *
 * <p>{@code --logits} instead reads the given token ids and prints the raw logits of the last one
 * ({@code {"peer":"jlama",...,"logits":[...]}}): the check that Jlama runs the model ttt4j does.
 */
public final class Main {
    private Main() {}

    /** The peer's name in its JSON lines. */
    static final String PEER = "jlama";

    /** Parses the arguments, loads the model and prints the JSON lines; a refused argument exits 2 saying why. */
    public static void main(String[] args) throws Exception {
        try {
            measure(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void measure(String[] args) throws Exception {
        String folder = null, weights = "f32";
        int threads = 1, tokens = 32;
        int[] contexts = {128, 1024}, logitIds = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) throw new IllegalArgumentException(a + ": a value is missing");
            String v = args[++i];
            switch (a) {
                case "--folder" -> folder = v;
                case "--threads" -> threads = Integer.parseInt(v);
                case "--weights" -> weights = v;
                case "--contexts" -> contexts = ints(v);
                case "--tokens" -> tokens = Integer.parseInt(v);
                case "--logits" -> logitIds = ints(v);
                default -> throw new IllegalArgumentException("unknown option " + a
                        + " (known: --folder, --threads, --weights, --contexts, --tokens, --logits)");
            }
        }
        if (folder == null) throw new IllegalArgumentException("--folder: the Hugging Face Llama folder is required");
        if (threads < 1) throw new IllegalArgumentException("--threads: at least 1, got " + threads);
        int common = Integer.getInteger("java.util.concurrent.ForkJoinPool.common.parallelism", -1);
        if (common != threads - 1) {
            throw new IllegalArgumentException("run with -Djava.util.concurrent.ForkJoinPool.common.parallelism=" + (threads - 1)
                    + " so that Jlama's parallel streams use " + threads + " thread(s) in all (got " + common + ")");
        }
        DType format = switch (weights) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            case "q4" -> DType.Q4;
            case "q8" -> throw new IllegalArgumentException("--weights q8: Jlama " + version() + " has no matrix product for Q8"
                    + " weights (its quantizer writes them, then the first layer fails with UnsupportedOperationException: I8);"
                    + " q4 is its closest format");
            default -> throw new IllegalArgumentException("--weights: f32, bf16 or q4, got \"" + weights + "\"");
        };
        if (format != DType.F32) requireBlocks(Path.of(folder), weights);
        PhysicalCoreExecutor.overrideThreadCount(threads); // before anything (quantizing too) starts Jlama's pool
        Path quantized = format == DType.F32 ? null : Files.createTempDirectory("ttt4j-jlama");
        try {
            File dir = quantized == null ? new File(folder) : quantize(Path.of(folder), format, quantized).toFile();
            run(dir, format, weights, threads, contexts, tokens, logitIds);
        } finally {
            if (quantized != null) delete(quantized);
        }
    }

    private static void run(File dir, DType format, String weights, int threads, int[] contexts, int tokens, int[] logitIds) {
        // Working memory F32; the quantized working type (activations against the weights) is Jlama's
        // own choice for the weights' type: F32 for F32, BF16 for BF16, Q8 blocks (I8) otherwise.
        DType working = format == DType.F32 || format == DType.BF16 ? format : DType.I8;
        AbstractModel model = ModelSupport.loadModel(dir, null, DType.F32, working, Optional.empty(), Optional.empty());
        var c = model.getConfig();
        String head = String.format(Locale.ROOT, "{\"peer\":\"%s\",\"version\":\"%s\",\"weights\":\"%s\",\"threads\":%d", PEER, version(),
                weights, threads);
        var caches = new KvBufferCache(model);
        if (logitIds != null) {
            try (KvBufferCache.KvBuffer kv = caches.getKvBuffer(UUID.randomUUID())) {
                float[] logits = prefill(model, kv, logitIds);
                StringBuilder b = new StringBuilder(head).append(",\"ids\":").append(Arrays.toString(logitIds).replace(" ", ""))
                        .append(",\"logits\":[");
                for (int i = 0; i < logits.length; i++) b.append(i == 0 ? "" : ",").append(logits[i]);
                System.out.println(b.append("]}"));
            }
            return;
        }
        var rng = new SplittableRandom(7);
        try (KvBufferCache.KvBuffer warm = caches.getKvBuffer(UUID.randomUUID())) { // compiles the paths measured below
            int n = Math.min(256, c.contextLength);
            prefill(model, warm, rng.ints(n, 0, c.vocabularySize).toArray());
            for (int i = 0; i < 64 && n + i < c.contextLength; i++) step(model, warm, rng.nextInt(c.vocabularySize), n + i);
        }
        for (int ctx : contexts) {
            if (ctx + 3L * tokens > c.contextLength) {
                throw new IllegalArgumentException("context " + ctx + " + 3 x " + tokens + " tokens exceeds the model's " + c.contextLength);
            }
            try (KvBufferCache.KvBuffer kv = caches.getKvBuffer(UUID.randomUUID())) {
                int[] ids = rng.ints(ctx, 0, c.vocabularySize).toArray();
                long t0 = System.nanoTime();
                prefill(model, kv, ids);
                double prefill = ctx / ((System.nanoTime() - t0) / 1e9);
                double decode = 0; // best of three rounds of --tokens
                int pos = ctx;
                for (int round = 0; round < 3; round++) {
                    long t1 = System.nanoTime();
                    for (int i = 0; i < tokens; i++) step(model, kv, rng.nextInt(c.vocabularySize), pos++);
                    decode = Math.max(decode, tokens / ((System.nanoTime() - t1) / 1e9));
                }
                System.out.println(String.format(Locale.ROOT, "%s,\"context\":%d,\"tokens\":%d,\"prefill_tokens_per_s\":%.3f,"
                        + "\"decode_tokens_per_s\":%.3f}", head, ctx, tokens, prefill, decode));
            }
        }
        caches.close();
    }

    /**
     * Jlama's own quantization of a folder (what its {@code quantize} command does, layers named
     * {@code *norm*} kept in F32) into {@code out}; returns the quantized folder.
     */
    private static Path quantize(Path folder, DType format, Path out) throws IOException {
        // quantizeModel copies the folder's README.md, config.json and tokenizer.json: give it a view
        // of the folder that has all three.
        Path view = Files.createDirectory(out.resolve("source"));
        try (var files = Files.list(folder)) {
            for (Path f : files.toList()) Files.createSymbolicLink(view.resolve(f.getFileName()), f.toAbsolutePath());
        }
        if (!Files.exists(view.resolve("README.md"))) Files.writeString(view.resolve("README.md"), "");
        return SafeTensorSupport.quantizeModel(view, format, new String[] {"norm"}, null, Optional.of(out.resolve("quantized")));
    }

    /**
     * Jlama quantizes activations in blocks of 32 for BF16 and Q4 weights (and Q4 weights are blocks
     * of 32): refuses, saying so, a model whose widths are not multiples of 32, which it would fail on
     * in the first layer.
     */
    private static void requireBlocks(Path folder, String weights) throws IOException {
        var config = new com.fasterxml.jackson.databind.ObjectMapper().readTree(folder.resolve("config.json").toFile());
        for (String f : List.of("hidden_size", "intermediate_size")) {
            int v = config.path(f).asInt(0);
            if (v % BLOCK != 0) {
                throw new IllegalArgumentException("--weights " + weights + ": Jlama " + version() + " quantizes activations in blocks of "
                        + BLOCK + " against BF16 and Q4 weights; config.json's " + f + " " + v + " is not a multiple of " + BLOCK);
            }
        }
    }

    /** Jlama's block of quantization (Q8ByteBufferTensor.BLOCK_SIZE, Q4ByteBufferTensor.BLOCK_SIZE). */
    private static final int BLOCK = 32;

    private static void delete(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
        }
    }

    /** Reads {@code ids} from position 0 in Jlama's batched prefill; returns the last token's raw logits. */
    private static float[] prefill(AbstractModel model, KvBufferCache.KvBuffer kv, int[] ids) {
        try (AbstractTensor out = model.batchForward(ids, 0, kv); AbstractTensor last = out.slice(out.shape().first() - 1)) {
            return logits(model, last);
        }
    }

    /** One decode step: token {@code id} at position {@code pos}, then the LM head and its argmax. */
    private static void step(AbstractModel model, KvBufferCache.KvBuffer kv, int id, int pos) {
        int vocab = model.getConfig().vocabularySize;
        try (AbstractTensor out = model.forward(id, pos, kv, Optional.empty()); AbstractTensor logits = model.makeDenseTensor(vocab)) {
            model.sample(out, 0f, 0f, logits);
        }
    }

    private static float[] logits(AbstractModel model, AbstractTensor hidden) {
        int vocab = model.getConfig().vocabularySize;
        try (AbstractTensor logits = model.makeDenseTensor(vocab)) {
            model.sample(hidden, 0f, 0f, logits); // temperature 0: the LM head's logits and their argmax
            float[] r = new float[vocab];
            for (int i = 0; i < vocab; i++) r[i] = logits.get(0, i);
            return r;
        }
    }

    private static int[] ints(String csv) {
        List<Integer> out = new ArrayList<>();
        for (String s : csv.split(",")) if (!s.isBlank()) out.add(Integer.parseInt(s.strip()));
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** jlama-core's version from its Maven metadata on the class path. */
    static String version() {
        try (InputStream in = AbstractModel.class.getResourceAsStream("/META-INF/maven/com.github.tjake/jlama-core/pom.properties")) {
            if (in == null) return "?";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "?");
        } catch (Exception e) {
            return "?";
        }
    }
}
