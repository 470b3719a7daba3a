package org.ttt4j.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.ttt4j.cli.report.Plots;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.lm.data.Corpus;
import org.ttt4j.lm.data.CorpusSource;
import org.ttt4j.lm.data.Split;
import org.ttt4j.lm.data.TokenDocument;
import org.ttt4j.lm.data.TokenizedCorpus;
import org.ttt4j.lm.eval.Latency;
import org.ttt4j.lm.eval.LossByPosition;
import org.ttt4j.lm.eval.LossDelta;
import org.ttt4j.lm.eval.QtttProbe;
import org.ttt4j.lm.eval.Niah;
import org.ttt4j.lm.eval.Scorer;
import org.ttt4j.lm.io.AtomicFiles;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.Tokenizer;
import org.ttt4j.lm.train.RunSetup;

/**
 * The evaluation suite: each task scores a list of models (of any method: a checkpoint's method
 * comes from its config, and every model is read through the same inference session), prints a
 * table, writes {@code TASK.json} and PNG plots into the output folder, and contributes a section
 * to {@code report.md}. With {@code resume}, a task whose JSON exists is read back instead of
 * re-run, so an interrupted experiment picks up at the first unfinished task.
 */
final class EvalSuite {
    /** One model under evaluation. */
    record Model(String label, Decoder model, Tokenizer tokenizer) {}

    /** The needle grid: tasks x contexts (tokens) x depths x samples; essays from {@code haystack} or the corpus. */
    record NiahSettings(List<Niah.Task> tasks, List<Integer> contexts, List<Double> depths, int samples, Path haystack, String corpus, long seed) {}

    /** One needle prompt's outcome. */
    record NiahRow(String model, String task, int context, double depth, int sample, int promptTokens, int needleToken, String answer,
                   String generated, boolean correct) {}

    /** Default essay haystack (scripts/fetch-prose.sh --only sotu). */
    static final Path SOTU = Path.of("data", "prose", "sotu");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** JSON lines with their keys sorted: the same results print the same bytes. */
    static final ObjectMapper LINE = new ObjectMapper()
            .configure(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

    private final Path out;
    private final boolean resume;
    private final Map<String, String> sections = new LinkedHashMap<>();
    private List<LossByPosition> losses;

    /** The loss-by-position results, once {@link #lossByPosition} has run (else null). */
    List<LossByPosition> losses() {
        return losses;
    }

    private final java.io.PrintWriter stdout, stderr;

    /** Results into {@code out}; tables and progress to {@code stdout} and {@code stderr}. */
    EvalSuite(Path out, boolean resume, java.io.PrintWriter stdout, java.io.PrintWriter stderr) throws IOException {
        this.out = out;
        this.stdout = stdout;
        this.stderr = stderr;
        this.resume = resume;
        Files.createDirectories(out);
    }

    /** With resume, a task's earlier result is read back when it exists and covers the same models (by label, in order). */
    private boolean reusable(Path json, List<Model> models) throws IOException {
        if (!resume || !Files.exists(json)) return false;
        var saved = JSON.readTree(json.toFile()).get("models");
        return saved != null && JSON.convertValue(saved, new TypeReference<List<String>>() {}).equals(labels(models));
    }

    private static List<String> labels(List<Model> models) {
        return models.stream().map(Model::label).toList();
    }

    // ------------------------------------------------------------------ loss by position

    /** Per-token loss on the longest held-out documents of the corpus, in log-scale buckets; one curve per model. */
    void lossByPosition(List<Model> models, String corpus, int docs, int minTokens, int maxTokens) throws IOException {
        Path json = out.resolve("loss_by_position.json");
        if (reusable(json, models)) {
            losses = JSON.convertValue(JSON.readTree(json.toFile()).get("results"), new TypeReference<List<LossByPosition>>() {});
            stdout.println("[eval] loss-by-position: done before, read " + json);
        } else {
            if (docs < 1) throw new IllegalArgumentException("--docs must be >= 1, got " + docs);
            if (minTokens < 2 || maxTokens < minTokens) {
                throw new IllegalArgumentException("need 2 <= --min-tokens <= --doc-tokens, got " + minTokens + " and " + maxTokens);
            }
            losses = new ArrayList<>();
            try (CorpusSource source = Corpus.open(corpus)) {
                for (Model m : models) {
                    List<float[]> perDoc = new ArrayList<>();
                    List<TokenDocument> held = heldOut(source, m, docs, minTokens + 1);
                    if (held.isEmpty()) {
                        throw new IllegalArgumentException("no held-out document of " + corpus + " has " + (minTokens + 1) + " tokens; lower --min-tokens");
                    }
                    long t0 = System.nanoTime(), scored = 0;
                    for (TokenDocument d : held) {
                        int[] tokens = d.tokens().length > maxTokens + 1 ? Arrays.copyOf(d.tokens(), maxTokens + 1) : d.tokens();
                        perDoc.add(Scorer.tokenLosses(m.model(), tokens, 256));
                        scored += tokens.length - 1;
                        stderr.printf("  %s: %s (%d tokens)%n", m.label(), d.id(), tokens.length - 1);
                    }
                    var r = LossByPosition.of(m.label(), perDoc);
                    losses.add(r);
                    stdout.printf("[eval] %-16s mean loss %.4f over %d documents, %,d tokens (%.0f tokens/s)%n", m.label(), r.meanLoss(),
                            held.size(), scored, scored / ((System.nanoTime() - t0) / 1e9));
                }
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("corpus", corpus);
            doc.put("models", labels(models));
            doc.put("results", losses);
            Plots.lossByPosition(losses, "loss by token index (held-out documents)", out.resolve("loss_by_position.png"));
            AtomicFiles.write(json, JSON.writeValueAsBytes(doc));
        }
        StringBuilder md = new StringBuilder();
        md.append(String.format("Per-token loss on the %d longest held-out documents of `%s` (at most %,d tokens each), by token index"
                + " (buckets double).%n%n", losses.getFirst().documents(), corpus, maxTokens));
        md.append("| tokens |");
        for (var r : losses) md.append(' ').append(r.label()).append(" |");
        md.append("\n|---|").append("---|".repeat(losses.size())).append('\n');
        for (int b = 0; b < losses.getFirst().buckets().size(); b++) {
            var bucket = losses.getFirst().buckets().get(b);
            md.append(String.format("| %d-%d |", bucket.from(), bucket.to() - 1));
            for (var r : losses) md.append(b < r.buckets().size() ? String.format(" %.3f |", r.buckets().get(b).meanLoss()) : " |");
            md.append('\n');
        }
        md.append("| **all** |");
        for (var r : losses) md.append(String.format(" **%.3f** |", r.meanLoss()));
        md.append("\n\n![loss by position](loss_by_position.png)\n");
        printTables(md);
        for (var r : losses) stdout.println(LINE.writeValueAsString(Map.of("eval", "loss_by_position", "label", r.label(), "mean_loss", r.meanLoss(),
                "documents", r.documents())));
        sections.put("Loss by token position", md.toString());
    }

    /** The {@code docs} longest held-out documents of at least {@code minTokens} tokens, in the model's tokenizer (cached). */
    private List<TokenDocument> heldOut(CorpusSource source, Model m, int docs, int minTokens) throws IOException {
        try (TokenizedCorpus tc = TokenizedCorpus.open(source, m.tokenizer(), Split.defaults(), RunSetup.cacheRoot().resolve("tokens"),
                TokenizedCorpus.Options.defaults().withLog(CommandIo.stream(stderr)))) {
            return tc.longestDocuments(docs, minTokens);
        }
    }

    // ------------------------------------------------------------------ qTTT probe

    /**
     * qTTT on held-out text: each of the {@code docs} longest held-out documents (cut to
     * {@code maxTokens}) is read but for its last {@code answer} tokens, which are scored before and
     * after qTTT's steps on the part read ({@link QtttProbe}); models without attention in every
     * block are skipped with a note.
     */
    void qtttProbe(List<Model> models, String corpus, int docs, int minTokens, int maxTokens, int answer,
                   org.ttt4j.lm.methods.qttt.QtttOptions options) throws IOException {
        Map<String, List<QtttProbe>> results = new LinkedHashMap<>();
        StringBuilder md = new StringBuilder(String.format("The last %d tokens of each of the %d longest held-out documents of `%s` (at most %,d"
                + " tokens each), scored after reading the rest, with the model's own queries and after qTTT (%d AdamW steps on spans of %d"
                + " tokens of the part read, lr %s): mean next-token loss of those tokens, and the time of the steps against reading"
                + " the context once.%n%n| model | documents | loss before | loss after qTTT | change | prefill (s) | qTTT steps (s) | steps / prefill |%n"
                + "|---|---|---|---|---|---|---|---|%n", answer, docs, corpus, maxTokens, options.steps(), options.span(), options.lr()));
        try (CorpusSource source = Corpus.open(corpus)) {
            for (Model m : models) {
                if (!m.model().blocks().stream().allMatch(org.ttt4j.lm.model.Block::attentionOnly)) {
                    md.append(String.format("| %s | (qTTT needs attention in every block; mixers %s) | | | | | | |%n", m.label(), m.model().config().mixers()));
                    continue;
                }
                List<QtttProbe> probes = new ArrayList<>();
                for (TokenDocument d : heldOut(source, m, docs, Math.max(minTokens, answer + 2))) {
                    int[] tokens = d.tokens().length > maxTokens ? Arrays.copyOf(d.tokens(), maxTokens) : d.tokens();
                    var probe = QtttProbe.run(m.model(), tokens, answer, options);
                    probes.add(probe);
                    stderr.printf("  %s: %s: loss %.4f -> %.4f (prefill %.2f s, qTTT %.2f s)%n", m.label(), d.id(), probe.lossBefore(),
                            probe.lossAfter(), probe.prefillSeconds(), probe.adaptSeconds());
                }
                if (probes.isEmpty()) throw new IllegalArgumentException("no held-out document of " + corpus + " has " + (answer + 2) + " tokens");
                results.put(m.label(), probes);
                double before = probes.stream().mapToDouble(QtttProbe::lossBefore).average().orElse(Double.NaN);
                double after = probes.stream().mapToDouble(QtttProbe::lossAfter).average().orElse(Double.NaN);
                double pre = probes.stream().mapToDouble(QtttProbe::prefillSeconds).average().orElse(Double.NaN);
                double adapt = probes.stream().mapToDouble(QtttProbe::adaptSeconds).average().orElse(Double.NaN);
                md.append(String.format("| %s | %d | %.3f | %.3f | %+.3f | %.2f | %.2f | %.1fx |%n", m.label(), probes.size(), before, after, after - before,
                        pre, adapt, adapt / pre));
                stdout.println(LINE.writeValueAsString(Map.of("eval", "qttt_probe", "label", m.label(), "loss_before", before, "loss_after", after,
                        "prefill_s", pre, "adapt_s", adapt, "documents", probes.size())));
            }
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("corpus", corpus);
        doc.put("options", options);
        doc.put("results", results);
        AtomicFiles.write(out.resolve("qttt_probe.json"), JSON.writeValueAsBytes(doc));
        printTables(md);
        sections.put("qTTT on held-out text", md.toString());
    }

    // ------------------------------------------------------------------ loss delta

    /** Every model's loss minus {@code reference}'s (from the loss-by-position results): by token index and by context length. */
    void lossDelta(String reference) throws IOException {
        if (losses == null) throw new IllegalStateException("loss-delta needs the loss-by-position results: run that task first");
        LossByPosition ref = losses.stream().filter(r -> r.label().equals(reference)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("loss-delta: no model labelled \"" + reference + "\" (labels: "
                        + String.join(", ", losses.stream().map(LossByPosition::label).toList()) + ")"));
        List<LossDelta> deltas = new ArrayList<>();
        for (var r : losses) if (r != ref) deltas.add(LossDelta.of(r, ref));
        Map<String, double[][]> byPos = new LinkedHashMap<>(), byCtx = new LinkedHashMap<>();
        for (var d : deltas) {
            byPos.put(d.label(), new double[][] {d.byPosition().stream().mapToDouble(p -> Math.sqrt((double) p.from() * (p.to() - 1))).toArray(),
                    d.byPosition().stream().mapToDouble(LossDelta.Point::delta).toArray()});
            // Prefixes of fewer than 16 tokens average a handful of tokens per document: drawn, they only hide the trend.
            var shown = d.byContext().stream().filter(p -> p.to() - 1 >= 16 || d.byContext().getLast() == p).toList();
            byCtx.put(d.label(), new double[][] {shown.stream().mapToDouble(p -> p.to() - 1).toArray(),
                    shown.stream().mapToDouble(LossDelta.Point::delta).toArray()});
        }
        Plots.lines("loss delta vs " + reference + " by token index (negative = better)", "token index (log scale)", "loss delta (nats)", true, byPos,
                out.resolve("loss_delta_by_position.png"));
        Plots.lines("loss delta vs " + reference + " by context length (mean over the first L tokens)", "context length L (log scale)",
                "loss delta (nats)", true, byCtx, out.resolve("loss_delta_by_context.png"));
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("reference", reference);
        doc.put("results", deltas);
        AtomicFiles.write(out.resolve("loss_delta.json"), JSON.writeValueAsBytes(doc));
        StringBuilder md = new StringBuilder();
        md.append(String.format("Loss minus %s's on the same documents (negative: better than %s), mean over the first L tokens"
                + " of each document.%n%n| model |", reference, reference));
        // The table starts at L = 128 (shorter prefixes are a handful of tokens per document: noise); the JSON has them all.
        int longest = deltas.isEmpty() || deltas.getFirst().byContext().isEmpty() ? 0 : deltas.getFirst().byContext().getLast().to() - 1;
        int from = Math.min(128, longest);
        var contexts = deltas.isEmpty() ? List.<LossDelta.Point>of() : deltas.getFirst().byContext().stream().filter(p -> p.to() - 1 >= from).toList();
        for (var p : contexts) md.append(" L=").append(p.to() - 1).append(" |");
        md.append("\n|---|").append("---|".repeat(contexts.size())).append('\n');
        for (var d : deltas) {
            md.append("| ").append(d.label()).append(" |");
            for (var p : d.byContext()) if (p.to() - 1 >= from) md.append(String.format(" %+.3f |", p.delta()));
            md.append('\n');
            stdout.println(LINE.writeValueAsString(Map.of("eval", "loss_delta", "label", d.label(), "reference", reference, "mean_delta",
                    d.meanDelta())));
        }
        md.append("\n![loss delta by context](loss_delta_by_context.png)\n\n![loss delta by position](loss_delta_by_position.png)\n");
        printTables(md);
        sections.put("Loss delta vs " + reference, md.toString());
    }

    // ------------------------------------------------------------------ needle in a haystack

    void niah(List<Model> models, NiahSettings s) throws IOException {
        Path json = out.resolve("niah.json");
        List<NiahRow> rows;
        String haystackName;
        if (reusable(json, models)) {
            var tree = JSON.readTree(json.toFile());
            rows = JSON.convertValue(tree.get("results"), new TypeReference<List<NiahRow>>() {});
            haystackName = tree.get("haystack").asText();
            stdout.println("[eval] niah: done before, read " + json);
        } else {
            if (s.samples() < 1) throw new IllegalArgumentException("--samples must be >= 1, got " + s.samples());
            Path hay = s.haystack() != null ? s.haystack() : Files.isDirectory(SOTU) ? SOTU : null;
            haystackName = hay != null ? hay.toString() : s.corpus() + " (no essay folder: data/prose/sotu is not fetched)";
            Niah.Material material;
            try (CorpusSource src = hay != null ? Corpus.open(hay.toString()) : Corpus.open(s.corpus())) {
                material = Niah.Material.load(src, 8L << 20, Niah.Material.DICTIONARY);
            }
            stdout.printf("[eval] niah: essays from %s (%d documents), %d needle keys%n", haystackName, material.essays().size(), material.keys().size());
            rows = new ArrayList<>();
            for (Model m : models) {
                long t0 = System.nanoTime();
                int correct = 0;
                // The same prompts for every model: one seeded generator per (task, context, depth, sample).
                for (Niah.Task task : s.tasks()) {
                    for (int context : s.contexts()) {
                        for (double depth : s.depths()) {
                            for (int k = 0; k < s.samples(); k++) {
                                var rng = new SplittableRandom(s.seed() ^ (task.ordinal() * 1_000_003L + context * 7919L + Math.round(depth * 1000) * 31L + k));
                                Niah.Case c = Niah.build(task, m.tokenizer(), context, depth, material, rng);
                                int maxTokens = m.tokenizer().encode(" " + c.answer() + ".").length + 4;
                                String got = Niah.greedyAnswer(m.model(), m.tokenizer(), c.prompt(), maxTokens, 1024);
                                boolean ok = Niah.matches(got, c.answer());
                                if (ok) correct++;
                                rows.add(new NiahRow(m.label(), task.id, context, depth, k, c.prompt().length, c.needleToken(), c.answer(), got, ok));
                            }
                        }
                        stderr.printf("  %s: %s at %d tokens done (%.0f s)%n", m.label(), task.id, context, (System.nanoTime() - t0) / 1e9);
                    }
                }
                int n = s.tasks().size() * s.contexts().size() * s.depths().size() * s.samples();
                stdout.printf("[eval] niah %-16s %d/%d correct (%.0f s)%n", m.label(), correct, n, (System.nanoTime() - t0) / 1e9);
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("haystack", haystackName);
            doc.put("models", labels(models));
            doc.put("settings", new java.util.TreeMap<>(Map.of("tasks", s.tasks().stream().map(t -> t.id).toList(), "contexts", s.contexts(),
                    "depths", s.depths(), "samples", s.samples(), "seed", s.seed())));
            doc.put("results", rows);
            AtomicFiles.write(json, JSON.writeValueAsBytes(doc));
        }
        List<String> labels = rows.stream().map(NiahRow::model).distinct().toList();
        List<String> tasks = rows.stream().map(NiahRow::task).distinct().toList();
        List<Integer> contexts = rows.stream().map(NiahRow::context).distinct().sorted().toList();
        List<Double> depths = rows.stream().map(NiahRow::depth).distinct().sorted().toList();
        StringBuilder md = new StringBuilder();
        md.append(String.format("RULER-style single needles (exact match of the greedy answer's first word). Essay haystack: %s. Accuracy"
                + " per task and context length, over depths %s and samples; heat maps average the three tasks.%n%n| model | task |",
                haystackName, depths));
        for (int c : contexts) md.append(' ').append(c).append(" |");
        md.append(" all |\n|---|---|").append("---|".repeat(contexts.size() + 1)).append('\n');
        for (String label : labels) {
            for (String task : tasks) {
                md.append("| ").append(label).append(" | ").append(task).append(" |");
                for (int c : contexts) md.append(String.format(" %.2f |", accuracy(rows, label, task, c, null)));
                double all = accuracy(rows, label, task, null, null);
                md.append(String.format(" %.2f |%n", all));
                stdout.println(LINE.writeValueAsString(Map.of("eval", "niah", "label", label, "task", task, "accuracy", all)));
            }
            double[][] grid = new double[contexts.size()][depths.size()];
            for (int y = 0; y < contexts.size(); y++) {
                for (int x = 0; x < depths.size(); x++) grid[y][x] = accuracy(rows, label, null, contexts.get(y), depths.get(x));
            }
            Plots.heatMap("needle accuracy: " + label, "needle depth", "context (tokens)", depths.stream().map(d -> String.format("%.2f", d)).toList(),
                    contexts.stream().map(String::valueOf).toList(), grid, out.resolve(heatMapFile(label)));
        }
        md.append('\n');
        for (String label : labels) md.append("![").append(label).append("](").append(heatMapFile(label)).append(") ");
        md.append('\n');
        printTables(md);
        sections.put("Needle in a haystack (S-NIAH-1/2/3)", md.toString());
    }

    /** A model's heat-map file: its label with anything but letters, digits, '.', '_' and '-' replaced. */
    private static String heatMapFile(String label) {
        return "niah_" + label.replaceAll("[^A-Za-z0-9._-]", "_") + ".png";
    }

    private static double accuracy(List<NiahRow> rows, String label, String task, Integer context, Double depth) {
        var sel = rows.stream().filter(r -> r.model().equals(label) && (task == null || r.task().equals(task))
                && (context == null || r.context() == context) && (depth == null || r.depth() == depth)).toList();
        return sel.isEmpty() ? Double.NaN : sel.stream().filter(NiahRow::correct).count() / (double) sel.size();
    }

    // ------------------------------------------------------------------ latency

    /** Prefill and decode time per token and state memory against context, per model. */
    void latency(List<Model> models, List<Integer> contexts, int decode, int piece) throws IOException {
        Path json = out.resolve("latency.json");
        Map<String, List<Latency.Point>> results;
        if (reusable(json, models)) {
            results = JSON.convertValue(JSON.readTree(json.toFile()).get("results"), new TypeReference<LinkedHashMap<String, List<Latency.Point>>>() {});
            stdout.println("[eval] latency: done before, read " + json);
        } else {
            results = new LinkedHashMap<>();
            var rng = new SplittableRandom(11);
            for (Model m : models) {
                // Untimed warm-up: the JIT compiles the decode path only after many steps.
                Latency.measure(m.model(), Math.min(1024, contexts.getFirst()), 256, piece, rng);
                List<Latency.Point> points = new ArrayList<>();
                for (int c : contexts) {
                    var p = Latency.measure(m.model(), c, decode, piece, rng);
                    points.add(p);
                    stdout.printf("[eval] latency %-16s context %7d: prefill %8.0f tokens/s, decode %7.2f ms/token, state %8.2f MiB%n", m.label(), c,
                            p.prefillTokensPerS(), p.decodeMsPerToken(), p.stateMib());
                }
                results.put(m.label(), points);
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("models", labels(models));
            doc.put("threads", Parallel.threads());
            doc.put("decoded_tokens", decode);
            doc.put("results", results);
            AtomicFiles.write(json, JSON.writeValueAsBytes(doc));
        }
        Map<String, double[][]> prefill = new LinkedHashMap<>(), dec = new LinkedHashMap<>(), state = new LinkedHashMap<>();
        results.forEach((label, pts) -> {
            double[] x = pts.stream().mapToDouble(Latency.Point::context).toArray();
            prefill.put(label, new double[][] {x, pts.stream().mapToDouble(Latency.Point::prefillMsPerToken).toArray()});
            dec.put(label, new double[][] {x, pts.stream().mapToDouble(Latency.Point::decodeMsPerToken).toArray()});
            state.put(label, new double[][] {x, pts.stream().mapToDouble(Latency.Point::stateMib).toArray()});
        });
        Plots.lines("prefill time per token", "context (log scale)", "ms / token", true, prefill, out.resolve("latency_prefill.png"));
        Plots.lines("decode time per token", "context (log scale)", "ms / token", true, dec, out.resolve("latency_decode.png"));
        Plots.lines("inference state", "context (log scale)", "MiB", true, state, out.resolve("latency_state.png"));
        StringBuilder md = new StringBuilder();
        md.append(String.format("Random tokens read from scratch, then %d decoded (%d thread(s); times vary with this machine's load).%n%n"
                + "| model | context | prefill ms/token | decode ms/token | state MiB |%n|---|---|---|---|---|%n", decode, Parallel.threads()));
        for (var e : results.entrySet()) {
            for (var p : e.getValue()) {
                md.append(String.format("| %s | %d | %.3f | %.2f | %.2f |%n", e.getKey(), p.context(), p.prefillMsPerToken(), p.decodeMsPerToken(),
                        p.stateMib()));
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("eval", "latency");
                row.put("label", e.getKey());
                row.put("context", p.context());
                row.put("tokens_per_s", p.prefillTokensPerS());
                row.put("decode_ms_per_token", p.decodeMsPerToken());
                row.put("state_mib", p.stateMib());
                stdout.println(LINE.writeValueAsString(row));
            }
        }
        md.append("\n![prefill](latency_prefill.png)\n\n![decode](latency_decode.png)\n\n![state](latency_state.png)\n");
        sections.put("Latency and memory", md.toString());
    }

    // ------------------------------------------------------------------ report

    /** A section's text on the console: its tables, without the image lines only the report can show. */
    private void printTables(CharSequence md) {
        stdout.print(md.toString().replaceAll("!\\[.*\\n", ""));
    }

    /** Writes report.md: the title, an introduction, then every task's section in the order run. */
    Path writeReport(String title, String intro) throws IOException {
        StringBuilder md = new StringBuilder("# ").append(title).append("\n\n").append(intro).append('\n');
        sections.forEach((name, body) -> md.append("## ").append(name).append("\n\n").append(body).append('\n'));
        Path file = out.resolve("report.md");
        AtomicFiles.write(file, md.toString().getBytes(StandardCharsets.UTF_8));
        return file;
    }
}
