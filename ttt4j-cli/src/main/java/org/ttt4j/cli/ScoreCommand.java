package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.ttt4j.lm.eval.Scorer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j score}: the negative log-likelihood of every token of a text given the tokens
 * before it, one JSON line per predicted token and a summary line. Every model kind scores its
 * own way ({@link Scorer#tokenLosses}): TTT-E2E models learn with their inner loop while they read.
 */
@Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Print the negative log-likelihood (nats) of every token given the tokens before it, as JSON lines.",
                "One line {\"position\": i, \"token\": id, \"nll\": x} per predicted token (position 0 is not predicted),",
                "then a summary line with the mean nll, the token count and the model."})
public final class ScoreCommand extends CommandIo implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    WeightsOption weights = new WeightsOption();

    /** Tokens per scoring pass (the KV caches carry the rest), as the library's own scoring. */
    static final int CHUNK = 256;

    static final ObjectMapper LINE = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, false);

    @Option(names = "--model", paramLabel = "MODEL", required = true, description = "a model folder, a run folder (its latest checkpoint),"
            + " a checkpoint folder, or demo: the shipped TTT-E2E demo model")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--file", required = true, description = "score this UTF-8 text file (default: none; one of --file, --text, --ids)") Path file;
        @Option(names = "--text", required = true, description = "score this text (default: none; one of --file, --text, --ids)") String text;
        @Option(names = "--ids", required = true, split = ",", paramLabel = "ID", description = "score these token ids, e.g. 1,2,3"
                + " (default: none; one of --file, --text, --ids)") int[] ids;
    }

    @Option(names = "--max-tokens", description = "score only the first N tokens (default: all)") Integer maxTokens;

    @Override
    public Integer call() throws Exception {
        if (maxTokens != null && maxTokens < 2) throw new IllegalArgumentException("--max-tokens must be >= 2 (one token predicts the next), got " + maxTokens);
        var loaded = Checkpoints.load(model, weights);
        int[] tokens;
        if (input.ids != null) {
            tokens = input.ids;
            int vocab = loaded.model().config().vocabSize();
            for (int i = 0; i < tokens.length; i++) {
                if (tokens[i] < 0 || tokens[i] >= vocab) {
                    throw new IllegalArgumentException("--ids: id " + tokens[i] + " at position " + i + " is outside the model's vocabulary 0.." + (vocab - 1));
                }
            }
        } else {
            String text = input.file != null ? org.ttt4j.lm.io.AtomicFiles.readUtf8(input.file) : input.text;
            tokens = loaded.tokenizer().encode(text);
        }
        if (maxTokens != null && tokens.length > maxTokens) tokens = Arrays.copyOf(tokens, maxTokens);
        if (tokens.length < 2) throw new IllegalArgumentException("nothing to score: " + tokens.length + " token(s), at least 2 are needed");
        float[] nll = Scorer.tokenLosses(loaded.model(), tokens, CHUNK);
        double sum = 0;
        for (int i = 0; i < nll.length; i++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("position", i + 1);
            row.put("token", tokens[i + 1]);
            row.put("nll", nll[i]);
            stdout().println(LINE.writeValueAsString(row));
            sum += nll[i];
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("mean_nll", sum / nll.length);
        summary.put("tokens", nll.length);
        summary.put("model", loaded.checkpoint().folder().toString());
        summary.put("mixers", loaded.model().config().mixers());
        summary.put("weights", weights.format().label());
        stdout().println(LINE.writeValueAsString(summary));
        stdout().flush();
        return 0;
    }
}
