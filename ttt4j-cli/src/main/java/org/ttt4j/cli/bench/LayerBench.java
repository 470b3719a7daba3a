package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SequenceMixer;
import org.ttt4j.lm.layers.ttt.InnerLoop;
import org.ttt4j.lm.layers.ttt.TttLayer;
import org.ttt4j.lm.layers.ttt.TttFusedKernel;
import org.ttt4j.lm.layers.ttt.TttOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench layer}: one sequence-mixing layer of each kind at the same width: prefill
 * tokens/s over a whole context, then decode ms/token continuing it, at each context length; and
 * the fused TTT-Linear dual-form kernel alone, as GFLOP/s and a fraction of the FMA peak measured
 * in the same run. Weights are random: speed does not depend on what was learned.
 */
@Command(name = "layer", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Prefill tokens/s and decode ms/token of single TTT-Linear, TTT-MLP, full-attention and SWA layers",
                "at several contexts (prefill: best of 3 runs; decode: median of 5 runs), and the fused",
                "dual-form kernels' GFLOP/s and fraction of the FMA peak."})
public final class LayerBench implements Callable<Integer> {
    @Option(names = "--width", defaultValue = "512", description = "layer width D (default: ${DEFAULT-VALUE})") int width;
    @Option(names = "--heads", defaultValue = "8", description = "heads (default: ${DEFAULT-VALUE})") int heads;
    @Option(names = "--contexts", split = ",", defaultValue = "2048,8192,32768", description = "context lengths") int[] contexts;
    @Option(names = "--mixers", split = ",", defaultValue = "ttt_linear,ttt_mlp,full,swa",
            description = "layers to measure: ttt_linear, ttt_mlp, full, swa (default: ${DEFAULT-VALUE})") List<String> mixers;
    @Option(names = "--window", defaultValue = "512", description = "sliding window of swa (default: ${DEFAULT-VALUE})") int window;
    @Option(names = "--mini-batch", defaultValue = "16", description = "TTT mini-batch b (default: ${DEFAULT-VALUE})") int miniBatch;
    @Option(names = "--tokens", defaultValue = "128", description = "decoded tokens per measurement (default: ${DEFAULT-VALUE})") int tokens;
    @Option(names = "--chunk", defaultValue = "2048", description = "prefill chunk (default: ${DEFAULT-VALUE})") int chunk;
    @Option(names = "--kernel-repeats", defaultValue = "5", description = "timed runs of the fused kernel (median)") int repeats;

    @Override
    public Integer call() throws Exception {
        if (width % heads != 0) throw new IllegalArgumentException("--width " + width + " is not divisible by --heads " + heads);
        System.out.printf("ttt4j bench layer: width %d, %d heads, %d thread(s), mini-batch %d, window %d, %d decoded tokens%n%n",
                width, heads, Parallel.threads(), miniBatch, window, tokens);
        List<Map<String, Object>> rows = new ArrayList<>();
        double peak = FmaPeak.measure(Parallel.threads());
        System.out.printf("FMA peak (%d threads): %.0f GFLOP/s%n%n", Parallel.threads(), peak);
        System.out.printf("%-11s %8s %14s %14s %10s%n", "layer", "context", "prefill tok/s", "decode ms/tok", "state MiB");
        for (String m : mixers) {
            for (int ctx : contexts) {
                SequenceMixer layer = layer(m);
                var rng = new SplittableRandom(7);
                try (var s = GradMode.disabled()) {
                    // Warm-up on a throwaway cache: four prefill chunks and two runs of decode steps, so the
                    // JIT has compiled both paths (C2 takes a few thousand calls) before anything is timed.
                    MixerCache warm = layer.newCache(chunk);
                    for (int w = 0; w < 4; w++) layer.apply(input(rng, chunk), warm);
                    for (int i = 0; i < 2 * tokens; i++) layer.apply(input(rng, 1), warm);
                    // Prefill: the best of three runs at every context. Decode: the median
                    // of five runs of `tokens` steps continuing the last prefill. This VM's noise is +-20%.
                    MixerCache cache = null;
                    double prefill = 0;
                    for (int r = 0; r < 3; r++) {
                        cache = layer.newCache(chunk);
                        long t0 = System.nanoTime();
                        for (int at = 0; at < ctx; at += chunk) layer.apply(input(rng, Math.min(chunk, ctx - at)), cache);
                        prefill = Math.max(prefill, ctx / ((System.nanoTime() - t0) / 1e9));
                    }
                    List<Double> runs = new ArrayList<>();
                    for (int r = 0; r < 5; r++) {
                        long t1 = System.nanoTime();
                        for (int i = 0; i < tokens; i++) layer.apply(input(rng, 1), cache);
                        runs.add((System.nanoTime() - t1) / 1e6 / tokens);
                    }
                    double ms = runs.stream().sorted().toList().get(runs.size() / 2);
                    double mib = cache.floats() * 4.0 / (1 << 20);
                    System.out.printf("%-11s %8d %14.0f %14.3f %10.2f%n", m, ctx, prefill, ms, mib);
                    Map<String, Object> row = base("layer", m, ctx);
                    row.put("prefill_tokens_per_s", prefill);
                    row.put("decode_ms_per_token", ms);
                    row.put("state_mib", mib);
                    rows.add(row);
                }
            }
        }
        System.out.println();
        System.out.printf("%-26s %8s %10s %10s %16s%n", "fused dual-form kernel", "context", "ms", "GFLOP/s", "fraction of peak");
        for (var kind : InnerLoop.Kind.values()) {
            for (int ctx : contexts) {
                Map<String, Object> row = kernel(kind, ctx, peak);
                System.out.printf("%-26s %8d %10.1f %10.1f %16.2f%n", row.get("layer") + " forward (prefill)", ctx, row.get("ms"),
                        row.get("gflops"), row.get("fraction_of_peak"));
                rows.add(row);
            }
        }
        System.out.println();
        var json = new ObjectMapper();
        for (var r : rows) System.out.println(json.writeValueAsString(r));
        return 0;
    }

    private Map<String, Object> base(String bench, String layer, int ctx) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("bench", bench);
        row.put("layer", layer);
        row.put("width", width);
        row.put("heads", heads);
        row.put("context", ctx);
        row.put("threads", Parallel.threads());
        return row;
    }

    private SequenceMixer layer(String m) {
        Params p = new Params(1, 0.02);
        return switch (m) {
            case "ttt_linear", "ttt_mlp" -> {
                var kind = m.equals("ttt_linear") ? InnerLoop.Kind.LINEAR : InnerLoop.Kind.MLP;
                yield new TttLayer(p, "l", width, heads, new TttOptions(kind, false, miniBatch, TttOptions.defaultBaseLr(kind), true, true,
                        4, 10000, 1e-6));
            }
            case "full" -> SelfAttention.create(p, "l", width, heads, 0, false, 10000, 1e-6);
            case "swa" -> SelfAttention.create(p, "l", width, heads, window, false, 10000, 1e-6);
            default -> throw new IllegalArgumentException("unknown layer \"" + m + "\" (known: ttt_linear, ttt_mlp, full, swa)");
        };
    }

    private Tensor input(SplittableRandom rng, int t) {
        return Tensor.randn(DType.FP32, rng, 1, 1, t, width);
    }

    /** The fused dual form alone over one sequence of ctx tokens: heads pairs, head width D / heads. */
    private Map<String, Object> kernel(InnerLoop.Kind kind, int ctx, double peak) {
        int d = width / heads, h = d * kind.expansion, t = ctx / miniBatch * miniBatch;
        var rng = new SplittableRandom(5);
        Tensor q = Tensor.randn(DType.FP32, rng, 1, heads, t, d), k = Tensor.randn(DType.FP32, rng, 1, heads, t, d);
        Tensor v = Tensor.randn(DType.FP32, rng, 1, heads, t, d);
        Tensor s = InnerLoop.indexScales(null, miniBatch, 0, miniBatch, DType.FP32), c = Tensor.full(DType.FP32, 1.0 / d, heads, t);
        List<Tensor> w = kind == InnerLoop.Kind.LINEAR
                ? List.of(Tensor.randn(DType.FP32, rng, 0.02, heads, d, d), Tensor.zeros(DType.FP32, heads, 1, d))
                : List.of(Tensor.randn(DType.FP32, rng, 0.02, heads, d, h), Tensor.zeros(DType.FP32, heads, 1, h),
                        Tensor.randn(DType.FP32, rng, 0.02, heads, h, d), Tensor.zeros(DType.FP32, heads, 1, d));
        var start = InnerLoop.State.fresh(w);
        Tensor gamma = Tensor.ones(DType.FP32, d), beta = Tensor.zeros(DType.FP32, d);
        var inner = new InnerLoop.Inner(kind, true, 1e-6);
        List<Double> times = new ArrayList<>();
        try (var g = GradMode.disabled()) {
            for (int r = 0; r < repeats + 1; r++) {
                long t0 = System.nanoTime();
                TttFusedKernel.dual(q, k, v, s, c, start, gamma, beta, inner);
                if (r > 0) times.add((System.nanoTime() - t0) / 1e6); // the first run warms up
            }
        }
        double ms = times.stream().sorted().toList().get(times.size() / 2);
        double flops = kind == InnerLoop.Kind.LINEAR ? TttFusedKernel.forwardFlops(heads, t, miniBatch, d, d)
                : TttFusedKernel.forwardFlops(heads, t, miniBatch, d, h, d);
        double gflops = flops / (ms / 1e3) / 1e9;
        Map<String, Object> row = base("ttt_kernel", kind == InnerLoop.Kind.LINEAR ? "ttt_linear" : "ttt_mlp", ctx);
        row.put("ms", ms);
        row.put("gflops", gflops);
        row.put("fma_peak_gflops", peak);
        row.put("fraction_of_peak", gflops / peak);
        return row;
    }
}
