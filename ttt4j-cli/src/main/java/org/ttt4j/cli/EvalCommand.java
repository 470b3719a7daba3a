package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.ttt4j.lm.data.Corpus;
import org.ttt4j.lm.data.CorpusSource;
import org.ttt4j.lm.data.Split;
import org.ttt4j.lm.data.TokenDocument;
import org.ttt4j.lm.data.TokenizedCorpus;
import org.ttt4j.lm.eval.LossByPosition;
import org.ttt4j.lm.eval.Plots;
import org.ttt4j.lm.eval.Scorer;
import org.ttt4j.lm.io.AtomicFiles;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.E2eSettings;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.train.RunSetup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ttt4j eval}: loss and loss by token position of one or more models on held-out documents. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Loss and loss by token position on held-out documents.",
                "Scores the validation split of the corpus with one or more trained models: mean loss and the",
                "loss-by-token-index curve, written as JSON and drawn as one PNG plot."})
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "run or checkpoint folder; repeat to compare models")
    List<Path> checkpoints;
    @Option(names = "--label", description = "curve label per checkpoint (default: the folder name)") List<String> labels;
    @Option(names = "--corpus", defaultValue = "default", description = "the corpus the models were trained on (default: JDK src.zip)")
    String corpus;
    @Option(names = "--docs", defaultValue = "16", description = "longest held-out documents to score") int docs;
    @Option(names = "--min-tokens", defaultValue = "512") int minTokens;
    @Option(names = "--max-tokens", defaultValue = "4096", description = "score at most this many tokens of each document") int maxTokens;
    @Option(names = "--chunk", defaultValue = "256", description = "tokens per forward pass") int chunk;
    @Option(names = "--out", defaultValue = "runs/eval", description = "folder for loss_by_position.json and .png") Path out;

    @Option(names = "--e2e-inner-lr", description = "TTT-E2E models: score with this inner learning rate instead of the trained one"
            + " (0: no test-time updates; 1 on a model trained with 0: the naive baseline)") Double e2eInnerLr;

    @Override
    public Integer call() throws Exception {
        List<LossByPosition> results = new ArrayList<>();
        try (CorpusSource source = Corpus.open(corpus)) {
            for (int i = 0; i < checkpoints.size(); i++) {
                var loaded = Checkpoints.load(checkpoints.get(i));
                Decoder model = e2eInnerLr == null ? loaded.model() : withInnerLr(loaded.model(), e2eInnerLr);
                String label = labels != null && i < labels.size() ? labels.get(i) : checkpoints.get(i).getFileName().toString();
                List<float[]> losses = new ArrayList<>();
                try (TokenizedCorpus tc = TokenizedCorpus.open(source, loaded.tokenizer(), Split.defaults(),
                        RunSetup.cacheRoot().resolve("tokens"))) {
                    List<TokenDocument> held = tc.longestDocuments(docs, minTokens);
                    if (held.isEmpty()) throw new IllegalArgumentException("no held-out document has " + minTokens + " tokens; lower --min-tokens");
                    long t0 = System.nanoTime(), scored = 0;
                    for (TokenDocument d : held) {
                        int[] tokens = d.tokens().length > maxTokens + 1 ? java.util.Arrays.copyOf(d.tokens(), maxTokens + 1) : d.tokens();
                        losses.add(Scorer.tokenLosses(model, tokens, chunk));
                        scored += tokens.length - 1;
                        System.err.printf("  %s: %s (%d tokens)%n", label, d.id(), tokens.length - 1);
                    }
                    var r = LossByPosition.of(label, losses);
                    results.add(r);
                    System.out.printf("%-24s mean loss %.4f over %d documents, %,d tokens (%.0f tokens/s)%n", label, r.meanLoss(),
                            held.size(), scored, scored / ((System.nanoTime() - t0) / 1e9));
                }
            }
        }
        Files.createDirectories(out);
        var json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("corpus", corpus);
        doc.put("results", results);
        AtomicFiles.write(out.resolve("loss_by_position.json"), json.writeValueAsBytes(doc));
        Plots.lossByPosition(results, "loss by token index (held-out documents)", out.resolve("loss_by_position.png"));
        System.out.printf("%-12s", "tokens");
        for (var r : results) System.out.printf(" %14s", r.label());
        System.out.println();
        for (int b = 0; b < results.getFirst().buckets().size(); b++) {
            var bucket = results.getFirst().buckets().get(b);
            System.out.printf("%-12s", bucket.from() + "-" + (bucket.to() - 1));
            for (var r : results) System.out.printf(" %14s", b < r.buckets().size() ? String.format("%.4f", r.buckets().get(b).meanLoss()) : "");
            System.out.println();
        }
        for (var r : results) {
            System.out.println(json.copy().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(Map.of(
                    "bench", "eval", "label", r.label(), "mean_loss", r.meanLoss(), "documents", r.documents())));
        }
        System.out.println("wrote " + out.resolve("loss_by_position.json") + " and " + out.resolve("loss_by_position.png"));
        return 0;
    }

    /** The same weights with another inner learning rate; a model that is not TTT-E2E is refused. */
    static Decoder withInnerLr(Decoder model, double lr) {
        ModelConfig c = model.config();
        E2eSettings e = c.e2e();
        if (e == null) throw new IllegalArgumentException("--e2e-inner-lr: the model is not TTT-E2E (its config has no e2e section)");
        return new Decoder(c.withE2e(new E2eSettings(e.suffixBlocks(), e.chunk(), lr, e.clip(), e.firstOrder())).validate(),
                new org.ttt4j.lm.layers.Params(model.params().all()));
    }
}
