package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.methods.e2e.E2eSettings;

/**
 * {@code experiment warm-start --size smoke}: every stage trains or converts, the converted
 * TTT-E2E run starts from the pretrained weights (its first validation loss is far below the
 * from-scratch run's), the report has every arm with finite losses and the qTTT probe, and a
 * re-run resumes without training again.
 */
class WarmStartTest {
    @Test
    void everyArmTrainsIsReportedAndAReRunResumes(@TempDir Path dir) throws Exception {
        Path root = dir.resolve("ws");
        var first = Cli.printed("experiment", "warm-start", "--size", "smoke", "--out", root.toString());
        assertEquals(0, first.status(), first.err());
        for (String arm : WarmStart.ARMS) assertTrue(ExperimentCommand.finishedStep(root.resolve("runs").resolve(arm)) > 0, arm);
        var e2e = ModelFolders.load(root.resolve("runs/e2e-converted"));
        assertNotNull(E2eSettings.of(e2e.model().config()), "the converted run is TTT-E2E");
        String report = Files.readString(root.resolve("report/report.md"));
        for (String arm : WarmStart.ARMS) assertTrue(report.contains("| " + arm + " |"), arm + " in the report");
        assertTrue(report.contains("TTT-E2E warm-started against from scratch"), report);
        assertTrue(report.contains("qTTT on held-out text"), report);
        var json = new ObjectMapper();
        var losses = json.readTree(root.resolve("report/loss_by_position.json").toFile()).get("results");
        assertEquals(5, losses.size());
        for (var r : losses) assertTrue(Double.isFinite(r.get("mean_loss").asDouble()), r.toString());
        var timings = json.readTree(root.resolve("timings.json").toFile());
        for (String stage : new String[] {"pretrained", "e2e-model", "e2e-converted", "e2e-scratch"}) assertTrue(timings.has(stage), stage);
        // The warm start begins at the pretrained model: its first validation loss is below the scratch run's first.
        Double warm = firstValidation(root.resolve("runs/e2e-converted")), cold = firstValidation(root.resolve("runs/e2e-scratch"));
        assertTrue(warm < cold, "first validation loss: warm " + warm + ", scratch " + cold);

        var again = Cli.printed("experiment", "warm-start", "--size", "smoke", "--out", root.toString());
        assertEquals(0, again.status(), again.err());
        assertEquals(7, again.out().lines().filter(l -> l.startsWith("[warm-start]") && l.endsWith("done, skipped")).count(), again.out());
        var refused = Cli.printed("experiment", "warm-start", "--methods", "full", "--out", dir.resolve("x").toString());
        assertEquals(1, refused.status());
        assertTrue(refused.err().contains("warm-start takes"), refused.err());
    }

    private static Double firstValidation(Path run) throws Exception {
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            var n = new ObjectMapper().readTree(line);
            if (n.has("val_loss")) return n.get("val_loss").asDouble();
        }
        throw new AssertionError("no validation loss in " + run);
    }
}
