package org.ttt4j.examples.quickstart;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.api.Score;
import org.ttt4j.lm.api.Session;
import org.ttt4j.lm.infer.SamplingOptions;

/**
 * A tour of ttt4j's Java API on the shipped demo model: tokenize, score, generate with streaming,
 * then a session that reads a text, is saved, loaded and forked. Prints each step; exits with status
 * 1 when a check fails (for example when the loaded session does not continue as the original).
 */
public final class Main {
    private Main() {}

    /** A small class for the model to read: it was trained on Java source. */
    private static final String SOURCE = """
            /** A counter of words, most frequent first. */
            public final class WordCount {
                private final Map<String, Integer> counts = new HashMap<>();

                public void add(String text) {
                    for (String word : text.split("\\\\s+")) {
                        if (word.isEmpty()) continue;
                        counts.merge(word.toLowerCase(Locale.ROOT), 1, Integer::sum);
                    }
                }

                public List<Map.Entry<String, Integer>> top(int n) {
                    return counts.entrySet().stream()
                            .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                            .limit(n)
                            .toList();
                }
            """;

    private static int failures;

    /**
     * Runs the tour, printing each step.
     *
     * @param args not used
     * @throws Exception when the demo model cannot be opened or a state file cannot be written
     */
    public static void main(String[] args) throws Exception {
        LanguageModel lm = LanguageModel.demo();
        System.out.println("opened " + lm);
        System.out.println("method: " + lm.method() + ", " + lm.config().layers() + " blocks of width " + lm.config().dModel()
                + ", vocabulary " + lm.config().vocabSize());

        String snippet = "counts.merge(word, 1, Integer::sum);";
        int[] ids = lm.encode(snippet);
        System.out.println("tokens of \"" + snippet + "\": " + Arrays.toString(ids));
        check(lm.decode(ids).equals(snippet), "decode(encode(text)) gives the text back");

        Score score = lm.score(SOURCE);
        System.out.printf("score: %d tokens, mean loss %.3f nats/token (perplexity %.1f)%n", score.tokens().length, score.mean(), score.perplexity());
        check(score.losses().length == score.tokens().length - 1 && Double.isFinite(score.mean()), "one finite loss per token after the first");

        System.out.print("generate: ");
        StringBuilder streamed = new StringBuilder();
        var out = lm.generate("/** Returns the larger of two values. */\npublic static int max(", new SamplingOptions(0.7, 40, 0.95, 1.1, 7, 40, List.of()), piece -> {
            System.out.print(piece);
            streamed.append(piece);
        });
        System.out.println("\n[" + out.tokens().length + " tokens, " + out.stopReason() + "]");
        check(streamed.toString().equals(out.text()), "the streamed pieces concatenate to the returned text");

        Session session = lm.session().feed(SOURCE);
        System.out.println("session: read " + session.position() + " tokens, state of " + session.stateFloats() + " floats");
        Path state = Files.createTempFile("quickstart-", ".safetensors");
        try {
            session.save(state);
            System.out.println("saved the session to " + state + " (" + Files.size(state) + " bytes)");
            Session loaded = lm.loadSession(state);
            Session fork = session.fork();
            check(loaded.position() == session.position() && fork.position() == session.position(), "the loaded session and the fork stand where the original does");

            var sampling = new SamplingOptions(0.7, 40, 0.95, 1.1, 11, 40, List.of()); // seeded: the same tokens each time
            String prompt = "\n    /** How often the word was added. */\n    public int count(String word) {\n        return ";
            String original = session.generate(prompt, sampling, null).text();
            System.out.println("original continues: " + (prompt + original).replace("\n", "\\n"));
            String fromFile = loaded.generate(prompt, sampling, null).text();
            String fromFork = fork.generate(prompt, sampling, null).text();
            check(fromFile.equals(original), "the loaded session continues exactly as the original");
            check(fromFork.equals(original), "the fork continues exactly as the original");
            check(session.position() == fork.position(), "the sessions read the same number of tokens");
        } finally {
            Files.deleteIfExists(state);
        }

        if (failures > 0) {
            System.out.println(failures + " check(s) failed");
            System.exit(1);
        }
        System.out.println("all checks passed");
    }

    private static void check(boolean ok, String what) {
        System.out.println((ok ? "  ok: " : "  FAILED: ") + what);
        if (!ok) failures++;
    }
}
