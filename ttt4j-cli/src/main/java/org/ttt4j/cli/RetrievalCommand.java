package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.ttt4j.cli.report.Plots;
import org.ttt4j.lm.eval.KvRetrieval;
import org.ttt4j.lm.eval.RetrievalEval;
import org.ttt4j.lm.io.AtomicFiles;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** {@code ttt4j retrieval}: the synthetic key-value retrieval task: training data, and qTTT's evaluation on it. */
@Command(name = "retrieval", mixinStandardHelpOptions = true,
        description = {"Key-value retrieval: write its training documents, or evaluate qTTT on it.",
                "Lines 'PUT q 381' and 'GET q 381': write training documents, or evaluate",
                "a model's greedy answers in context, after qTTT, and after the same compute spent on generated tokens."},
        subcommands = {RetrievalCommand.Data.class, RetrievalCommand.Eval.class})
public final class RetrievalCommand extends CommandIo implements Runnable {

    @Override
    public void run() {
        spec.commandLine().usage(stdout());
    }

    @Command(name = "data", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Write training documents as one zip archive (a corpus: train --corpus FILE --tokenizer bytes).")
    static final class Data extends CommandIo implements Callable<Integer> {
        @Option(names = "--out", required = true, description = "the zip file to write") Path out;
        @Option(names = "--docs", defaultValue = "20000", description = "documents (default: ${DEFAULT-VALUE})") int docs;
        @Option(names = "--bytes", defaultValue = "256", description = "bytes per document, about (default: ${DEFAULT-VALUE})") int bytes;
        @Option(names = "--seed", defaultValue = "1", description = "seed of the keys and values (default: ${DEFAULT-VALUE})") long seed;

        @Override
        public Integer call() throws Exception {
            if (docs < 1 || docs > 10_000_000) throw new IllegalArgumentException("--docs must be in 1..10000000, got " + docs);
            if (bytes < 20) throw new IllegalArgumentException("--bytes must be >= 20 (two lines), got " + bytes);
            var rng = new SplittableRandom(seed);
            AtomicFiles.write(out, stream -> {
                try (var zip = new ZipOutputStream(stream)) {
                    for (int i = 0; i < docs; i++) {
                        zip.putNextEntry(new ZipEntry(String.format("kv/%07d.txt", i)));
                        zip.write(KvRetrieval.document(rng, bytes).getBytes(StandardCharsets.US_ASCII));
                        zip.closeEntry();
                    }
                }
            });
            stdout().printf("wrote %,d documents of about %d bytes to %s%n", docs, bytes, out);
            return 0;
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Retrieval accuracy in context, after qTTT, and after as much decoding, by context length.",
                    "Exact-match accuracy over growing contexts: in context, after qTTT, and after 2 N k generated",
                    "tokens (qTTT's compute spent on decoding); attention mass on the needle per layer before and after qTTT;",
                    "adaptation time against prefill time; optionally a qTTT learning-rate sweep. Writes results.jsonl,",
                    "report.md and accuracy.png to --out."})
    static final class Eval extends CommandIo implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        WeightsOption weights = new WeightsOption();

        @Option(names = "--model", paramLabel = "MODEL", required = true, description = "a model or run folder trained on retrieval data (byte tokenizer)") Path checkpoint;
        @Option(names = "--label", description = "the model's name in the report (default: the folder name)") String label;
        @Option(names = "--contexts", split = ",", defaultValue = "256,512,1024,2048", description = "context lengths in bytes (default: ${DEFAULT-VALUE})") int[] contexts;
        @Option(names = "--probes", defaultValue = "16", description = "probes per context, needles spread over depth (default: ${DEFAULT-VALUE})") int probes;
        @Option(names = "--qttt-steps", defaultValue = "" + QtttOptions.DEFAULT_STEPS, description = "qTTT: AdamW steps (default: ${DEFAULT-VALUE})")
        int steps;
        @Option(names = "--qttt-span", defaultValue = "" + QtttOptions.DEFAULT_SPAN, description = "qTTT: tokens per sampled span"
                + " (default: ${DEFAULT-VALUE})") int span;
        @Option(names = "--qttt-lr", defaultValue = "" + QtttOptions.DEFAULT_LR, description = "qTTT: learning rate (default: ${DEFAULT-VALUE})")
        double lr;
        @Option(names = "--no-thinking", description = "skip the generated-tokens baseline (2 N k tokens per probe; default: run)") boolean noThinking;
        @Option(names = "--sweep-lrs", split = ",", description = "qTTT learning rates to sweep at --sweep-context (default: no sweep)") double[] sweepLrs;
        @Option(names = "--sweep-context", defaultValue = "1024", description = "context length of the sweep, in bytes (default: ${DEFAULT-VALUE})")
        int sweepContext;
        @Option(names = "--seed", defaultValue = "1", description = "seed of the probes and qTTT's spans (default: ${DEFAULT-VALUE})") long seed;
        @Option(names = "--out", defaultValue = "runs/retrieval", description = "results folder (default: ${DEFAULT-VALUE})") Path out;

        @Override
        public Integer call() throws Exception {
            var loaded = Checkpoints.load(checkpoint, weights);
            String name = label != null ? label : checkpoint.toAbsolutePath().normalize().getFileName().toString();
            var o = new QtttOptions(steps, span, lr, 0.01, 1.0, seed).validate();
            if (probes < 1) throw new IllegalArgumentException("--probes must be >= 1, got " + probes);
            Files.createDirectories(out);
            var json = new ObjectMapper();
            List<String> lines = new ArrayList<>();
            java.util.function.Consumer<RetrievalEval.Outcome> log = r -> {
                try {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("model", name);
                    row.put("method", r.method());
                    row.put("context", r.context());
                    row.put("lr", r.lr());
                    row.put("correct", r.correct());
                    row.put("answer", r.answer());
                    row.put("expected", r.expected());
                    row.put("prefill_ms", r.prefillMs());
                    row.put("extra_ms", r.adaptMs());
                    row.put("mass_before", r.massBefore());
                    row.put("mass_after", r.massAfter());
                    String line = json.writeValueAsString(row);
                    lines.add(line);
                    stderr().printf("  %-10s context %5d lr %.0e: %s (expected %s)%n", r.method(), r.context(), r.lr(), r.answer(), r.expected());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            var all = RetrievalEval.run(loaded.model(), loaded.tokenizer(), contexts, probes, o, !noThinking, seed, log);
            StringBuilder md = new StringBuilder("# Key-value retrieval: " + name + "\n\n");
            md.append(String.format("qTTT: %d steps, span %d, lr %g; thinking: %d generated tokens (2 N k); %d probes per context.%n%n",
                    steps, span, lr, 2 * steps * span, probes));
            md.append("| context (bytes) | in context | qTTT | thinking | prefill ms | qTTT ms | qTTT / prefill |\n|---|---|---|---|---|---|---|\n");
            Map<String, double[][]> curves = new LinkedHashMap<>();
            for (String m : List.of("in-context", "qttt", "thinking")) curves.put(m, new double[2][contexts.length]);
            for (int i = 0; i < contexts.length; i++) {
                int c = contexts[i];
                double pre = mean(all, "qttt", c, true), ada = mean(all, "qttt", c, false);
                md.append(String.format("| %d | %.2f | %.2f | %s | %.0f | %.0f | %.1fx |%n", c, RetrievalEval.accuracy(all, "in-context", c, -1),
                        RetrievalEval.accuracy(all, "qttt", c, -1), noThinking ? "-" : String.format("%.2f", RetrievalEval.accuracy(all, "thinking", c, -1)),
                        pre, ada, ada / pre));
                for (var e : curves.entrySet()) {
                    e.getValue()[0][i] = c;
                    e.getValue()[1][i] = RetrievalEval.accuracy(all, e.getKey(), c, -1);
                }
            }
            if (noThinking) curves.remove("thinking");
            md.append("\nAttention mass on the needle line of the last context token (mean over heads and probes), per layer:\n\n");
            md.append("| context | before qTTT | after qTTT |\n|---|---|---|\n");
            for (int c : contexts) {
                md.append(String.format("| %d | %s | %s |%n", c, fmt(RetrievalEval.meanMass(all, c, false)), fmt(RetrievalEval.meanMass(all, c, true))));
            }
            if (sweepLrs != null) {
                var sweep = RetrievalEval.sweep(loaded.model(), loaded.tokenizer(), sweepContext, probes, o, sweepLrs, seed, log);
                md.append(String.format("%nqTTT learning-rate sweep at context %d:%n%n| lr | accuracy | needle mass after (mean of layers) |%n|---|---|---|%n",
                        sweepContext));
                for (double l : sweepLrs) {
                    double mass = java.util.Arrays.stream(RetrievalEval.meanMass(sweep.stream().filter(r -> r.lr() == l).toList(), true))
                            .average().orElse(Double.NaN);
                    md.append(String.format("| %g | %.2f | %.4f |%n", l, RetrievalEval.accuracy(sweep, "qttt", sweepContext, l), mass));
                }
            }
            AtomicFiles.write(out.resolve("results.jsonl"), (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
            Plots.lines("key-value retrieval: " + name, "context (bytes, log scale)", "exact-match accuracy", true, curves, out.resolve("accuracy.png"));
            md.append("\n![accuracy](accuracy.png)\n");
            AtomicFiles.write(out.resolve("report.md"), md.toString().getBytes(StandardCharsets.UTF_8));
            stdout().print(md);
            return 0;
        }

        private static double mean(List<RetrievalEval.Outcome> all, String method, int c, boolean prefill) {
            return all.stream().filter(o -> o.method().equals(method) && o.context() == c)
                    .mapToDouble(o -> prefill ? o.prefillMs() : o.adaptMs()).average().orElse(Double.NaN);
        }

        private static String fmt(double[] xs) {
            StringBuilder s = new StringBuilder();
            for (double x : xs) s.append(s.isEmpty() ? "" : " / ").append(String.format("%.3f", x));
            return s.toString();
        }
    }
}
