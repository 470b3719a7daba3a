package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.kernel.SmallGemm;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SequenceMixer;
import org.ttt4j.lm.layers.ttt.InnerLoop;
import org.ttt4j.lm.layers.ttt.TttFusedKernel;
import org.ttt4j.lm.layers.ttt.TttLayer;
import org.ttt4j.lm.layers.ttt.TttOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench layer}: one sequence-mixing layer of each kind at the same width: prefill
 * tokens/s over a whole context, then decode ms/token continuing it, at each context length; and
 * the fused TTT-Linear and TTT-MLP dual-form kernels alone, as GFLOP/s and a fraction of the FMA
 * peak measured just before and after each of them, with the kernel's matrix products alone
 * beside them (the ceiling its micro-kernels set) and the same dual form in PyTorch (a peer, skipped when
 * no python with torch runs). Weights are random: speed does not depend on what was learned.
 */
@Command(name = "layer", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Prefill and decode speed of single TTT-Linear, TTT-MLP, attention and SWA layers.",
                "Prefill tokens/s and decode ms/token of single TTT-Linear, TTT-MLP, full-attention and SWA layers",
                "at several contexts (contexts interleaved; medians of per-chunk and per-step times), and the fused",
                "dual-form kernels' GFLOP/s and fraction of the FMA peak, next to their matrix products alone and",
                "to the same dual form in PyTorch (the peer; scripts/install-peers.sh installs it, --no-torch skips it)."})
public final class LayerBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--width", defaultValue = "512", description = "layer width D (default: ${DEFAULT-VALUE})") int width;
    @Option(names = "--heads", defaultValue = "8", description = "heads (default: ${DEFAULT-VALUE})") int heads;
    @Option(names = "--contexts", split = ",", defaultValue = "2048,8192,32768", description = "context lengths (default: ${DEFAULT-VALUE})") int[] contexts;
    @Option(names = "--mixers", split = ",", defaultValue = "ttt_linear,ttt_mlp,full,swa",
            description = "layers to measure: ttt_linear, ttt_mlp, full, swa (default: ${DEFAULT-VALUE})") List<String> mixers;
    @Option(names = "--window", defaultValue = "512", description = "sliding window of swa (default: ${DEFAULT-VALUE})") int window;
    @Option(names = "--mini-batch", defaultValue = "16", description = "TTT mini-batch b (default: ${DEFAULT-VALUE})") int miniBatch;
    @Option(names = "--tokens", defaultValue = "128", description = "decoded tokens per measurement (default: ${DEFAULT-VALUE})") int tokens;
    @Option(names = "--chunk", defaultValue = "2048", description = "prefill chunk (default: ${DEFAULT-VALUE})") int chunk;
    @Option(names = "--kernel-repeats", defaultValue = "5", description = "timed runs of the fused kernel, median reported (default: ${DEFAULT-VALUE})") int repeats;
    @Option(names = "--no-torch", description = "skip the PyTorch dual form the kernel rows are compared with (default: compared when torch is installed)") boolean noTorch;
    @Option(names = "--python", description = "interpreter with torch (default: python3, then /usr/bin/python3)") String python;

    @Override
    public Integer call() throws Exception {
        if (width % heads != 0) throw new IllegalArgumentException("--width " + width + " is not divisible by --heads " + heads);
        stdout().printf("ttt4j bench layer: width %d, %d heads, %d thread(s), mini-batch %d, window %d, %d decoded tokens%n%n",
                width, heads, Parallel.threads(), miniBatch, window, tokens);
        List<Map<String, Object>> rows = new ArrayList<>();
        double peak = FmaPeak.measure(Parallel.threads());
        stdout().printf("FMA peak (%d threads) at the start: %.0f GFLOP/s (the kernel rows use the peak measured beside each)%n%n",
                Parallel.threads(), peak);
        stdout().printf("%-11s %8s %14s %14s %10s%n", "layer", "context", "prefill tok/s", "decode ms/tok", "state MiB");
        for (String m : mixers) {
            // Warm-up before any context is timed: four rounds of four prefill chunks and 2,000 decoding steps
            // on throwaway caches, so C2 has compiled both paths (it takes thousands of calls) for every context alike.
            try (var s = GradMode.disabled()) {
                SequenceMixer warmLayer = layer(m);
                var warmRng = new SplittableRandom(3);
                for (int round = 0; round < 4; round++) {
                    MixerCache warm = warmLayer.newCache(chunk);
                    for (int w = 0; w < 4; w++) warmLayer.apply(input(warmRng, chunk), warm);
                    for (int i = 0; i < 2000; i++) warmLayer.apply(input(warmRng, 1), warm);
                }
            }
            // The contexts are measured interleaved, a chunk or a run of decoding steps of each in turn, so a
            // slow stretch of this VM (they last seconds) hits every context alike. Prefill: the median time
            // per token of 2,048-token chunks, each context's sequence restarting when it reaches its length.
            // Decode: the median time of a step continuing each context's full prefill.
            int nc = contexts.length;
            SequenceMixer layer = layer(m);
            var rng = new SplittableRandom(7);
            try (var s = GradMode.disabled()) {
                MixerCache[] caches = new MixerCache[nc];
                int[] filled = new int[nc];
                List<List<Double>> chunkSeconds = new ArrayList<>();
                for (int c = 0; c < nc; c++) chunkSeconds.add(new ArrayList<>());
                int[] perSequence = new int[nc];
                int rounds = 8;
                for (int c = 0; c < nc; c++) {
                    perSequence[c] = (contexts[c] + chunk - 1) / chunk;
                    rounds = Math.max(rounds, perSequence[c]);
                }
                for (int r = 0; r < rounds; r++) {
                    for (int c = 0; c < nc; c++) {
                        // Start late enough that whole sequences end at the last round: every cache then
                        // holds exactly its context, ready for decoding.
                        if (r < rounds % perSequence[c]) continue;
                        if (caches[c] == null || filled[c] == contexts[c]) {
                            caches[c] = layer.newCache(chunk);
                            filled[c] = 0;
                        }
                        int n = Math.min(chunk, contexts[c] - filled[c]);
                        Tensor in = input(rng, n);
                        long t0 = System.nanoTime();
                        layer.apply(in, caches[c]);
                        chunkSeconds.get(c).add((System.nanoTime() - t0) / 1e9 / n);
                        filled[c] += n;
                    }
                }
                List<List<Double>> steps = new ArrayList<>();
                for (int c = 0; c < nc; c++) steps.add(new ArrayList<>());
                for (int r = 0; r < 10; r++) {
                    for (int c = 0; c < nc; c++) {
                        for (int i = 0; i < tokens / 2; i++) {
                            Tensor in = input(rng, 1);
                            long t1 = System.nanoTime();
                            layer.apply(in, caches[c]);
                            steps.get(c).add((System.nanoTime() - t1) / 1e6);
                        }
                    }
                }
                for (int c = 0; c < nc; c++) {
                    double prefill = 1 / median(chunkSeconds.get(c)), ms = median(steps.get(c));
                    double mib = caches[c].floats() * 4.0 / (1 << 20);
                    stdout().printf("%-11s %8d %14.0f %14.3f %10.2f%n", m, contexts[c], prefill, ms, mib);
                    Map<String, Object> row = base("layer", m, contexts[c]);
                    row.put("prefill_tokens_per_s", prefill);
                    row.put("decode_ms_per_token", ms);
                    row.put("state_mib", mib);
                    rows.add(row);
                }
            }
        }
        stdout().println();
        // This VM's FMA peak swings within minutes (285-477 GFLOP/s on 2 threads on 2026-11-23), so each row is
        // divided by the peak measured just before and just after it, the higher of the two.
        stdout().printf("%-30s %8s %10s %10s %10s %16s%n", "fused dual-form kernel", "context", "ms", "GFLOP/s", "peak", "fraction of peak");
        for (var kind : InnerLoop.Kind.values()) {
            for (int ctx : contexts) {
                double before = FmaPeak.measure(Parallel.threads());
                Map<String, Object> row = kernel(kind, ctx);
                double after = FmaPeak.measure(Parallel.threads());
                rows.add(printKernelRow(row, " forward (prefill)", Math.max(before, after)));
                Map<String, Object> torch = noTorch ? null : torchKernel(kind, ctx);
                if (torch != null) {
                    rows.add(printKernelRow(torch, " PyTorch (peer)", Math.max(after, FmaPeak.measure(Parallel.threads()))));
                    row.put("ratio_vs_torch", (Double) torch.get("ms") / (Double) row.get("ms"));
                }
            }
            // The kernel's matrix products alone, on L1-resident operands: the ceiling its micro-kernels set.
            double before = FmaPeak.measure(Parallel.threads());
            Map<String, Object> row = productsAlone(kind, contexts[0]);
            rows.add(printKernelRow(row, " its products alone", Math.max(before, FmaPeak.measure(Parallel.threads()))));
        }
        stdout().println();
        var json = new ObjectMapper();
        for (var r : rows) stdout().println(json.writeValueAsString(r));
        return 0;
    }

    private static double median(List<Double> xs) {
        return xs.stream().sorted().toList().get(xs.size() / 2);
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

    /**
     * The matrix products the fused forward makes per mini-batch and layer (X W and Xbar W, Xbar
     * X^T, P G, the update X^T G; for later layers G W^T too), through the same
     * {@link SmallGemm} calls on operands that stay in L1, without the row work, the reads of q, k
     * and v or the writes of the outputs. Its GFLOP/s, counted as the kernel's, bound what the
     * kernel can reach with these micro-kernels. The calls are spelled out as the kernel spells
     * them, one call site per product with constant flags: driven instead from {@code bench
     * small-gemm}'s shape list through one shared call site, the same products ran at 0.35 of the
     * peak against 0.52-0.54 (one thread, 2K), which would understate the ceiling.
     */
    private Map<String, Object> productsAlone(InnerLoop.Kind kind, int ctx) {
        int d = width / heads, b = miniBatch, mbs = ctx / miniBatch;
        int[] w = kind == InnerLoop.Kind.LINEAR ? new int[] {d, d} : new int[] {d, d * kind.expansion, d};
        int layers = w.length - 1, wide = Arrays.stream(w).max().orElseThrow();
        // Each head's operands, made before the clock starts.
        var rng = new SplittableRandom(11);
        Operands[] ops = new Operands[heads];
        for (int hd = 0; hd < heads; hd++) {
            float[][] wt = new float[layers][], wtt = new float[layers][];
            for (int l = 0; l < layers; l++) {
                wt[l] = random(rng, w[l] * w[l + 1], 0.02);
                wtt[l] = random(rng, w[l] * w[l + 1], 0.02);
            }
            ops[hd] = new Operands(wt, wtt, random(rng, b * wide, 1), random(rng, b * wide, 1), new float[b * wide], random(rng, b * wide, 0.01),
                    new float[b * wide], new float[b * b], random(rng, b * b, 0.01));
        }
        List<Double> times = new ArrayList<>();
        for (int r = 0; r < repeats + 1; r++) {
            long t0 = System.nanoTime();
            Parallel.forRange(heads, 1, (from, to) -> {
                for (int hd = from; hd < to; hd++) {
                    Operands o = ops[hd];
                    for (int mb = 0; mb < mbs; mb++) {
                        for (int l = 0; l < layers; l++) {
                            int in = w[l], out = w[l + 1];
                            SmallGemm.mm(false, o.x, 0, in, o.wt[l], 0, out, o.z, 0, out, b, in, out, 1f, true);
                            if (l > 0) SmallGemm.mm(false, o.g, 0, out, o.wtt[l], 0, in, o.xt, 0, in, b, out, in, 1f, false);
                            SmallGemm.mm(false, o.xbar, 0, in, o.xt, 0, b, o.a, 0, b, b, in, b, 1f, false);
                            SmallGemm.mm(false, o.xbar, 0, in, o.wt[l], 0, out, o.z, 0, out, b, in, out, 1f, true);
                            SmallGemm.mm(false, o.p, 0, b, o.g, 0, out, o.z, 0, out, b, b, out, -1f, true);
                            SmallGemm.mm(true, o.x, 0, in, o.g, 0, out, o.wt[l], 0, out, in, b, out, -1e-6f, true);
                        }
                    }
                }
            });
            if (r > 0) times.add((System.nanoTime() - t0) / 1e6);
        }
        return flopsRow("ttt_products_alone", kind, ctx, median(times), TttFusedKernel.forwardFlops(heads, mbs * b, b, w));
    }

    /** One head's operands for {@link #productsAlone}: per layer W and W^T, then the mini-batch's arrays. */
    private record Operands(float[][] wt, float[][] wtt, float[] x, float[] xbar, float[] z, float[] g, float[] xt, float[] a, float[] p) {}

    private static float[] random(SplittableRandom rng, int n, double std) {
        return Tensor.randn(DType.FP32, rng, std, n).f32();
    }

    /** A timed kernel's row: its median ms and GFLOP/s. */
    private Map<String, Object> flopsRow(String bench, InnerLoop.Kind kind, int ctx, double ms, double flops) {
        Map<String, Object> row = base(bench, kind == InnerLoop.Kind.LINEAR ? "ttt_linear" : "ttt_mlp", ctx);
        row.put("ms", ms);
        row.put("gflops", flops / (ms / 1e3) / 1e9);
        return row;
    }

    /** Adds the peak measured beside a kernel row and its fraction, prints the row, returns it. */
    private Map<String, Object> printKernelRow(Map<String, Object> row, String what, double peak) {
        double gflops = (Double) row.get("gflops");
        row.put("fma_peak_gflops", peak);
        row.put("fraction_of_peak", gflops / peak);
        stdout().printf("%-30s %8d %10.1f %10.1f %10.0f %16.2f%n", row.get("layer") + what, row.get("context"), row.get("ms"), gflops, peak,
                gflops / peak);
        return row;
    }

    /**
     * The same dual form in PyTorch ({@code dual_form} of ttt_torch.py, the one {@code check-torch}
     * compares logits with): the reference's route, batched matrix products over the heads per
     * mini-batch, timed alone in fp32 on random inputs of the kernel row's shapes, on the same
     * number of threads. Its GFLOP/s count the same multiply-adds as the kernel's.
     */
    private Map<String, Object> torchKernel(InnerLoop.Kind kind, int ctx) throws Exception {
        int d = width / heads, t = ctx / miniBatch * miniBatch, threads = Parallel.threads();
        Map<String, Object> answer = PythonPeer.run("/org/ttt4j/cli/ttt_torch.py", PythonPeer.interpreters(python),
                List.of("--bench-kernel", kind == InnerLoop.Kind.LINEAR ? "linear" : "mlp", "--heads", "" + heads, "--d", "" + d,
                        "--hidden", "" + d * kind.expansion, "--context", "" + t, "--mini-batch", "" + miniBatch, "--repeats", "" + repeats,
                        "--threads", "" + threads),
                threads, stdout());
        if (answer == null) {
            noTorch = true; // said once; the remaining rows go without it
            return null;
        }
        Map<String, Object> row = flopsRow("ttt_kernel_torch", kind, ctx, ((Number) answer.get("ms")).doubleValue(), kernelFlops(kind, t));
        row.put("torch", answer.get("torch"));
        return row;
    }

    private double kernelFlops(InnerLoop.Kind kind, int t) {
        int d = width / heads;
        return kind == InnerLoop.Kind.LINEAR ? TttFusedKernel.forwardFlops(heads, t, miniBatch, d, d)
                : TttFusedKernel.forwardFlops(heads, t, miniBatch, d, d * kind.expansion, d);
    }

    /** The fused dual form alone over one sequence of ctx tokens: heads pairs, head width D / heads. */
    private Map<String, Object> kernel(InnerLoop.Kind kind, int ctx) {
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
        return flopsRow("ttt_kernel", kind, ctx, median(times), kernelFlops(kind, t));
    }
}
