package org.ttt4j.lm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Presets;

/** A validation set too small for one batch is used as it is, and none at all is said, never a silent NaN. */
class ValidationSetTest {
    private static TrainOptions options() {
        return TrainOptions.builder().steps(2).batch(4).context(32).accumulate(1).lr(3e-3).minLr(3e-4).warmup(1).weightDecay(0.1).clip(1.0).evalEvery(1).evalBatches(2).checkpointEvery(0).keepLast(2).logEvery(1).seed(7).build();
    }

    private static Trainer trainer(Decoder m, List<int[]> validation, Path run, ByteArrayOutputStream log) {
        return new Trainer(m, new TrainerTest.Windows(TrainerTest.pattern(5000), 4, 32), () -> validation, options(), run, "bytes",
                new PrintStream(log, true, StandardCharsets.UTF_8));
    }

    @Test
    void noHeldOutTextIsSaidAndNoNanIsLogged(@TempDir Path run) throws Exception {
        var log = new ByteArrayOutputStream();
        trainer(new Decoder(Presets.byName("tiny"), 3), List.of(), run, log).run();
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("validation: none"), log.toString(StandardCharsets.UTF_8));
        String metrics = Files.readString(run.resolve("metrics.jsonl"));
        assertFalse(metrics.contains("val_loss") || metrics.contains("NaN"), metrics);
    }

    @Test
    void aValidationBatchWithFewerRowsThanTheBatchIsScored(@TempDir Path run) throws Exception {
        Decoder m = new Decoder(Presets.byName("tiny"), 3);
        int[] rows = Arrays.copyOf(TrainerTest.pattern(400), 2 * 33); // 2 rows where a batch has 4
        int[] in = new int[2 * 32], target = new int[2 * 32];
        for (int r = 0; r < 2; r++) {
            System.arraycopy(rows, r * 33, in, r * 32, 32);
            System.arraycopy(rows, r * 33 + 1, target, r * 32, 32);
        }
        double expected;
        try (var off = GradMode.disabled()) {
            expected = m.loss(in, target, 2, 32).item();
        }
        var log = new ByteArrayOutputStream();
        Trainer t = trainer(m, List.<int[]>of(rows), run, log);
        assertEquals(expected, t.evaluate(), 1e-6);
        var result = t.run();
        assertTrue(Double.isFinite(result.lastValLoss()), "validation ran: " + result.lastValLoss());
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("validation: 1 batch(es), 2 rows of 32 tokens"), log.toString(StandardCharsets.UTF_8));
    }
}
