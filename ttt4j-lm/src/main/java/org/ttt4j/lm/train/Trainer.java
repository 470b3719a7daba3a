package org.ttt4j.lm.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.kernel.Elementwise;
import org.ttt4j.core.kernel.Gemm;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.tensor.Arena;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.methods.TrainingStep;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.optim.AdamW;
import org.ttt4j.lm.optim.GradClip;

/**
 * The training loop shared by every model: AdamW with warmup and cosine decay, global-norm
 * clipping, gradient accumulation, periodic evaluation and checkpoints, exact resume.
 *
 * <p>Exact resume: a step depends only on the parameters, the optimizer moments and the batch;
 * all three are restored bit for bit (the batch through the data source's state), so a run
 * killed and resumed logs exactly the losses of the uninterrupted run.
 */
public final class Trainer {
    /** How a run ended. */
    public enum Outcome { FINISHED, INTERRUPTED, DIVERGED }

    public record Result(Outcome outcome, long step, double lastLoss, Double lastValLoss, Path lastCheckpoint) {}

    private final Decoder model;
    private final Method method;
    private final BatchSource data;
    private final Supplier<List<int[]>> validation;
    private final TrainOptions options;
    private final Path runDir;
    private final String tokenizer;
    private final PrintStream out;
    private volatile boolean stopRequested;
    private Arena arena = new Arena(Elementwise::zero);

    public Trainer(Decoder model, BatchSource data, Supplier<List<int[]>> validation, TrainOptions options, Path runDir,
                   String tokenizer, PrintStream out) {
        this.model = model;
        this.method = Methods.of(model.config());
        this.data = data;
        this.validation = validation;
        this.options = options.validate();
        this.runDir = runDir;
        this.tokenizer = tokenizer;
        this.out = out;
    }

    /**
     * The arena a step's tensors are recycled through (default: a new one that zeroes on the
     * engine's threads; null allocates every tensor afresh). The results are the same bits either
     * way; the arena saves the collector's work and keeps the step's arrays between steps.
     */
    public Trainer arena(Arena arena) {
        this.arena = arena;
        return this;
    }

    /** Asks the loop to save a checkpoint and return after the current step (Ctrl-C). */
    public void requestStop() {
        stopRequested = true;
    }

    public Result run() throws IOException {
        Map<String, Tensor> params = model.params().all();
        Tensor[] paramArray = params.values().toArray(Tensor[]::new);
        String[] names = params.keySet().toArray(String[]::new);
        AdamW optimizer = AdamW.standard(params, options.weightDecay(), options.decaysEveryParameter());
        LrSchedule schedule = new LrSchedule(options.lr(), options.minLr(), options.warmup(), options.steps());
        CheckpointStore store = new CheckpointStore(runDir);

        long start = 0, tokensSeen = 0;
        java.util.Optional<Path> latest = java.util.Optional.empty();
        CheckpointStore.Loaded ck = null;
        // Resume from the newest checkpoint that loads whole and finite; a damaged newer one is named and passed over.
        List<Path> checkpoints = store.list();
        for (int i = checkpoints.size() - 1; i >= 0 && ck == null; i--) {
            try {
                ck = CheckpointStore.load(checkpoints.get(i));
                if (ck.optimizer() == null || ck.state() == null) {
                    throw new IOException(checkpoints.get(i) + " lacks optimizer or trainer state");
                }
                latest = java.util.Optional.of(checkpoints.get(i));
            } catch (IOException | RuntimeException e) {
                ck = null;
                out.printf("checkpoint %s is damaged, not resuming from it: %s%n", checkpoints.get(i), e.getMessage());
                if (i == 0) throw new IOException("no checkpoint in " + runDir + " can be resumed from (the last problem: " + e.getMessage()
                        + "); use another run folder to start afresh", e);
            }
        }
        if (ck != null) {
            if (!ck.config().equals(model.config())) {
                throw new IllegalArgumentException("checkpoint " + latest.get() + " was made with another model config ("
                        + String.join("; ", ck.config().differences(model.config()))
                        + ", checkpoint vs this run); use another run folder to start afresh");
            }
            CheckpointStore.copyInto(ck.model(), params, "checkpoint " + latest.get());
            optimizer.load(ck.optimizer(), ck.state().optimizerStep());
            data.restore(ck.state().data());
            start = ck.state().step();
            tokensSeen = ck.state().tokensSeen();
            // A run that reached its steps is reported as it ended, not re-trained (and not as a NaN loss). The
            // command line refuses other --steps before this point (TrainCommand), as the schedule spans the total.
            if (start >= options.steps()) {
                Double val = lastValidationLoss(runDir, start);
                out.printf("%s already finished at step %d (last loss %.4f%s); nothing to train%n", runDir, start, ck.state().lastLoss(),
                        val == null ? "" : String.format(", validation %.4f", val));
                return new Result(Outcome.FINISHED, start, ck.state().lastLoss(), val, latest.get());
            }
            out.printf("resuming from %s at step %d%n", latest.get(), start);
        }
        out.printf("model: %,d parameters, %d layers, width %d, mixers %s; training %d steps of %d x %d tokens%s%n",
                model.params().count(), model.config().layers(), model.config().dModel(), model.config().mixers(),
                options.steps(), options.batch(), options.context(),
                options.accumulate() > 1 ? " x " + options.accumulate() + " accumulated" : "");

        CountDownLatch saved = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            requestStop();
            try {
                saved.await(120, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "ttt4j-save-on-exit");
        Runtime.getRuntime().addShutdownHook(hook);

        boolean validate = options.evalEvery() > 0 && options.evalBatches() > 0;
        if (validate) {
            List<int[]> held = validation.get();
            if (held.isEmpty()) {
                validate = false;
                out.println("validation: none (the corpus has no held-out text for even one row of " + (options.context() + 1)
                        + " tokens); the run trains without a validation loss");
            } else {
                int rows = 0;
                for (int i = 0; i < Math.min(held.size(), options.evalBatches()); i++) rows += held.get(i).length / (options.context() + 1);
                out.printf("validation: %d batch(es), %d rows of %d tokens%n", Math.min(held.size(), options.evalBatches()), rows,
                        options.context());
            }
        }
        Progress progress = new Progress(out, start, options.steps());
        double lastLoss = Double.NaN;
        Double lastVal = null;
        Path lastCheckpoint = latest.orElse(null);
        long savedStep = start;
        Outcome outcome = Outcome.FINISHED;
        long step = start;
        long windowStart = System.nanoTime(), windowTokens = 0;
        try (MetricsLog metrics = new MetricsLog(runDir.resolve("metrics.jsonl"), start)) {
            while (step < options.steps()) {
                if (stopRequested) {
                    outcome = Outcome.INTERRUPTED;
                    break;
                }
                double loss = 0, gradNorm = Double.NaN, lr = schedule.at(step);
                // Every tensor of the step lives in the arena's scope; only numbers leave it.
                try (var scope = arena == null ? null : arena.open()) {
                    Map<String, Tensor> grads = new LinkedHashMap<>();
                    // The weights do not change until the optimizer's step: products pack each once.
                    try (var frozen = Gemm.freeze(weightArrays(paramArray))) {
                        for (int micro = 0; micro < options.accumulate(); micro++) {
                            int[] batch = data.next();
                            Tensor l = lossOf(batch, trainingStep(step));
                            loss += l.item() / options.accumulate();
                            Tensor[] g = Autograd.grad(new Tensor[] {l}, paramArray, null, false);
                            for (int i = 0; i < g.length; i++) {
                                Tensor scaled = options.accumulate() == 1 ? g[i] : Arith.mul(g[i], 1.0 / options.accumulate());
                                grads.merge(names[i], scaled, Arith::add);
                            }
                        }
                    }
                    if (Double.isFinite(loss)) {
                        gradNorm = GradClip.norm(grads);
                        optimizer.step(grads, lr, GradClip.scale(gradNorm, options.clip()));
                    }
                }
                if (!Double.isFinite(loss)) {
                    progress.line(String.format("step %d: loss is %s; stopping. The last good checkpoint is %s",
                            step + 1, loss, lastCheckpoint == null ? "(none yet)" : lastCheckpoint));
                    metrics.write("step", step + 1, "loss", String.valueOf(loss), "diverged", true);
                    outcome = Outcome.DIVERGED;
                    break;
                }
                step++;
                lastLoss = loss;
                long tokens = (long) options.batch() * options.context() * options.accumulate();
                tokensSeen += tokens;
                windowTokens += tokens;
                double seconds = (System.nanoTime() - windowStart) / 1e9;
                double tps = windowTokens / Math.max(1e-9, seconds);
                metrics.write("step", step, "loss", loss, "lr", lr, "grad_norm", gradNorm, "tokens_per_s", tps);
                boolean logLine = step % options.logEvery() == 0;
                progress.update(step, String.format("loss %.4f lr %.2e %,.0f tok/s", loss, lr, tps), logLine);
                if (logLine) {
                    windowStart = System.nanoTime();
                    windowTokens = 0;
                }
                boolean last = step == options.steps();
                if (validate && (step % options.evalEvery() == 0 || last)) {
                    lastVal = evaluate();
                    metrics.write("step", step, "val_loss", lastVal);
                    progress.line(String.format("step %d: validation loss %.4f", step, lastVal));
                }
                if (options.checkpointEvery() > 0 && step % options.checkpointEvery() == 0 || last) {
                    lastCheckpoint = save(store, optimizer, step, tokensSeen, loss);
                    savedStep = step;
                }
            }
            if (outcome == Outcome.INTERRUPTED && step > savedStep) {
                lastCheckpoint = save(store, optimizer, step, tokensSeen, lastLoss);
                progress.line("interrupted: saved " + lastCheckpoint);
            } else if (outcome == Outcome.INTERRUPTED) {
                progress.line("interrupted: step " + step + " was already saved in " + lastCheckpoint);
            }
        } finally {
            saved.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The JVM is exiting (Ctrl-C): the hook is running and now released.
            }
        }
        return new Result(outcome, step, lastLoss, lastVal, lastCheckpoint);
    }

    /**
     * TTT-E2E's inner-LR multiplier: from 0.1 to 1.0 over the first {@code e2e_inner_lr_warmup} of
     * the steps (10% in pre-training, docs/methods.md, section 3; 0, so 1 throughout, when fine-tuning).
     */
    double innerLrMultiplier(long step) {
        return trainingStep(step).innerLrMultiplier();
    }

    private TrainingStep trainingStep(long step) {
        return new TrainingStep(step, options.steps(), options.innerLrWarmupFraction());
    }

    /** The batch's loss, as the model's method computes it (TTT-E2E: the post-TTT loss of its inner loop). */
    private Tensor lossOf(int[] batch, TrainingStep step) {
        int c = options.context(), b = batch.length / (c + 1); // validation's last batch may have fewer rows
        if (b < 1 || b > options.batch() || batch.length != b * (c + 1)) {
            throw new IllegalStateException("data source gave " + batch.length + " tokens, expected up to " + options.batch() + " rows of "
                    + (c + 1));
        }
        int[] in = new int[b * c], target = new int[b * c];
        for (int r = 0; r < b; r++) {
            System.arraycopy(batch, r * (c + 1), in, r * c, c);
            System.arraycopy(batch, r * (c + 1) + 1, target, r * c, c);
        }
        // -1 marks padding (validation rows shorter than the window): ignored as a target, any id as input.
        for (int i = 0; i < in.length; i++) if (in[i] < 0) in[i] = 0;
        // The document boundary is not a token to predict (the official TTT-E2E code masks these targets).
        int boundary = data.documentBoundary();
        if (options.masksBoundaryTargets() && boundary >= 0) for (int i = 0; i < target.length; i++) if (target[i] == boundary) target[i] = -1;
        return method.trainingLoss(model, in, target, b, c, step);
    }

    /** Mean loss over the validation batches (no graph recorded). */
    public double evaluate() {
        List<int[]> batches = validation.get();
        int n = Math.min(batches.size(), options.evalBatches());
        if (n == 0) return Double.NaN;
        double sum = 0;
        try (var s = GradMode.disabled(); var scope = arena == null ? null : arena.open()) {
            for (int i = 0; i < n; i++) sum += lossOf(batches.get(i), TrainingStep.FINISHED).item();
        }
        return sum / n;
    }

    /** The last validation loss {@code metrics.jsonl} of a run records at or before {@code upToStep}; null if none. */
    public static Double lastValidationLoss(Path runDir, long upToStep) throws IOException {
        Path file = runDir.resolve("metrics.jsonl");
        if (!java.nio.file.Files.exists(file)) return null;
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        Double last = null;
        for (String line : java.nio.file.Files.readAllLines(file, java.nio.charset.StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            try {
                var row = json.readTree(line);
                if (row.has("val_loss") && row.path("step").asLong(Long.MAX_VALUE) <= upToStep) last = row.get("val_loss").asDouble();
            } catch (IOException torn) {
                // a torn last line of a killed run
            }
        }
        return last;
    }

    private Path save(CheckpointStore store, AdamW optimizer, long step, long tokensSeen, double loss) throws IOException {
        var state = new TrainerState(step, optimizer.stepCount(), data.state(), options, model.params().count(), tokenizer,
                tokensSeen, loss);
        return store.save(model.config(), model.params().all(), optimizer.state(), state, options.keepLast());
    }

    /** The fp32 arrays holding {@code params}, each once (for {@link Gemm#freeze}). */
    public static java.util.List<float[]> weightArrays(Tensor[] params) {
        java.util.Set<float[]> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Tensor p : params) if (p.dtype() == org.ttt4j.core.tensor.DType.FP32) seen.add(p.f32());
        return java.util.List.copyOf(seen);
    }
}
