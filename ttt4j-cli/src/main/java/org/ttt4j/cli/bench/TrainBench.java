package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.ttt.InnerLoop;
import org.ttt4j.lm.layers.ttt.TttFusedKernel;
import org.ttt4j.lm.methods.e2e.E2eLoop;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.methods.ttt.TttMethod;
import org.ttt4j.lm.methods.ttt.TttSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Mixer;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.optim.AdamW;
import org.ttt4j.lm.optim.GradClip;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench train}: training steps per second of a preset model on random tokens (the
 * data pipeline is not what is measured), the achieved GFLOP/s against the measured FMA peak, and
 * the same step in PyTorch (train_torch.py, Debian's python3-torch) run in the same invocation.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Training throughput: tokens/s and GFLOP/s of whole training steps.",
                "Full training steps (forward, backward, clip, AdamW) on random tokens, vs the same model and step in",
                "PyTorch when it is installed."})
public final class TrainBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "bench", description = "tiny, small or bench (default: ${DEFAULT-VALUE})")
    String preset;
    @Option(names = "--mixers", description = "block pattern instead of the preset's (full, swa, ttt_linear, ttt_mlp, hybrids)") String mixers;
    @Option(names = "--window", description = "sliding window for swa blocks (default: the preset's)") Integer window;
    @Option(names = "--context", description = "tokens per sequence (default: the preset's)") Integer context;
    @Option(names = "--e2e", description = "TTT-E2E: sliding-window blocks, prime MLPs in the suffix (matched size), steps through"
            + " the inner loop (second order, checkpointed chunks); reports the peak heap of a step; default: off") boolean e2e;
    @Option(names = "--e2e-chunk", description = "TTT-E2E: tokens per inner step (default: the window, as in bench e2e and the"
            + " published figures)") Integer e2eChunk;
    @Option(names = "--e2e-batching", defaultValue = "batched", description = "how TTT-E2E runs each sequence's own inner loop:"
            + " batched (fast weights with a batch axis, what training uses) or rows (a Java loop over the sequences); default:"
            + " ${DEFAULT-VALUE}") String e2eBatching;
    @Option(names = "--batch", description = "sequences per step (default: 4 for bench, else 8)") Integer batch;
    @Option(names = "--steps", defaultValue = "8", description = "timed steps, median reported (default: ${DEFAULT-VALUE})") int steps;
    @Option(names = "--warmup", defaultValue = "3", description = "untimed steps first, for the JIT (default: ${DEFAULT-VALUE})") int warmup;
    @Option(names = "--no-torch", description = "skip the PyTorch comparison (default: compared when torch is installed)") boolean noTorch;
    @Option(names = "--profile", description = "also sample the timed steps with the JDK Flight Recorder (every thread, once per"
            + " millisecond) and print where the time goes by op kind (GEMM, attention, norms, allocation, ...); default: off")
    boolean profile;
    @Option(names = "--no-freeze", description = "pack the weights for every product instead of once per step (Gemm.freeze: same results;"
            + " this shows what it saves; default: packed once)") boolean noFreeze;
    @Option(names = "--no-arena", description = "allocate every tensor of a step afresh instead of recycling the previous step's"
            + " arrays (the arena: same results, no garbage; this shows what it saves; default: the arena)") boolean noArena;
    @Option(names = "--python", description = "interpreter with torch (default: python3, then /usr/bin/python3)") String python;

    @Override
    public Integer call() throws Exception {
        ModelConfig c = Presets.byName(preset);
        if (mixers != null || window != null) c = c.withMixers(mixers != null ? mixers : c.mixers(), window != null ? window : c.window()).validate();
        if (context != null) c = c.withContext(context).validate();
        if (!e2eBatching.equals("batched") && !e2eBatching.equals("rows")) {
            throw new IllegalArgumentException("--e2e-batching: expected batched or rows, got " + e2eBatching);
        }
        if (e2e) {
            c = new E2eSettings(null, e2eChunk != null ? e2eChunk : c.window(), null, null, null).matched(c.withMixers("swa", c.window())).validate();
        }
        boolean ttt = e2e || c.blockMixers().stream().anyMatch(m -> TttMethod.kindOf(m.name()) != null);
        int b = batch != null ? batch : preset.equals("bench") ? 4 : 8, t = c.context();
        int threads = Parallel.threads();
        stdout().printf("ttt4j bench train: preset %s (width %d, %d layers, %d heads, SwiGLU %d, vocab %d, mixers %s), batch %d x %d tokens, %d thread(s)%n",
                preset, c.dModel(), c.layers(), c.heads(), c.dFf(), c.vocabSize(), c.mixers(), b, t, threads);
        if (ttt && !noTorch) stdout().println("(no PyTorch peer for TTT mixers: the comparison is skipped)");
        double peak = FmaPeak.measure(threads);
        Decoder model = new Decoder(c, 1);
        var params = model.params().all();
        Tensor[] ps = params.values().toArray(Tensor[]::new);
        String[] names = params.keySet().toArray(String[]::new);
        AdamW opt = AdamW.standard(params, 0.1);
        var rng = new SplittableRandom(7);
        List<Double> times = new ArrayList<>();
        long peakHeap = 0;
        // The largest heap still in use after a collection during a step, from the collectors' notifications:
        // the live data the step held at those moments (a lower bound of its true peak; garbage excluded).
        var liveAfterGc = new java.util.concurrent.atomic.AtomicLong();
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof javax.management.NotificationEmitter emitter) {
                emitter.addNotificationListener((n, h) -> {
                    if (!n.getType().equals(com.sun.management.GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) return;
                    var info = com.sun.management.GarbageCollectionNotificationInfo.from((javax.management.openmbean.CompositeData) n.getUserData());
                    long after = info.getGcInfo().getMemoryUsageAfterGc().values().stream().mapToLong(u -> u.getUsed()).sum();
                    liveAfterGc.accumulateAndGet(after, Math::max);
                }, null, null);
            }
        }
        double loss = 0;
        var arena = noArena ? null : new org.ttt4j.core.tensor.Arena(org.ttt4j.core.kernel.Elementwise::zero);
        StepProfile profiler = null;
        for (int s = 0; s < warmup + steps; s++) {
            if (profile && s == warmup) profiler = new StepProfile();
            int[] in = new int[b * t], target = new int[b * t];
            for (int i = 0; i < in.length; i++) {
                in[i] = rng.nextInt(c.vocabSize());
                target[i] = rng.nextInt(c.vocabSize());
            }
            liveAfterGc.set(0);
            long t0 = System.nanoTime();
            try (var scope = arena == null ? null : arena.open()) { // only numbers leave the step
                Tensor l;
                Tensor[] g;
                try (var frozen = noFreeze ? null : org.ttt4j.core.kernel.Gemm.freeze(org.ttt4j.lm.train.Trainer.weightArrays(ps))) {
                    l = !e2e ? model.loss(in, target, b, t) : e2eBatching.equals("rows")
                            ? E2eLoop.lossRowByRow(model, in, target, b, t, E2eLoop.Options.of(model.config(), 1.0))
                            : E2eLoop.loss(model, in, target, b, t, E2eLoop.Options.of(model.config(), 1.0));
                    g = Autograd.grad(new Tensor[] {l}, ps, null, false);
                }
                Map<String, Tensor> grads = new LinkedHashMap<>();
                for (int i = 0; i < g.length; i++) grads.put(names[i], g[i]);
                opt.step(grads, 3e-4, GradClip.scale(GradClip.norm(grads), 1.0));
                loss = l.item();
            }
            long dt = System.nanoTime() - t0;
            System.gc(); // outside the timing: the step's graph is garbage now, so what stays is the model and optimizer
            long heap = liveAfterGc.get();
            if (s >= warmup) {
                times.add(dt / 1e9);
                peakHeap = Math.max(peakHeap, heap);
            }
            stderr().printf("  step %d: %.3f s, loss %.4f%n", s + 1, dt / 1e9, loss);
        }
        StepProfile.Breakdown breakdown = null;
        if (profiler != null) {
            try (StepProfile p = profiler) {
                breakdown = p.finish();
            }
        }
        double sec = median(times);
        double tokens = (double) b * t;
        double flops = flopsPerStep(c, b, t);
        double tps = tokens / sec, gflops = flops / sec / 1e9;
        Map<String, Object> torch = noTorch || ttt ? null : runTorch(c, b, threads);
        Double torchTps = torch == null ? null : ((Number) torch.get("tokens_per_s")).doubleValue();

        stdout().printf("%nfp32 FMA peak on %d thread(s): %.1f GFLOP/s%n", threads, peak);
        stdout().printf("model FLOPs per step: %.1f GFLOP (matmuls and attention, forward + backward = 3x forward)%n%n", flops / 1e9);
        stdout().printf("%-10s %12s %12s %10s %10s%n", "", "step (ms)", "tokens/s", "GFLOP/s", "of peak");
        double arenaMib = arena == null ? 0 : arena.heldBytes() / 1048576.0;
        stdout().printf("%-10s %12.1f %12.0f %10.1f %9.0f%%   peak heap %.0f MiB%s%n", "ttt4j", sec * 1e3, tps, gflops, 100 * gflops / peak,
                peakHeap / 1048576.0, arena == null ? " (no arena)" : String.format(" (of which the step's arena %.0f MiB)", arenaMib));
        if (torchTps != null) {
            double tsec = tokens / torchTps;
            stdout().printf("%-10s %12.1f %12.0f %10.1f %9.0f%%   (torch %s)%n", "pytorch", tsec * 1e3, torchTps, flops / tsec / 1e9,
                    100 * flops / tsec / 1e9 / peak, torch.get("version"));
            stdout().printf("ratio ttt4j / pytorch: %.2fx%n", tps / torchTps);
        }
        stdout().println();
        var json = new ObjectMapper();
        if (breakdown != null) printProfile(breakdown, json);
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("bench", "train");
        row.put("preset", preset);
        row.put("batch", b);
        row.put("context", t);
        row.put("mixers", c.mixers());
        row.put("e2e", e2e);
        if (e2e) row.put("e2e_batching", e2eBatching);
        row.put("peak_heap_mib", peakHeap / 1048576.0);
        row.put("arena", arena != null);
        row.put("arena_mib", arenaMib);
        row.put("threads", threads);
        row.put("step_ms", sec * 1e3);
        row.put("tokens_per_s", tps);
        row.put("gflops", gflops);
        row.put("fma_peak_gflops", peak);
        row.put("fraction_of_peak", gflops / peak);
        row.put("torch_tokens_per_s", torchTps);
        row.put("ratio_vs_torch", torchTps == null ? null : tps / torchTps);
        stdout().println(json.writeValueAsString(row));
        return 0;
    }

    /**
     * 2 FLOPs per multiply-add: weights 2 x params-in-matmuls per token, attention 4 x visible keys x width per layer,
     * TTT layers their inner loop's products.
     */
    static double flopsPerStep(ModelConfig c, int b, int t) {
        double d = c.dModel(), f = c.dFf(), v = c.vocabSize();
        double perTokenMatmul = c.layers() * (4 * d * d + 3 * d * f) + d * v;
        double attention = 0;
        for (var m : c.blockMixers()) {
            InnerLoop.Kind kind = TttMethod.kindOf(m.name());
            if (kind != null) { // the inner loop's products per sequence, all heads
                int hd = c.headDim(), mb = TttSettings.of(c).options(kind, c.ropeTheta()).miniBatch();
                int h = hd * kind.expansion;
                attention += kind == InnerLoop.Kind.LINEAR ? TttFusedKernel.forwardFlops(c.heads(), t, mb, hd, hd)
                        : TttFusedKernel.forwardFlops(c.heads(), t, mb, hd, h, hd);
                continue;
            }
            double visible = 0;
            for (int i = 0; i < t; i++) visible += m.window() > 0 ? Math.min(i + 1, m.window()) : i + 1;
            attention += 4 * d * visible; // q.k and p.v, per sequence
        }
        double forward = b * (2 * perTokenMatmul * t + attention);
        return 3 * forward;
    }

    /** The profile's table by op kind, its ops and hottest methods, and one JSON line per kind. */
    private void printProfile(StepProfile.Breakdown p, ObjectMapper json) throws IOException {
        stdout().printf("where a step's CPU time goes (%d samples of the running threads over %d steps):%n", p.total(), steps);
        stdout().printf("%-24s %8s %8s%n", "op kind", "samples", "share");
        for (String g : StepProfile.GROUPS) stdout().printf("%-24s %8d %7.1f%%%n", g, p.groups().get(g), 100 * p.share(g));
        stdout().printf("%nby kind and method (the main thread's backward marked; the pool's threads cannot tell):%n");
        for (var e : p.ops().subList(0, Math.min(25, p.ops().size()))) {
            var c = e.getKey();
            stdout().printf("  %-22s %-48s %-8s %6.1f%%%n", c.group(), c.name(), c.backward() ? "backward" : "", 100.0 * e.getValue() / p.total());
        }
        stdout().printf("%nhottest methods (innermost frame):%n");
        for (var e : p.leaves()) stdout().printf("  %6.1f%%  %s%n", 100.0 * e.getValue() / p.total(), e.getKey());
        stdout().println();
        for (String g : StepProfile.GROUPS) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("bench", "train-profile");
            row.put("preset", preset);
            row.put("op_kind", g);
            row.put("samples", p.groups().get(g));
            row.put("share", p.share(g));
            stdout().println(json.writeValueAsString(row));
        }
    }

    private static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a[a.length / 2];
    }

    private Map<String, Object> runTorch(ModelConfig c, int b, int threads) throws IOException, InterruptedException {
        return PythonPeer.run("/org/ttt4j/cli/bench/train_torch.py", PythonPeer.interpreters(python),
                List.of("--vocab", "" + c.vocabSize(), "--d", "" + c.dModel(), "--layers", "" + c.layers(), "--heads", "" + c.heads(),
                        "--ff", "" + c.dFf(), "--context", "" + c.context(), "--batch", "" + b, "--threads", "" + threads,
                        "--steps", "" + Math.max(3, steps / 2), "--warmup", "2"),
                threads, stdout());
    }
}
