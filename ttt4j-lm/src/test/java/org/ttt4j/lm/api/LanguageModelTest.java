package org.ttt4j.lm.api;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.eval.Scorer;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.train.BatchSource;
import org.ttt4j.lm.train.CheckpointStore;
import org.ttt4j.lm.train.TrainOptions;
import org.ttt4j.lm.train.Trainer;

/** Opening models (the shipped demo, a run trained here), scoring and streaming generation through the API. */
class LanguageModelTest {
    static final String TEXT = "public static int max(int a, int b) {\n    return a > b ? a : b;\n}\n";

    @Test
    void demoModelOpensScoresAndStreams() throws IOException {
        LanguageModel lm = LanguageModel.demo();
        assertEquals("e2e", lm.method());
        assertEquals(8192, lm.config().vocabSize());
        int[] ids = lm.encode(TEXT);
        assertTrue(ids.length > 5 && ids.length < TEXT.length(), "a BPE: fewer tokens than characters, got " + ids.length);
        assertEquals(TEXT, lm.decode(ids));
        assertScoreIsTheScorers(lm, TEXT);
        // A model trained on Java predicts Java far better than chance (ln 8192 = 9.0 nats).
        assertTrue(lm.score(TEXT).mean() < 5, "mean loss " + lm.score(TEXT).mean());
        assertStreamedPiecesMakeTheText(lm, "public int size() {\n", new SamplingOptions(0.8, 40, 0.95, 1.1, 3, 24, List.of()));
        // A fresh session generates what the one-shot call does (both read the prompt in the same passes).
        var options = SamplingOptions.greedy(16);
        assertArrayEquals(lm.generate(TEXT, options, null).tokens(), lm.session().generate(TEXT, options, null).tokens());
    }

    @Test
    void trainedRunOpensFromItsRunCheckpointFolders(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("run");
        trainTiny(Presets.byName("tiny"), run);
        Path checkpoint = new CheckpointStore(run).latest().orElseThrow();
        for (Path p : List.of(run, checkpoint)) {
            LanguageModel lm = LanguageModel.open(p);
            assertEquals("full", lm.method());
            assertEquals("bytes", lm.tokenizer().name());
            assertEquals(checkpoint, lm.folder());
            assertScoreIsTheScorers(lm, TEXT);
            assertStreamedPiecesMakeTheText(lm, "int ", SamplingOptions.greedy(20));
        }
        var e = assertThrows(IOException.class, () -> LanguageModel.open(dir.resolve("nothing")));
        assertTrue(e.getMessage().contains("no checkpoint in " + dir.resolve("nothing")), e.getMessage());
    }

    @Test
    void methodNamesComeFromTheConfig() {
        var tok = org.ttt4j.lm.tokenizer.ByteTokenizer.instance();
        for (String m : List.of("full", "swa", "ttt_linear", "ttt_mlp")) {
            assertEquals(m, LanguageModel.of(new Decoder(Presets.byName("tiny").withMixers(m, 8), 1), tok).method());
        }
        assertEquals("hybrid", LanguageModel.of(new Decoder(Presets.byName("tiny").withMixers("swa:1,full:1", 8), 1), tok).method());
        assertEquals("e2e", LanguageModel.of(SessionStateTest.model("e2e"), tok).method());
    }

    static void assertScoreIsTheScorers(LanguageModel lm, String text) {
        Score s = lm.score(text);
        int[] ids = lm.encode(text);
        assertArrayEquals(ids, s.tokens());
        float[] expected = Scorer.tokenLosses(lm.decoder(), ids, LanguageModel.SCORE_CHUNK);
        assertArrayEquals(expected, s.losses());
        double sum = 0;
        for (float l : expected) sum += l;
        assertEquals(sum / expected.length, s.mean(), 1e-9);
        assertTrue(Double.isNaN(lm.score("").mean()));
    }

    static void assertStreamedPiecesMakeTheText(LanguageModel lm, String prompt, SamplingOptions options) {
        StringBuilder streamed = new StringBuilder();
        int[] calls = {0};
        var out = lm.generate(prompt, options, piece -> {
            calls[0]++;
            streamed.append(piece);
        });
        assertFalse(out.text().isEmpty(), "generated nothing: " + out.stopReason());
        assertTrue(calls[0] > 1, "streamed in one piece");
        assertEquals(out.text(), streamed.toString());
        assertEquals(out.text(), lm.generate(prompt, options, null).text(), "the same seed generates the same text");
    }

    /** Trains the config for 6 steps on a repeating byte pattern into {@code run}, as {@code ttt4j train} would. */
    static void trainTiny(ModelConfig c, Path run) throws IOException {
        int[] tokens = new int[3000];
        var rng = new SplittableRandom(5);
        for (int i = 0; i < tokens.length; i++) tokens[i] = rng.nextInt(10) == 0 ? rng.nextInt(256) : TEXT.charAt(i % TEXT.length());
        BatchSource data = new BatchSource() {
            long step;

            @Override
            public int[] next() {
                var r = new SplittableRandom(step++);
                int[] out = new int[4 * 33];
                for (int row = 0; row < 4; row++) System.arraycopy(tokens, r.nextInt(tokens.length - 34), out, row * 33, 33);
                return out;
            }

            @Override public Map<String, Object> state() { return Map.of("step", step); }
            @Override public void restore(Map<String, Object> s) { step = ((Number) s.get("step")).longValue(); }
        };
        var options = TrainOptions.builder().steps(6).batch(4).context(32).accumulate(1).lr(3e-3).minLr(3e-4).warmup(2).weightDecay(0.1).clip(1.0).evalEvery(0).evalBatches(0).checkpointEvery(3).keepLast(2).logEvery(1).seed(7).build();
        var result = new Trainer(new Decoder(c, 3), data, List::of, options, run, "bytes", new PrintStream(new ByteArrayOutputStream())).run();
        assertEquals(Trainer.Outcome.FINISHED, result.outcome());
        assertTrue(Files.isDirectory(run.resolve("checkpoints")));
    }
}
