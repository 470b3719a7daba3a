package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.ttt4j.lm.model.MatchedSize;
import org.ttt4j.lm.model.Presets;

/** The `small` plan: every method's train command, and the TTT layers' widths that match full attention's size. */
class ExperimentPresetTest {
    @Test
    void smallPlanMatchesParameterCounts() {
        var p = ExperimentPreset.byName("small");
        long target = MatchedSize.parameters(ExperimentCommand.baseline(p));
        for (String m : List.of("ttt_linear", "ttt_mlp")) {
            List<String> flags = ExperimentCommand.trainFlags(p, m, Path.of("runs", m));
            int dFf = Integer.parseInt(flags.get(flags.indexOf("--d-ff") + 1));
            long n = MatchedSize.parameters(Presets.byName("small").withMixers(m, 64).withFeedForward(dFf));
            assertTrue(Math.abs(n - target) < 0.001 * target, m + ": " + n + " vs " + target);
            assertTrue(dFf < Presets.byName("small").dFf(), m + " holds more than attention: its MLP must shrink");
        }
        List<String> full = ExperimentCommand.trainFlags(p, "full", Path.of("runs", "full"));
        for (String m : ExperimentPreset.METHODS) {
            List<String> flags = ExperimentCommand.trainFlags(p, m, Path.of("runs", m));
            // The same data for every method: corpus, tokenizer, context, batch, steps, lr and seed.
            for (String same : List.of("--corpus", "--tokenizer", "--context", "--batch", "--steps", "--seed", "--lr")) {
                assertEquals(value(full, same), value(flags, same), m + " " + same);
            }
        }
        assertEquals("0", value(ExperimentCommand.trainFlags(p, "naive_ttt", Path.of("x")), "--e2e-inner-lr"));
        assertEquals("swa:5,full:1", value(ExperimentCommand.trainFlags(p, "hybrid", Path.of("x")), "--mixers"));
    }

    /**
     * The methods go by the config's names on the command line, but what an experiment writes keeps
     * the published spellings: the run folders and labels of docs/results/experiment-small/plan.json.
     */
    @Test
    void runFoldersAndLabelsKeepThePublishedNames() throws Exception {
        var plan = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Path.of("..", "docs", "results", "experiment-small", "plan.json").toFile());
        List<String> published = new java.util.ArrayList<>();
        plan.get("train_commands").fieldNames().forEachRemaining(published::add);
        assertEquals(published, ExperimentPreset.METHODS.stream().map(ExperimentPreset::label).toList());
        var p = ExperimentPreset.byName("small");
        for (String m : ExperimentPreset.METHODS) {
            String label = ExperimentPreset.label(m), command = plan.get("train_commands").get(label).asText();
            Path run = Path.of("runs", "experiment-small", "runs", label);
            assertTrue(command.contains("--out " + run + " "), command);
            assertEquals(run.toString(), value(ExperimentCommand.trainFlags(p, m, run), "--out"));
        }
        assertEquals(List.of("full", "swa", "hybrid", "ttt_linear", "ttt_mlp", "e2e", "naive_ttt"), ExperimentPreset.METHODS);
    }

    private static String value(List<String> flags, String name) {
        int i = flags.indexOf(name);
        assertTrue(i >= 0, name + " missing from " + flags);
        return flags.get(i + 1);
    }

    @Test
    void shellQuotingKeepsSpecsWhole() {
        assertEquals("--corpus 'default;include=a/**' --steps 3", ExperimentCommand.shell(List.of("--corpus", "default;include=a/**", "--steps", "3")));
        assertEquals("'it'\\''s'", ExperimentCommand.shell(List.of("it's")));
    }
}
