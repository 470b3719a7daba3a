package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
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
import org.ttt4j.lm.eval.Latency;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.methods.TrainingStep;
import org.ttt4j.lm.methods.e2e.E2eLoop;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench e2e}: TTT-E2E against full attention and sliding-window attention of the same
 * size, as whole models: prefill tokens/s of a context read from scratch, decode ms/token
 * continuing it (TTT-E2E's mean includes the inner step taken at every completed chunk), and the
 * state each holds; then one training step at a long context of each (the meta-gradient's price).
 * Weights and tokens are random: speed does not depend on what was learned.
 */
@Command(name = "e2e", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"TTT-E2E vs full attention vs SWA: speed and state memory against context length.",
                "Whole models of the same size, random weights: prefill tokens/s and decode ms/token against context length, state memory, the prefill crossover with full attention, and",
                "the time of one training step at --train-context (TTT-E2E: second-order meta-gradient) relative to full attention."})
public final class E2eBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "small", description = "model size (default: ${DEFAULT-VALUE})") String preset;
    @Option(names = "--contexts", split = ",", defaultValue = "1024,2048,8192,32768,131072", description = "context lengths (default: ${DEFAULT-VALUE})")
    int[] contexts;
    @Option(names = "--methods", split = ",", defaultValue = "e2e,full,swa", description = "e2e, full, swa (default: ${DEFAULT-VALUE})")
    List<String> methods;
    @Option(names = "--window", defaultValue = "64", description = "attention window of e2e and swa; e2e's chunk too (default: ${DEFAULT-VALUE})")
    int window;
    @Option(names = "--tokens", defaultValue = "128", description = "decoded tokens per context (default: ${DEFAULT-VALUE}; a multiple of the window"
            + " includes e2e's inner steps fairly)") int tokens;
    @Option(names = "--piece", defaultValue = "1024", description = "tokens per prefill call (default: ${DEFAULT-VALUE})") int piece;
    @Option(names = "--full-max-context", defaultValue = "32768",
            description = "longest context full attention is run at: its prefill is quadratic (default: ${DEFAULT-VALUE})") int fullMax;
    @Option(names = "--train-context", defaultValue = "8192", description = "context of the training-step comparison; 0 skips it (default: ${DEFAULT-VALUE})")
    int trainContext;

    @Override
    public Integer call() throws Exception {
        if (window < 1) throw new IllegalArgumentException("--window must be >= 1, got " + window);
        if (piece < 1) throw new IllegalArgumentException("--piece must be >= 1, got " + piece);
        for (String m : methods) model(m);
        int threads = Parallel.threads();
        stdout().printf("ttt4j bench e2e: preset %s, window %d (TTT-E2E chunk %d), %d decoded tokens per context, %d thread(s)%n", preset,
                window, window, tokens, threads);
        for (String m : methods) {
            ModelConfig c = model(m).config();
            stdout().printf("  %-5s %s, SwiGLU %d, %,d parameters%n", m, describe(c), c.dFf(), model(m).params().count());
        }
        stdout().println();
        stdout().printf("%-6s %9s %14s %15s %15s %10s%n", "method", "context", "prefill tok/s", "decode ms/tok", "(median step)", "state MiB");
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<String, Map<Integer, Double>> prefill = new LinkedHashMap<>();
        var rng = new SplittableRandom(11);
        for (String m : methods) {
            Decoder model = model(m);
            // JIT warm-up, untimed: C2 compiles the decode path only after thousands of steps, so without this
            // the first context's decode times would be the interpreter's and C1's.
            Latency.measure(model, Math.min(4096, contexts[0]), 1536, piece, rng);
            prefill.put(m, new LinkedHashMap<>());
            for (int ctx : contexts) {
                if (m.equals("full") && ctx > fullMax) {
                    stdout().printf("%-6s %9d %14s %15s %15s %10s%n", m, ctx, "(skipped: > --full-max-context)", "", "", "");
                    continue;
                }
                Latency.Point r = Latency.measure(model, ctx, tokens, piece, rng);
                prefill.get(m).put(ctx, r.prefillTokensPerS());
                stdout().printf("%-6s %9d %14.0f %15.3f %15.3f %10.2f%n", m, ctx, r.prefillTokensPerS(), r.decodeMsPerToken(),
                        r.decodeMedianMs(), r.stateMib());
                Map<String, Object> row = row("e2e_inference", m, ctx);
                row.put("prefill_tokens_per_s", r.prefillTokensPerS());
                row.put("decode_ms_per_token", r.decodeMsPerToken());
                row.put("decode_median_ms_per_step", r.decodeMedianMs());
                row.put("state_mib", r.stateMib());
                rows.add(row);
            }
        }
        if (prefill.containsKey("e2e") && prefill.containsKey("full")) {
            Integer crossover = null;
            for (var e : prefill.get("full").entrySet()) {
                Double mine = prefill.get("e2e").get(e.getKey());
                if (mine != null && mine > e.getValue()) {
                    crossover = e.getKey();
                    break;
                }
            }
            stdout().printf("%nprefill crossover: TTT-E2E is faster than full attention from context %s on%n",
                    crossover == null ? "(none measured)" : crossover);
            Map<String, Object> row = row("e2e_prefill_crossover", "e2e", crossover == null ? -1 : crossover);
            row.put("crossover_context", crossover);
            rows.add(row);
        }
        if (trainContext > 0 && methods.contains("e2e") && methods.contains("full")) {
            stdout().printf("%ntraining step at context %d, batch 1 (forward + backward; TTT-E2E second order, checkpointed):%n", trainContext);
            double e2e = trainStep("e2e", rng), full = trainStep("full", rng);
            stdout().printf("  TTT-E2E %.2f s, full attention %.2f s: ratio %.2fx (the paper's: 3.4x; target <= 3x)%n", e2e, full, e2e / full);
            Map<String, Object> row = row("e2e_train_step", "e2e", trainContext);
            row.put("e2e_step_s", e2e);
            row.put("full_step_s", full);
            row.put("ratio_vs_full", e2e / full);
            rows.add(row);
        }
        stdout().println();
        var json = new ObjectMapper();
        for (var r : rows) stdout().println(json.writeValueAsString(r));
        return 0;
    }

    private final Map<String, Decoder> models = new LinkedHashMap<>();

    /** The same preset as TTT-E2E (matched size, sandwich norms), full attention or SWA; built once. */
    private Decoder model(String method) {
        return models.computeIfAbsent(method, m -> {
            ModelConfig base = Presets.byName(preset).withNorms(true, true);
            ModelConfig c = switch (m) {
                case "e2e" -> new E2eSettings(null, window, null, null, null).matched(base.withMixers("swa", window));
                case "full" -> base.withMixers("full", window);
                case "swa" -> base.withMixers("swa", window);
                default -> throw new IllegalArgumentException("unknown method \"" + m + "\" (known: e2e, full, swa)");
            };
            return new Decoder(c.validate(), 1);
        });
    }

    private static String describe(ModelConfig c) {
        return E2eSettings.of(c) != null ? "TTT-E2E (swa, " + E2eSettings.of(c).suffixBlocks(c) + " of " + c.layers() + " blocks learn)" : c.mixers();
    }

    /**
     * Seconds of one training step's forward and backward at {@code trainContext}, after an untimed
     * one at the same context (the first step at a size also pays for growing the heap).
     */
    private double trainStep(String method, SplittableRandom rng) {
        Decoder model = model(method);
        Tensor[] params = model.params().all().values().toArray(Tensor[]::new);
        double seconds = 0;
        for (int t : new int[] {trainContext, trainContext}) {
            int v = model.config().vocabSize();
            int[] in = Latency.randomIds(rng, t, v), target = Latency.randomIds(rng, t, v);
            long t0 = System.nanoTime();
            Tensor loss = Methods.of(model.config()).trainingLoss(model, in, target, 1, t, TrainingStep.FINISHED);
            Autograd.grad(new Tensor[] {loss}, params, null, false);
            seconds = (System.nanoTime() - t0) / 1e9;
            stderr().printf("  %s step at context %d: %.2f s%n", method, t, seconds);
        }
        return seconds;
    }

    private Map<String, Object> row(String bench, String method, int ctx) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("bench", bench);
        row.put("preset", preset);
        row.put("method", method);
        row.put("window", window);
        row.put("context", ctx);
        row.put("threads", Parallel.threads());
        return row;
    }
}
