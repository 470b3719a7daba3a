package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.data.Corpus;

/** retrieval data writes a corpus that trains; retrieval eval writes its results, report and plot. */
class RetrievalCommandTest {
    @Test
    void dataTrainsAndEvalReports(@TempDir Path tmp) throws Exception {
        var err = new StringWriter();
        Path zip = tmp.resolve("kv.zip");
        assertEquals(0, Cli.run(err, "retrieval", "data", "--out", zip.toString(), "--docs", "50", "--bytes", "120"), err.toString());
        try (var source = Corpus.open(zip.toString())) {
            assertEquals(50, source.entries().size());
        }
        assertEquals(0, Cli.run(err, "train", "--preset", "tiny", "--corpus", zip.toString(), "--tokenizer", "bytes", "--context", "64",
                "--steps", "2", "--batch", "2", "--eval-batches", "1", "--out", tmp.resolve("run").toString()), err.toString());
        Path out = tmp.resolve("eval");
        assertEquals(0, Cli.run(err, "retrieval", "eval", "--model", tmp.resolve("run").toString(), "--contexts", "64", "--probes", "2",
                "--qttt-steps", "2", "--qttt-span", "16", "--sweep-lrs", "0,1e-2", "--sweep-context", "64", "--out", out.toString()),
                err.toString());
        assertEquals(2 * 3 + 2 * 2, Files.readAllLines(out.resolve("results.jsonl")).size());
        String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains("| 64 |") && report.contains("learning-rate sweep"), report);
        assertTrue(Files.size(out.resolve("accuracy.png")) > 1000);
        var bad = new StringWriter();
        assertEquals(1, Cli.run(bad, "retrieval", "data", "--out", zip.toString(), "--docs", "0"));
        assertTrue(bad.toString().contains("--docs must be"), bad.toString());
    }
}
