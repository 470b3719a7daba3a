package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code experiment smoke} (every method trained, evaluated and reported, then resumed), and on its
 * runs: {@code eval --task ...}, {@code export} and {@code demo}. The corpus is this repository's
 * own sources, so the test needs nothing but the checkout.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExperimentCommandTest {
    static final Path CORPUS = Path.of("..", "ttt4j-lm", "src", "main", "java").toAbsolutePath().normalize();
    static final ObjectMapper JSON = new ObjectMapper();

    Path tmp, exp, report;

    @BeforeAll
    void runSmoke(@TempDir Path dir) {
        tmp = dir;
        exp = tmp.resolve("exp");
        report = exp.resolve("report");
        var err = new StringWriter();
        assertEquals(0, Cli.run(err, "experiment", "smoke", "--corpus", CORPUS.toString(), "--out", exp.toString()), err.toString());
    }

    @Test
    void everyMethodIsTrainedAtTheSameSizeAndReported() throws Exception {
        long full = Checkpoints.load(exp.resolve("runs/full")).model().params().count();
        for (String m : ExperimentPreset.METHODS) {
            Path run = exp.resolve("runs").resolve(ExperimentPreset.label(m));
            assertEquals(30, ExperimentCommand.finishedStep(run), m);
            long n = Checkpoints.load(run).model().params().count();
            assertTrue(Math.abs(n - full) < 0.02 * full, m + ": " + n + " parameters vs full attention's " + full);
        }
        String md = Files.readString(report.resolve("report.md"));
        for (String section : List.of("## Loss by token position", "## Loss delta vs full", "## Needle in a haystack", "## Latency and memory")) {
            assertTrue(md.contains(section), section);
        }
        for (String m : ExperimentPreset.METHODS) assertTrue(md.contains("| " + ExperimentPreset.label(m) + " |"), m);
        var loss = JSON.readTree(report.resolve("loss_by_position.json").toFile()).get("results");
        assertEquals(7, loss.size());
        var delta = JSON.readTree(report.resolve("loss_delta.json").toFile()).get("results");
        assertEquals(6, delta.size()); // every model but the reference
        double fullLoss = loss.get(0).get("mean_loss").asDouble();
        assertEquals(loss.get(5).get("mean_loss").asDouble() - fullLoss, delta.get(4).get("mean_delta").asDouble(), 1e-9);
        var niah = JSON.readTree(report.resolve("niah.json").toFile()).get("results");
        assertEquals(7 * 3 * 2 * 3, niah.size()); // models x tasks x contexts x depths
        var latency = JSON.readTree(report.resolve("latency.json").toFile()).get("results");
        assertEquals(7, latency.size());
        assertEquals(2, latency.get("full").size());
        // State: full attention's grows with the context, the sliding window's and TTT's do not.
        assertTrue(latency.get("full").get(1).get("state_mib").asDouble() > 4 * latency.get("full").get(0).get("state_mib").asDouble());
        for (String flat : List.of("swa", "ttt-linear", "ttt-mlp", "ttt-e2e")) {
            assertEquals(latency.get(flat).get(0).get("state_mib").asDouble(), latency.get(flat).get(1).get("state_mib").asDouble(), 1e-12, flat);
        }
        for (String png : List.of("loss_by_position.png", "loss_delta_by_context.png", "niah_ttt-e2e.png", "latency_state.png")) {
            assertTrue(Files.size(report.resolve(png)) > 1000, png);
        }
    }

    @Test
    void aRerunResumesAndRepeatsTheSameResults() throws Exception {
        Path niah = report.resolve("niah.json");
        byte[] before = Files.readAllBytes(niah);
        var ckpt = exp.resolve("runs/ttt-e2e/checkpoints");
        long stamp = Files.getLastModifiedTime(ckpt).toMillis();
        byte[] loss = Files.readAllBytes(report.resolve("loss_by_position.json"));
        Files.delete(niah);
        var err = new StringWriter();
        assertEquals(0, Cli.run(err, "experiment", "smoke", "--corpus", CORPUS.toString(), "--out", exp.toString()), err.toString());
        assertEquals(stamp, Files.getLastModifiedTime(ckpt).toMillis(), "finished runs are not trained again");
        assertArrayEquals(loss, Files.readAllBytes(report.resolve("loss_by_position.json")), "finished tasks are read back, not re-run");
        assertArrayEquals(before, Files.readAllBytes(niah), "the needle task is deterministic");
        // --tasks runs only the tasks named: the report then has only their sections.
        assertEquals(0, Cli.run(err, "experiment", "smoke", "--corpus", CORPUS.toString(), "--out", exp.toString(), "--report",
                tmp.resolve("losses-only").toString(), "--task", "loss-delta"), err.toString());
        String md = Files.readString(tmp.resolve("losses-only/report.md"));
        assertTrue(md.contains("## Loss delta vs full") && md.contains("## Loss by token position") && !md.contains("## Needle"), md);
    }

    @Test
    void evalRunsEachTaskOnAnyMethod() throws Exception {
        Path out = tmp.resolve("eval");
        var err = new StringWriter();
        assertEquals(0, Cli.run(err, "eval", "--task", "all", "--model", exp.resolve("runs/full").toString(), "--model",
                exp.resolve("runs/ttt-linear").toString(), "--model", exp.resolve("runs/ttt-e2e").toString(), "--corpus", CORPUS.toString(),
                "--docs", "1", "--min-tokens", "256", "--doc-tokens", "256", "--contexts", "512", "--depths", "0.5", "--samples", "1",
                "--niah-tasks", "s-niah-1", "--decode", "4", "--out", out.toString()), err.toString());
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("Loss delta vs full") && md.contains("TTT-E2E (swa-16") && md.contains("mixers ttt_linear"), md);
        assertEquals(3, JSON.readTree(out.resolve("niah.json").toFile()).get("results").size());
        var bad = new StringWriter();
        assertEquals(1, Cli.run(bad, "eval", "--task", "perplexity", "--model", exp.resolve("runs/full").toString()));
        assertTrue(bad.toString().contains("unknown task \"perplexity\""), bad.toString());
        var noRef = new StringWriter();
        assertEquals(1, Cli.run(noRef, "eval", "--task", "loss-delta", "--reference", "nobody", "--model", exp.resolve("runs/full").toString(),
                "--corpus", CORPUS.toString(), "--docs", "1", "--min-tokens", "64", "--doc-tokens", "64", "--out", tmp.resolve("e2").toString()));
        assertTrue(noRef.toString().contains("no model labelled \"nobody\""), noRef.toString());
        var badTask = new StringWriter();
        assertEquals(1, Cli.run(badTask, "experiment", "smoke", "--task", "perplexity", "--out", exp.toString()));
        assertTrue(badTask.toString().contains("unknown task \"perplexity\""), badTask.toString());
        var badPreset = new StringWriter();
        assertEquals(1, Cli.run(badPreset, "experiment", "huge"));
        assertTrue(badPreset.toString().contains("unknown experiment preset"), badPreset.toString());
    }

    @Test
    void exportedModelsLoadAndTheDemoReadsWithAndWithoutTtt() throws Exception {
        Path model = tmp.resolve("model");
        var err = new StringWriter();
        assertEquals(0, Cli.run(err, "export", "--model", exp.resolve("runs/ttt-e2e").toString(), "--out", model.toString(), "--half"), err.toString());
        var original = Checkpoints.load(exp.resolve("runs/ttt-e2e"));
        var exported = Checkpoints.load(model);
        assertEquals(original.checkpoint().config(), exported.checkpoint().config());
        assertEquals(original.tokenizer().name(), exported.tokenizer().name());
        for (var e : original.checkpoint().model().entrySet()) {
            float[] a = e.getValue().toFloatArray(), b = exported.checkpoint().model().get(e.getKey()).toFloatArray();
            for (int i = 0; i < a.length; i++) assertEquals(Float.float16ToFloat(Float.floatToFloat16(a[i])), b[i], 0f, e.getKey());
        }
        var again = new StringWriter();
        assertEquals(1, Cli.run(again, "export", "--model", exp.resolve("runs/ttt-e2e").toString(), "--out", model.toString()));
        assertTrue(again.toString().contains("not empty"), again.toString());

        Path doc = CORPUS.resolve("org/ttt4j/lm/methods/e2e/E2eLoop.java");
        assertEquals(0, Cli.run(err, "demo", doc.toString(), "--model", model.toString(), "--tokens", "300", "--generate", "4"), err.toString());
        // The shipped model, on the same document.
        assertEquals(0, Cli.run(err, "demo", doc.toString(), "--tokens", "200", "--generate", "2"), err.toString());
        var notE2e = new StringWriter();
        assertEquals(1, Cli.run(notE2e, "demo", doc.toString(), "--model", exp.resolve("runs/full").toString()));
        assertTrue(notE2e.toString().contains("needs a TTT-E2E model"), notE2e.toString());
    }
}
