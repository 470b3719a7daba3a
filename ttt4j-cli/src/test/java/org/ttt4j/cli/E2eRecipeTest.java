package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.train.CheckpointStore;

/** {@code train --e2e} takes the official TTT-E2E recipe's values unless told otherwise, and writes them into the run. */
class E2eRecipeTest {
    private static int train(Path text, StringWriter err, String... args) {
        List<String> all = new ArrayList<>(List.of("train", "--tokenizer", "bytes", "--corpus", text.toString(), "--batch", "2",
                "--eval-batches", "1"));
        all.addAll(List.of(args));
        return Cli.run(err, all.toArray(String[]::new));
    }

    @Test
    void defaultsAreTheOfficialOnesAndFineTuningKeepsTheInnerLrAtOne(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, "the quick brown fox jumps over the lazy dog; ".repeat(400));
        var err = new StringWriter();
        Path run = tmp.resolve("e2e");
        assertEquals(0, train(text, err, "--preset", "tiny", "--mixers", "swa", "--window", "16", "--context", "16", "--e2e", "--steps", "2",
                "--out", run.toString()), err.toString());
        var loaded = CheckpointStore.load(run);
        ModelConfig c = loaded.config();
        assertEquals(2, (int) E2eSettings.of(c).chunk(), "chunk = window / 8, written into the config");
        assertEquals(E2eSettings.ROPE_THETA, c.ropeTheta());
        var o = loaded.state().options();
        assertEquals(0.1, o.innerLrWarmupFraction());
        assertTrue(o.masksBoundaryTargets());
        assertTrue(o.decaysEveryParameter());
        // The width is matched exactly by default; the official rounding is a flag.
        ModelConfig base = Presets.byName("tiny").withMixers("swa", 16).withNorms(true, true);
        assertEquals(E2eSettings.matchedWidth(base, 1, true), c.dFf());

        Path tuned = tmp.resolve("tuned");
        assertEquals(0, train(text, err, "--model", run.toString(), "--context", "32", "--steps", "1", "--out", tuned.toString()), err.toString());
        assertEquals(0.0, CheckpointStore.load(tuned).state().options().innerLrWarmupFraction(), "fine-tuning: the multiplier is 1 from step 0");

        Path pinned = tmp.resolve("pinned");
        assertEquals(0, train(text, err, "--preset", "tiny", "--mixers", "swa", "--window", "16", "--context", "16", "--e2e", "--steps", "1",
                "--e2e-chunk", "16", "--rope-theta", "10000", "--e2e-width-multiple", "128", "--mask-boundary-targets", "false",
                "--weight-decay-on", "matrices", "--e2e-inner-lr-warmup", "0.5", "--out", pinned.toString()), err.toString());
        var p = CheckpointStore.load(pinned);
        assertEquals(16, (int) E2eSettings.of(p.config()).chunk());
        assertEquals(10000, p.config().ropeTheta());
        assertEquals(128, p.config().dFf(), "the matched width rounded up to a multiple of 128");
        assertEquals(0.5, p.state().options().innerLrWarmupFraction());
        assertTrue(!p.state().options().masksBoundaryTargets() && !p.state().options().decaysEveryParameter());
    }

    @Test
    void recipeOptionsRefuseWhatTheyCannotApplyTo(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, "abc ".repeat(300));
        var err = new StringWriter();
        assertEquals(1, train(text, err, "--preset", "tiny", "--steps", "1", "--e2e-inner-lr-warmup", "0", "--out", tmp.resolve("a").toString()));
        assertTrue(err.toString().contains("--e2e-inner-lr-warmup needs a model with an inner learning rate"), err.toString());
        err = new StringWriter();
        assertEquals(1, train(text, err, "--preset", "tiny", "--steps", "1", "--weight-decay-on", "norms", "--out", tmp.resolve("b").toString()));
        assertTrue(err.toString().contains("weight_decay_on") && err.toString().contains("all or matrices"), err.toString());
        err = new StringWriter();
        assertEquals(1, train(text, err, "--preset", "tiny", "--steps", "1", "--e2e-width-multiple", "128", "--out", tmp.resolve("c").toString()));
        assertTrue(err.toString().contains("--e2e-* options need --e2e"), err.toString());
    }
}
