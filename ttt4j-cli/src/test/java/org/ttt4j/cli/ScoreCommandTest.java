package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.eval.Scorer;

/**
 * {@code ttt4j score} prints, for full attention, TTT-Linear and TTT-E2E runs, one line per
 * predicted token whose nll is the library's {@link Scorer#tokenLosses} for that token, and a
 * summary line with their mean.
 */
class ScoreCommandTest {
    static final String TEXT = "abc def ghi jkl\n".repeat(300);
    static final ObjectMapper JSON = new ObjectMapper();

    static Path train(Path dir, String name, String... extra) throws Exception {
        Path corpus = dir.resolve("t.txt"), run = dir.resolve(name);
        if (!Files.exists(corpus)) Files.writeString(corpus, TEXT);
        List<String> args = new ArrayList<>(List.of("train", "--preset", "tiny", "--tokenizer", "bytes", "--corpus", corpus.toString(),
                "--steps", "2", "--batch", "2", "--context", "16", "--eval-batches", "0", "--checkpoint-every", "2", "--out", run.toString()));
        args.addAll(List.of(extra));
        var err = new StringWriter();
        assertEquals(0, Cli.run(err, args.toArray(String[]::new)), err::toString);
        return run;
    }

    @Test
    void everyLineIsTheScorersLossForFullTttAndE2e(@TempDir Path tmp) throws Exception {
        String text = "abc def ghi jkl abc def ghi jkl abc def";
        for (String[] kind : List.of(new String[] {"full", "--mixers", "full"}, new String[] {"ttt", "--mixers", "ttt_linear"},
                new String[] {"e2e", "--mixers", "swa", "--window", "16", "--e2e"})) {
            Path run = train(tmp, kind[0], java.util.Arrays.copyOfRange(kind, 1, kind.length));
            var loaded = ModelFolders.load(run);
            int[] ids = loaded.tokenizer().encode(text);
            float[] expected = Scorer.tokenLosses(loaded.model(), ids, 256);
            assertEquals(ids.length - 1, expected.length);

            var p = Cli.printed("score", "--model", run.toString(), "--text", text);
            assertEquals(0, p.status(), p.err());
            String[] lines = p.out().strip().split("\n");
            assertEquals(expected.length + 1, lines.length, kind[0] + ": " + p.out());
            double sum = 0;
            for (int i = 0; i < expected.length; i++) {
                JsonNode row = JSON.readTree(lines[i]);
                assertEquals(i + 1, row.get("position").asInt(), lines[i]);
                assertEquals(ids[i + 1], row.get("token").asInt(), lines[i]);
                assertEquals(expected[i], row.get("nll").floatValue(), 0f, kind[0] + " position " + (i + 1));
                assertTrue(row.get("nll").asDouble() > 0, lines[i]);
                sum += expected[i];
            }
            JsonNode summary = JSON.readTree(lines[lines.length - 1]);
            assertEquals(sum / expected.length, summary.get("mean_nll").asDouble(), 1e-6, kind[0]);
            assertEquals(expected.length, summary.get("tokens").asInt());
            assertTrue(summary.get("model").asText().startsWith(run.toString()), summary.toString());

            // The same ids given as --ids, cut by --max-tokens: the first lines again.
            StringBuilder csv = new StringBuilder();
            for (int id : ids) csv.append(csv.isEmpty() ? "" : ",").append(id);
            var q = Cli.printed("score", "--model", run.toString(), "--ids", csv.toString(), "--max-tokens", "20");
            assertEquals(0, q.status(), q.err());
            String[] cut = q.out().strip().split("\n");
            assertEquals(20, cut.length);
            float[] prefix = Scorer.tokenLosses(loaded.model(), java.util.Arrays.copyOf(ids, 20), 256);
            for (int i = 0; i < 19; i++) assertEquals(prefix[i], JSON.readTree(cut[i]).get("nll").floatValue(), 0f, kind[0] + " --ids " + i);
        }
    }

    @Test
    void badInputIsRefusedByName(@TempDir Path tmp) throws Exception {
        Path run = train(tmp, "full", "--mixers", "full");
        var p = Cli.printed("score", "--model", run.toString(), "--ids", "1,99999");
        assertEquals(1, p.status());
        assertTrue(p.err().contains("id 99999 at position 1"), p.err());
        p = Cli.printed("score", "--model", run.toString(), "--ids", "1");
        assertEquals(1, p.status());
        assertTrue(p.err().contains("nothing to score"), p.err());
        p = Cli.printed("score", "--model", run.toString(), "--ids", "1,2", "--text", "ab");
        assertEquals(2, p.status(), p.err());
    }
}
