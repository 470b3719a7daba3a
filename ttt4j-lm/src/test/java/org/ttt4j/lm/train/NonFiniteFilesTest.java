package org.ttt4j.lm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Presets;

/** Non-finite numbers never pass silently: not into a checkpoint, not out of one, not into a resume, not as a sampling option. */
class NonFiniteFilesTest {
    /** Overwrites element {@code index} of tensor {@code name} in a safetensors file with {@code value} (F32). */
    static void poke(Path file, String name, int index, float value) throws IOException {
        var header = SafeTensors.readHeader(file);
        long at = header.dataStart() + header.tensors().get(name).begin() + 4L * index;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, value), at);
        }
    }

    private static TrainOptions options(long steps) {
        return TrainOptions.builder().steps(steps).batch(4).context(32).accumulate(1).lr(3e-3).minLr(3e-4).warmup(1).weightDecay(0.1).clip(1.0).evalEvery(0).evalBatches(0).checkpointEvery(2).keepLast(3).logEvery(1).seed(7).build();
    }

    private static Trainer.Result train(Path run, long steps, ByteArrayOutputStream log) throws IOException {
        var data = new TrainerTest.Windows(TrainerTest.pattern(5000), 4, 32);
        return new Trainer(new Decoder(Presets.byName("tiny"), 3), data, List::of, options(steps), run, "bytes",
                new PrintStream(log, true, StandardCharsets.UTF_8)).run();
    }

    @Test
    void loadingNamesTheTensorAndTheFirstBadIndex(@TempDir Path run) throws Exception {
        train(run, 2, new ByteArrayOutputStream());
        Path ck = new CheckpointStore(run).latest().orElseThrow();
        String name = "model.layers.1.mlp.down_proj.weight";
        poke(ck.resolve("model.safetensors"), name, 77, Float.NaN);
        poke(ck.resolve("model.safetensors"), name, 90, Float.POSITIVE_INFINITY);
        var e = assertThrows(SafeTensors.FormatException.class, () -> CheckpointStore.load(run));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("NaN at flat index 77")
                && e.getMessage().contains("model.safetensors"), e.getMessage());
        poke(ck.resolve("model.safetensors"), name, 77, 0.5f);
        e = assertThrows(SafeTensors.FormatException.class, () -> CheckpointStore.load(run));
        assertTrue(e.getMessage().contains("Infinity at flat index 90"), e.getMessage());
        poke(ck.resolve("model.safetensors"), name, 90, 3e20f); // finite, but no weight is that large
        e = assertThrows(SafeTensors.FormatException.class, () -> CheckpointStore.load(run));
        assertTrue(e.getMessage().contains("at flat index 90") && e.getMessage().contains("plausibly"), e.getMessage());
        poke(ck.resolve("model.safetensors"), name, 90, -2.5f);
        CheckpointStore.load(run); // plausible again: loads
    }

    @Test
    void aResumePassesOverADamagedNewestCheckpoint(@TempDir Path tmp) throws Exception {
        Path whole = tmp.resolve("whole"), damaged = tmp.resolve("damaged");
        train(whole, 6, new ByteArrayOutputStream());
        train(damaged, 4, new ByteArrayOutputStream()); // checkpoints at 2 and 4
        Path newest = damaged.resolve("checkpoints").resolve("step-00000004");
        poke(newest.resolve("optimizer.safetensors"), "model.norm.weight.exp_avg_sq", 3, Float.NaN);
        var log = new ByteArrayOutputStream();
        var result = train(damaged, 6, log);
        String out = log.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("checkpoint " + newest + " is damaged") && out.contains("exp_avg_sq"), out);
        assertTrue(out.contains("resuming from " + damaged.resolve("checkpoints").resolve("step-00000002") + " at step 2"), out);
        assertEquals(Trainer.Outcome.FINISHED, result.outcome());
        // Steps 3-6 retrained from step 2: the same weights as the run that was never damaged.
        var a = CheckpointStore.load(whole).model();
        var b = CheckpointStore.load(damaged).model();
        for (var e : a.entrySet()) {
            for (int i = 0; i < e.getValue().size(); i++) assertEquals(e.getValue().get(i), b.get(e.getKey()).get(i), 0.0, e.getKey());
        }
    }

    @Test
    void nonFiniteWeightsAreNeverWritten(@TempDir Path run) throws Exception {
        Decoder m = new Decoder(Presets.byName("tiny"), 3);
        m.params().get("model.norm.weight").set(5, Double.NaN);
        var state = new TrainerState(1, 1, java.util.Map.of(), options(1), m.params().count(), "bytes", 0, 1.0);
        var e = assertThrows(SafeTensors.FormatException.class,
                () -> new CheckpointStore(run).save(m.config(), m.params().all(), null, state, 2));
        assertTrue(e.getMessage().contains("model.norm.weight") && e.getMessage().contains("NaN at flat index 5"), e.getMessage());
        assertFalse(Files.exists(run.resolve("checkpoints").resolve("step-00000001")), "no checkpoint folder");
    }

    @Test
    void samplingOptionsRefuseNonFiniteNumbers() {
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY}) {
            var e = assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(bad, 0, 1, 1, 0, 4, List.of()));
            assertTrue(e.getMessage().contains("temperature must be a finite number"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(1, 0, 1, bad, 0, 4, List.of()));
            assertTrue(e.getMessage().contains("repetition penalty"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(1, 0, bad, 1, 0, 4, List.of()));
            assertTrue(e.getMessage().contains("top-p"), e.getMessage());
        }
    }
}
