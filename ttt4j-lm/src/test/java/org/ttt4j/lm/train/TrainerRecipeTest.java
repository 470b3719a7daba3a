package org.ttt4j.lm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;

/** The training options that follow the official TTT-E2E recipe (issue #16), each against a hand-made expectation. */
class TrainerRecipeTest {
    private static final int BOUNDARY = 7, BATCH = 4, CONTEXT = 32;

    private static TrainOptions options(long steps, double warmupFraction, boolean mask, String decayOn) {
        return TrainOptions.builder().steps(steps).batch(BATCH).context(CONTEXT).accumulate(1).lr(3e-3).minLr(3e-4).warmup(0).weightDecay(0.1).clip(1.0).evalEvery(0).evalBatches(1).checkpointEvery(0).keepLast(2).logEvery(1).seed(7).innerLrWarmup(warmupFraction).maskBoundaryTargets(mask).weightDecayOn(decayOn).build().validate();
    }

    private static TrainerTest.Windows data() {
        return new TrainerTest.Windows(TrainerTest.pattern(5000), BATCH, CONTEXT) {
            @Override
            public int documentBoundary() {
                return BOUNDARY;
            }
        };
    }

    private static Trainer trainer(Decoder model, TrainOptions o, List<int[]> validation, Path run) {
        return new Trainer(model, data(), () -> validation, o, run, "bytes", new PrintStream(new ByteArrayOutputStream()));
    }

    /** Targets that are the boundary id count in the loss only when masking is off; inputs keep them either way. */
    @Test
    void boundaryTargetsAreLeftOutOfTheLossWhenMasked(@TempDir Path run) {
        ModelConfig c = Presets.byName("tiny");
        int[] rows = Arrays.copyOf(TrainerTest.pattern(2000), BATCH * (CONTEXT + 1));
        for (int i = 5; i < rows.length; i += 9) rows[i] = BOUNDARY;
        int[] in = new int[BATCH * CONTEXT], target = new int[BATCH * CONTEXT], masked = new int[BATCH * CONTEXT];
        for (int r = 0; r < BATCH; r++) {
            System.arraycopy(rows, r * (CONTEXT + 1), in, r * CONTEXT, CONTEXT);
            System.arraycopy(rows, r * (CONTEXT + 1) + 1, target, r * CONTEXT, CONTEXT);
        }
        for (int i = 0; i < target.length; i++) masked[i] = target[i] == BOUNDARY ? -1 : target[i];
        Decoder model = new Decoder(c, 3);
        double all, without;
        try (var off = GradMode.disabled()) {
            all = model.loss(in, target, BATCH, CONTEXT).item();
            without = model.loss(in, masked, BATCH, CONTEXT).item();
        }
        assertNotEquals(all, without, "the boundary targets must weigh in the unmasked loss for this test to mean anything");
        assertEquals(without, trainer(model, options(10, 0.1, true, "all"), List.of(rows), run).evaluate(), 1e-6);
        assertEquals(all, trainer(model, options(10, 0.1, false, "all"), List.of(rows), run).evaluate(), 1e-6);
    }

    /** The inner-LR multiplier ramps from 0.1 to 1 over the given fraction of the steps, and is 1 from the start at 0. */
    @Test
    void innerLrMultiplierRampsOverTheGivenFraction(@TempDir Path run) {
        Decoder model = new Decoder(Presets.byName("tiny"), 3);
        Trainer tenth = trainer(model, options(100, 0.1, true, "all"), List.of(), run);
        assertEquals(0.1, tenth.innerLrMultiplier(0), 1e-12);
        assertEquals(0.1 + 0.9 * 5 / 10.0, tenth.innerLrMultiplier(5), 1e-12);
        assertEquals(1.0, tenth.innerLrMultiplier(10), 1e-12);
        assertEquals(1.0, tenth.innerLrMultiplier(99), 1e-12);
        Trainer half = trainer(model, options(100, 0.5, true, "all"), List.of(), run);
        assertEquals(0.1 + 0.9 * 25 / 50.0, half.innerLrMultiplier(25), 1e-12);
        Trainer none = trainer(model, options(100, 0.0, true, "all"), List.of(), run);
        assertEquals(1.0, none.innerLrMultiplier(0), 0.0);
    }

    /**
     * One step with decay on every parameter against one with decay on matrices only, from the same
     * weights and batch: the gradients are the same, so a norm scale (1 at init) differs by exactly
     * the decay lr * wd * 1, and a matrix not at all.
     */
    @Test
    void weightDecayReachesNormScalesOnlyWhenAskedTo(@TempDir Path run) throws Exception {
        ModelConfig c = Presets.byName("tiny");
        Decoder everything = new Decoder(c, 3), matrices = new Decoder(c, 3);
        trainer(everything, options(1, 0.1, true, "all"), List.of(), run.resolve("all")).run();
        trainer(matrices, options(1, 0.1, true, "matrices"), List.of(), run.resolve("matrices")).run();
        String norm = "model.norm.weight", matrix = "model.layers.0.self_attn.q_proj.weight";
        double lr = new LrSchedule(3e-3, 3e-4, 0, 1).at(0), wd = 0.1;
        for (int i = 0; i < c.dModel(); i++) {
            double a = everything.params().get(norm).get(i), m = matrices.params().get(norm).get(i);
            assertEquals(m - lr * wd * 1.0, a, 2e-7, norm + "[" + i + "]");
        }
        for (int i = 0; i < everything.params().get(matrix).size(); i++) {
            assertEquals(matrices.params().get(matrix).get(i), everything.params().get(matrix).get(i), 0.0, matrix + "[" + i + "]");
        }
    }
}
