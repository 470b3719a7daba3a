package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.kernel.Reductions;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.infer.InferenceSession;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench infer}: prefill and decode tokens/s of a model at several contexts, beside the
 * machine's measured memory bandwidth and the decode speed it allows (every weight and the KV cache
 * read once per token): {@code fraction_of_bandwidth_limit}.
 */
@Command(name = "infer", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Prefill and decode tokens/s against the memory-bandwidth limit of this machine.")
public final class InferBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "MODEL", description = "a model folder (any kind --model takes; default: random weights of --dims)")
    Path model;
    @Option(names = "--dims", defaultValue = "110m", description = "random-weight Llama shapes when no --model: 110m (width 768, 12 layers,"
            + " SwiGLU 2048) or 8m (width 256, 6 layers, SwiGLU 688), vocabulary 32000 (default: ${DEFAULT-VALUE})")
    String dims;
    @Option(names = "--contexts", split = ",", defaultValue = "128,1024", description = "context lengths read before decoding (default: ${DEFAULT-VALUE})")
    int[] contexts;
    @Option(names = "--tokens", defaultValue = "32", description = "tokens decoded per measurement; the best of three is kept (default: ${DEFAULT-VALUE})") int tokens;
    @Option(names = "--chunk", defaultValue = "256", description = "prefill tokens per pass (default: ${DEFAULT-VALUE})") int chunk;

    @Override
    public Integer call() throws Exception {
        Decoder m = model != null ? ModelFolders.load(model).model() : new Decoder(config(dims), 1);
        ModelConfig c = m.config();
        long weightBytes = m.params().count() * 4;
        double[] bandwidth = Bandwidth.measure();
        stdout().printf("ttt4j bench infer: %s, %,d parameters (%.0f MB fp32), %d thread(s)%n", model != null ? model : dims,
                m.params().count(), weightBytes / 1e6, Parallel.threads());
        stdout().printf("memory bandwidth: %.1f GB/s read (sum), %.1f GB/s triad%n%n", bandwidth[0] / 1e9, bandwidth[1] / 1e9);
        stdout().printf("%9s %14s %14s %16s %10s%n", "context", "prefill tok/s", "decode tok/s", "limit tok/s", "fraction");
        List<Map<String, Object>> rows = new ArrayList<>();
        var rng = new SplittableRandom(7);
        try (var off = GradMode.disabled()) { // compiles the paths measured below
            InferenceSession warm = InferenceSession.open(m, chunk);
            warm.read(rng.ints(Math.min(256, c.context()), 0, c.vocabSize()).toArray());
            for (int i = 0; i < 64; i++) warm.feed(new int[] {rng.nextInt(c.vocabSize())});
        }
        for (int ctx : contexts) {
            try (var off = GradMode.disabled()) {
                InferenceSession s = InferenceSession.open(m, chunk);
                int[] ids = rng.ints(ctx, 0, c.vocabSize()).toArray();
                long t0 = System.nanoTime();
                s.read(ids);
                double prefill = ctx / ((System.nanoTime() - t0) / 1e9);
                double decode = 0; // best of three runs of --tokens
                for (int round = 0; round < 3; round++) {
                    long t1 = System.nanoTime();
                    for (int i = 0; i < tokens; i++) s.feed(new int[] {rng.nextInt(c.vocabSize())});
                    decode = Math.max(decode, tokens / ((System.nanoTime() - t1) / 1e9));
                }
                // A decoded token reads every weight and the KV cache once.
                long kvBytes = s.stateFloats() * 4;
                double limit = bandwidth[0] / (weightBytes + kvBytes);
                stdout().printf("%9d %14.0f %14.1f %16.1f %10.2f%n", ctx, prefill, decode, limit, decode / limit);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("bench", "infer");
                row.put("model", model != null ? model.toString() : dims);
                row.put("parameters", m.params().count());
                row.put("weights", "f32");
                row.put("threads", Parallel.threads());
                row.put("context", ctx);
                row.put("prefill_tokens_per_s", prefill);
                row.put("decode_tokens_per_s", decode);
                row.put("bandwidth_read_bytes_per_s", bandwidth[0]);
                row.put("bandwidth_triad_bytes_per_s", bandwidth[1]);
                row.put("limit_tokens_per_s", limit);
                row.put("fraction_of_bandwidth_limit", decode / limit);
                rows.add(row);
            }
        }
        stdout().println();
        var json = new ObjectMapper();
        for (var r : rows) stdout().println(json.writeValueAsString(r));
        return 0;
    }

    static ModelConfig config(String dims) {
        return switch (dims) {
            case "110m" -> ModelConfig.builder().vocabSize(32000).dModel(768).layers(12).heads(12).dFf(2048).context(4096).build();
            case "8m" -> ModelConfig.builder().vocabSize(32000).dModel(256).layers(6).heads(4).dFf(688).context(4096).build();
            default -> throw new IllegalArgumentException("--dims: expected 110m or 8m, got \"" + dims + "\"");
        };
    }

    /** Memory bandwidth over buffers far larger than the caches, with the engine's threads. */
    static final class Bandwidth {
        private static final int N = 1 << 25; // 32M floats, 128 MB per array
        private static volatile double checksum; // keeps the reads observable

        /** {read-only sum bytes/s, triad bytes/s}, each the best of five. */
        static double[] measure() {
            float[] a = new float[N], b = new float[N], c = new float[N];
            for (int i = 0; i < N; i++) {
                b[i] = i & 1023;
                c[i] = 1;
            }
            double read = 0, triad = 0;
            for (int round = 0; round < 5; round++) {
                long t0 = System.nanoTime();
                double[] total = {0};
                Parallel.forRange(N, 1 << 20, (from, to) -> {
                    float sum = Reductions.rowSum(b, from, to - from); // the engine's vectorised sum
                    synchronized (total) {
                        total[0] += sum;
                    }
                });
                read = Math.max(read, 4.0 * N / ((System.nanoTime() - t0) / 1e9));
                checksum += total[0];
                long t1 = System.nanoTime();
                Parallel.forRange(N, 1 << 20, (from, to) -> {
                    for (int i = from; i < to; i++) a[i] = b[i] + 3f * c[i];
                });
                triad = Math.max(triad, 12.0 * N / ((System.nanoTime() - t1) / 1e9));
            }
            checksum += a[1];
            return new double[] {read, triad};
        }
    }
}
