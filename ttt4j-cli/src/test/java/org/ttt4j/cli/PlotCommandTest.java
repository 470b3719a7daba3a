package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.eval.LossByPosition;

/** {@code plot --positions}: loss by token index of several evaluations in one figure. */
class PlotCommandTest {
    private static Path results(Path dir, String... labels) throws Exception {
        Files.createDirectories(dir);
        var rows = new java.util.ArrayList<LossByPosition>();
        for (String l : labels) {
            rows.add(new LossByPosition(l, 2, List.of(new LossByPosition.Bucket(1, 2, 2, 3.0), new LossByPosition.Bucket(2, 4, 4, 2.5)), 2.6,
                    null));
        }
        Path f = dir.resolve("loss_by_position.json");
        new com.fasterxml.jackson.databind.ObjectMapper().writeValue(f.toFile(), java.util.Map.of("results", rows));
        return f;
    }

    @Test
    void drawsCurvesFromSeveralEvaluationsAndNamesWhatIsWrong(@TempDir Path tmp) throws Exception {
        Path a = results(tmp.resolve("a"), "ttt-e2e", "swa"), b = results(tmp.resolve("b"), "ttt-e2e");
        Path png = tmp.resolve("p.png");
        var err = new StringWriter();
        assertEquals(0, Cli.run(err, "plot", "--positions", "before=" + a, "--positions", "after=" + b, "--only", "before: ttt-e2e,after: ttt-e2e",
                "--out", png.toString()), err.toString());
        assertTrue(Files.size(png) > 1000, "a PNG was written");
        err = new StringWriter();
        assertEquals(1, Cli.run(err, "plot", "--positions", tmp.resolve("missing.json").toString(), "--out", png.toString()));
        assertTrue(err.toString().contains("no such file") && err.toString().contains("missing.json"), err.toString());
        err = new StringWriter();
        assertEquals(1, Cli.run(err, "plot", "--positions", a.toString(), "--only", "nothing", "--out", png.toString()));
        assertTrue(err.toString().contains("no curve has any of these labels"), err.toString());
        err = new StringWriter();
        assertEquals(1, Cli.run(err, "plot", "--out", png.toString()));
        assertTrue(err.toString().contains("one of the two"), err.toString());
    }
}
