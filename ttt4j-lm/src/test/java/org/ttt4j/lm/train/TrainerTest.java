package org.ttt4j.lm.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.optim.TextbookAdamW;

class TrainerTest {
    /** Random windows of a fixed token sequence; the window for step s comes from seed + s. */
    static class Windows implements BatchSource {
        final int[] tokens;
        final int batch, context;
        long step;
        int failAt = -1;

        Windows(int[] tokens, int batch, int context) {
            this.tokens = tokens;
            this.batch = batch;
            this.context = context;
        }

        @Override
        public int[] next() {
            if (step == failAt) throw new IllegalStateException("simulated crash");
            var rng = new SplittableRandom(99 + step++);
            int[] out = new int[batch * (context + 1)];
            for (int r = 0; r < batch; r++) {
                int at = rng.nextInt(tokens.length - context - 1);
                System.arraycopy(tokens, at, out, r * (context + 1), context + 1);
            }
            return out;
        }

        @Override
        public Map<String, Object> state() {
            return Map.of("step", step);
        }

        @Override
        public void restore(Map<String, Object> s) {
            step = ((Number) s.get("step")).longValue();
        }
    }

    static int[] pattern(int n) {
        // A learnable sequence: a repeating 17-token motif with some noise.
        var rng = new SplittableRandom(5);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rng.nextInt(10) == 0 ? rng.nextInt(257) : 40 + (i * 7) % 17;
        return t;
    }

    private static TrainOptions options(long steps) {
        return TrainOptions.builder().steps(steps).batch(4).context(32).accumulate(1).lr(3e-3).minLr(3e-4).warmup(3).weightDecay(0.1).clip(1.0).evalEvery(5).evalBatches(2).checkpointEvery(5).keepLast(2).logEvery(1).seed(7).build();
    }

    private static List<Double> losses(Path run) throws Exception {
        List<Double> r = new ArrayList<>();
        var json = new ObjectMapper();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            var n = json.readTree(line);
            if (n.has("loss")) r.add(n.get("loss").asDouble());
        }
        return r;
    }

    private static Trainer trainer(Windows data, TrainOptions o, Path run) {
        return trainer(Presets.byName("tiny"), data, o, run);
    }

    private static Trainer trainer(ModelConfig c, Windows data, TrainOptions o, Path run) {
        int[] val = pattern(2000);
        List<int[]> vb = List.of(java.util.Arrays.copyOfRange(val, 0, 4 * 33), java.util.Arrays.copyOfRange(val, 500, 500 + 4 * 33));
        return new Trainer(new Decoder(c, 3), data, () -> vb, o, run, "bytes", new PrintStream(new ByteArrayOutputStream()));
    }

    @Test
    void lossFallsAndCheckpointsAreKept(@TempDir Path run) throws Exception {
        var result = trainer(new Windows(pattern(5000), 4, 32), options(30), run).run();
        assertEquals(Trainer.Outcome.FINISHED, result.outcome());
        List<Double> l = losses(run);
        assertEquals(30, l.size());
        assertTrue(l.getLast() < l.getFirst() - 1.0, "loss should fall: " + l.getFirst() + " -> " + l.getLast());
        assertEquals(2, new CheckpointStore(run).list().size(), "keep_last 2");
        assertNotNull(result.lastValLoss());
        var loaded = CheckpointStore.load(run);
        assertEquals(30, loaded.state().step());
    }

    /** A run that crashes after a checkpoint and resumes logs exactly the uninterrupted losses. */
    @Test
    void resumeReproducesTheUninterruptedRunBitForBit(@TempDir Path a, @TempDir Path b) throws Exception {
        trainer(new Windows(pattern(5000), 4, 32), options(14), a).run();
        Windows crashing = new Windows(pattern(5000), 4, 32);
        crashing.failAt = 12;
        assertThrows(IllegalStateException.class, () -> trainer(crashing, options(14), b).run());
        assertEquals(12, losses(b).size());
        trainer(new Windows(pattern(5000), 4, 32), options(14), b).run();
        assertEquals(losses(a), losses(b));
    }

    /** TTT models (here TTT-MLP on the Mamba backbone, fused kernel) learn and resume bit for bit like any other. */
    @Test
    void tttModelsLearnAndResumeBitForBit(@TempDir Path a, @TempDir Path b) throws Exception {
        ModelConfig c = Presets.byName("tiny").withMixers("ttt_mlp:1,ttt_linear:1", 8)
                .withSection("ttt", new org.ttt4j.lm.methods.ttt.TttSettings(8, null, "mamba", null, null, null));
        assertLearnsAndResumes(c, a, b);
        assertEquals(c, CheckpointStore.load(b).config(), "the ttt section survives the checkpoint");
    }

    /** The loss falls over 14 steps, and a run that crashes at step 12 resumes to the same losses. */
    private static void assertLearnsAndResumes(ModelConfig c, Path a, Path b) throws Exception {
        trainer(c, new Windows(pattern(5000), 4, 32), options(14), a).run();
        List<Double> l = losses(a);
        assertTrue(l.getLast() < l.getFirst() - 0.5, "loss should fall: " + l.getFirst() + " -> " + l.getLast());
        Windows crashing = new Windows(pattern(5000), 4, 32);
        crashing.failAt = 12;
        assertThrows(IllegalStateException.class, () -> trainer(c, crashing, options(14), b).run());
        trainer(c, new Windows(pattern(5000), 4, 32), options(14), b).run();
        assertEquals(l, losses(b));
    }

    /** TTT-E2E models train through the inner loop (second order) and resume bit for bit. */
    @Test
    void e2eModelsLearnAndResumeBitForBit(@TempDir Path a, @TempDir Path b) throws Exception {
        ModelConfig t = Presets.byName("tiny");
        ModelConfig c = t.toBuilder().qkNorm(true).postNorm(true).mixers("swa").section("e2e", new org.ttt4j.lm.methods.e2e.E2eSettings(1, 8, null, null, null)).build();
        assertLearnsAndResumes(c, a, b);
    }

    /**
     * A step's tensors recycled through an arena (poisoned on close, so a tensor that outlived its
     * step would read NaN) give the same losses, validation losses and weights, bit for bit, as
     * tensors allocated afresh: full attention with gradient accumulation, TTT layers and TTT-E2E.
     */
    @Test
    void anArenaChangesNoBit(@TempDir Path runs) throws Exception {
        ModelConfig t = Presets.byName("tiny");
        ModelConfig[] configs = {t,
                t.withMixers("ttt_mlp:1,ttt_linear:1", 8).withSection("ttt", new org.ttt4j.lm.methods.ttt.TttSettings(8, null, "mamba", null, null, null)),
                t.toBuilder().qkNorm(true).postNorm(true).mixers("swa").section("e2e", new org.ttt4j.lm.methods.e2e.E2eSettings(1, 8, null, null, null)).build()};
        TrainOptions o = TrainOptions.builder().steps(6).batch(4).context(32).accumulate(2).lr(3e-3).minLr(3e-4).warmup(3).weightDecay(0.1).clip(1.0)
                .evalEvery(3).evalBatches(1).checkpointEvery(3).keepLast(1).logEvery(1).seed(7).build();
        for (int i = 0; i < configs.length; i++) {
            Map<String, float[]> weights = new LinkedHashMap<>();
            List<List<Double>> logged = new ArrayList<>();
            for (boolean withArena : new boolean[] {false, true}) {
                Path run = runs.resolve(i + "-" + withArena);
                Decoder model = new Decoder(configs[i], 3);
                var arena = withArena ? new org.ttt4j.core.tensor.Arena().poisonOnClose(true) : null;
                new Trainer(model, new Windows(pattern(5000), 4, 32), () -> List.of(Arrays.copyOfRange(pattern(2000), 0, 4 * 33)), o, run,
                        "bytes", new PrintStream(new ByteArrayOutputStream())).arena(arena).run();
                List<Double> all = new ArrayList<>(losses(run));
                for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
                    var n = new ObjectMapper().readTree(line);
                    if (n.has("val_loss")) all.add(n.get("val_loss").asDouble());
                }
                logged.add(all);
                if (withArena) {
                    assertTrue(arena.reusedBytes() > arena.freshBytes(), "steps after the first reuse the arena's arrays");
                }
                for (var e : model.params().all().entrySet()) {
                    float[] w = e.getValue().toFloatArray();
                    float[] before = weights.putIfAbsent(e.getKey(), w);
                    if (before != null) assertArrayEquals(before, w, configs[i].mixers() + ": " + e.getKey());
                }
            }
            assertEquals(logged.get(0), logged.get(1), configs[i].mixers());
            assertEquals(6 + 2, logged.get(0).size(), "six losses and two validation losses");
        }
    }

    /** A parameter poisoned with NaN after step 5 (as a blow-up would): the run stops and keeps step 4's checkpoint. */
    @Test
    void divergenceStopsAndKeepsTheLastGoodCheckpoint(@TempDir Path run) throws Exception {
        TrainOptions o = TrainOptions.builder().steps(20).batch(4).context(32).accumulate(1).lr(3e-3).minLr(0).warmup(0).weightDecay(0.1).clip(1).evalEvery(0).evalBatches(0).checkpointEvery(2).keepLast(3).logEvery(1).seed(7).build();
        Decoder model = new Decoder(Presets.byName("tiny"), 3);
        Windows data = new Windows(pattern(5000), 4, 32) {
            @Override
            public int[] next() {
                if (step == 5) model.params().get("model.norm.weight").set(0, Float.NaN);
                return super.next();
            }
        };
        var result = new Trainer(model, data, List::of, o, run, "bytes", new PrintStream(new ByteArrayOutputStream())).run();
        assertEquals(Trainer.Outcome.DIVERGED, result.outcome());
        assertEquals(5, result.step(), "stopped at the step whose loss was NaN");
        var kept = new CheckpointStore(run).list();
        assertEquals(List.of("step-00000002", "step-00000004"), kept.stream().map(p -> p.getFileName().toString()).toList());
        for (Path p : kept) assertTrue(Double.isFinite(CheckpointStore.load(p).state().lastLoss()));
    }

    @Test
    void mismatchedCheckpointIsRejectedWithTheReason(@TempDir Path run) throws Exception {
        trainer(new Windows(pattern(5000), 4, 32), options(5), run).run();
        ModelConfig other = Presets.byName("tiny").withMixers("swa", 8);
        var t = new Trainer(new Decoder(other, 3), new Windows(pattern(5000), 4, 32), List::of, options(10), run, "bytes",
                new PrintStream(new ByteArrayOutputStream()));
        var e = assertThrows(IllegalArgumentException.class, t::run);
        assertTrue(e.getMessage().contains("mixers: \"full\" vs \"swa\"") && e.getMessage().contains("window"), e.getMessage());
    }

    @Test
    void loadingChecksNamesAndShapesAndSaysWhatDiffers(@TempDir Path run) throws Exception {
        trainer(new Windows(pattern(5000), 4, 32), options(2), run).run();
        var ck = CheckpointStore.load(run);
        var saved = new java.util.LinkedHashMap<>(ck.model());
        saved.remove("model.norm.weight");
        saved.put("model.layers.0.mlp.up_proj.weight", org.ttt4j.core.tensor.Tensor.zeros(3, 3));
        saved.put("extra.weight", org.ttt4j.core.tensor.Tensor.zeros(1));
        var params = new Decoder(Presets.byName("tiny"), 1).params().all();
        var e = assertThrows(IllegalArgumentException.class, () -> CheckpointStore.copyInto(saved, params, "test"));
        assertTrue(e.getMessage().contains("missing model.norm.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("model.layers.0.mlp.up_proj.weight has shape [3, 3], model expects [64, 32]"), e.getMessage());
        assertTrue(e.getMessage().contains("unexpected extra.weight"), e.getMessage());
    }

    /**
     * Three steps of the trainer equal three steps driven by hand: the loss, its gradient, a global-norm
     * clip at {@code options.clip()} written out here in double, and {@link TextbookAdamW} (0.9, 0.95,
     * eps 1e-8) at the learning rates of the schedule worked by hand (warmup 1, 3 steps: peak, peak,
     * (peak + min) / 2), with the decay on every parameter and on matrices only.
     *
     * <p>AdamW is blind to a scale shared by all steps, so the threshold is put between the steps'
     * gradient norms: some steps are clipped and some are not, and no clipping, clipping per tensor or
     * another threshold each change the ratio between the steps' gradients, and so the weights.
     */
    @Test
    void aStepClipsTheGlobalNormAtTheOptionsThresholdThenTakesTheTextbookAdamWStep(@TempDir Path runs) throws Exception {
        ModelConfig c = Presets.byName("tiny");
        int batch = 2, context = 16;
        double peak = 1e-2, min = 1e-3, decay = 0.1;
        double[] lrs = {peak, peak, (peak + min) / 2};
        List<int[]> batches = new ArrayList<>();
        Windows windows = new Windows(pattern(5000), batch, context);
        for (int s = 0; s < lrs.length; s++) batches.add(windows.next());
        for (String decayOn : new String[] {"all", "matrices"}) {
            boolean decayAll = decayOn.equals("all");
            // The threshold between the first two steps' norms, which do not depend on it (AdamW's first step is blind to
            // the gradient's scale); the third step's norm does.
            double[] unclipped = handSteps(c, batches, batch, context, 0, lrs, decay, decayAll).norms();
            double clip = Math.sqrt(unclipped[0] * unclipped[1]);
            HandRun expected = handSteps(c, batches, batch, context, clip, lrs, decay, decayAll);
            double[] norms = expected.norms();
            String straddle = "the gradient norms " + Arrays.toString(norms) + " must straddle the threshold " + clip;
            assertTrue(Arrays.stream(norms).anyMatch(n -> n > 1.1 * clip), straddle);
            assertTrue(Arrays.stream(norms).anyMatch(n -> n < clip / 1.1), straddle);
            Decoder model = new Decoder(c, 3);
            TrainOptions o = TrainOptions.builder().steps(lrs.length).batch(batch).context(context).accumulate(1).lr(peak).minLr(min).warmup(1).weightDecay(decay).clip(clip).evalEvery(0).evalBatches(0).checkpointEvery(0).keepLast(1).logEvery(1).seed(7).innerLrWarmup(0.0).maskBoundaryTargets(true).weightDecayOn(decayOn).build();
            var replay = new ArrayDeque<>(batches);
            BatchSource data = new BatchSource() {
                @Override
                public int[] next() {
                    return replay.removeFirst();
                }

                @Override
                public Map<String, Object> state() {
                    return Map.of("left", replay.size());
                }

                @Override
                public void restore(Map<String, Object> state) {
                    throw new UnsupportedOperationException("never resumed");
                }
            };
            Path run = runs.resolve(decayOn);
            var result = new Trainer(model, data, List::of, o, run, "bytes", new PrintStream(new ByteArrayOutputStream())).run();
            assertEquals(Trainer.Outcome.FINISHED, result.outcome());
            double worst = 0;
            String where = "-";
            for (var e : model.params().all().entrySet()) {
                double[] want = expected.weights().get(e.getKey());
                for (int i = 0; i < want.length; i++) {
                    double err = Math.abs(want[i] - e.getValue().get(i));
                    if (err > worst) {
                        worst = err;
                        where = e.getKey() + "[" + i + "]: trainer " + e.getValue().get(i) + ", by hand " + want[i];
                    }
                }
            }
            assertTrue(worst < 1e-6, "decay on " + decayOn + ", clip " + clip + ": worst difference " + worst + " at " + where);
            // The metrics log the norms before clipping.
            List<Double> logged = new ArrayList<>();
            var json = new ObjectMapper();
            for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
                var n = json.readTree(line);
                if (n.has("grad_norm")) logged.add(n.get("grad_norm").asDouble());
            }
            assertEquals(lrs.length, logged.size());
            for (int s = 0; s < lrs.length; s++) assertEquals(norms[s], logged.get(s), 1e-5 * norms[s], "grad_norm of step " + (s + 1));
        }
    }

    /** Weights by parameter name after the steps (double), and each step's gradient norm before clipping. */
    private record HandRun(Map<String, double[]> weights, double[] norms) {}

    /** The steps by hand (see above); {@code clip} 0: no clipping. */
    private static HandRun handSteps(ModelConfig c, List<int[]> batches, int batch, int context, double clip, double[] lrs,
                                     double decay, boolean decayAll) {
        Decoder m = new Decoder(c, 3);
        Map<String, Tensor> params = m.params().all();
        Tensor[] leaves = params.values().toArray(Tensor[]::new);
        Map<String, TextbookAdamW> adam = new LinkedHashMap<>();
        params.forEach((n, t) -> adam.put(n, new TextbookAdamW(t.toDoubleArray(), 0.9, 0.95, 1e-8, decay, decayAll || t.rank() >= 2)));
        double[] norms = new double[batches.size()];
        for (int s = 0; s < batches.size(); s++) {
            int[] rows = batches.get(s), in = new int[batch * context], target = new int[batch * context];
            for (int r = 0; r < batch; r++) {
                System.arraycopy(rows, r * (context + 1), in, r * context, context);
                System.arraycopy(rows, r * (context + 1) + 1, target, r * context, context);
            }
            Tensor[] g = Autograd.grad(new Tensor[] {m.loss(in, target, batch, context)}, leaves, null, false);
            double[][] grads = new double[g.length][];
            double squares = 0;
            for (int i = 0; i < g.length; i++) {
                grads[i] = g[i].toDoubleArray();
                for (double x : grads[i]) squares += x * x;
            }
            norms[s] = Math.sqrt(squares);
            // PyTorch's clip_grad_norm_: every gradient times max / (norm + 1e-6) when the norm exceeds max
            double scale = clip > 0 && norms[s] > clip ? clip / (norms[s] + 1e-6) : 1;
            int i = 0;
            for (var e : params.entrySet()) {
                double[] gi = grads[i++];
                for (int k = 0; k < gi.length; k++) gi[k] *= scale;
                TextbookAdamW a = adam.get(e.getKey());
                a.step(gi, lrs[s]);
                double[] w = a.weights();
                for (int k = 0; k < w.length; k++) e.getValue().set(k, w[k]);
            }
        }
        Map<String, double[]> weights = new LinkedHashMap<>();
        adam.forEach((n, a) -> weights.put(n, a.weights()));
        return new HandRun(weights, norms);
    }
}
