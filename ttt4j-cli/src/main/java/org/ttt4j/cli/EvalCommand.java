package org.ttt4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.ttt4j.lm.eval.Niah;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ttt4j eval}: the long-context evaluation suite on one or more trained models, of any method. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The long-context evaluation suite: compare trained models of any method.",
                "Tasks (--task, comma-separated; default loss-by-position):",
                "  loss-by-position  per-token loss by token index on held-out documents",
                "  loss-delta        loss minus the --reference model's, by token index and",
                "                    by context length",
                "  niah              RULER needles S-NIAH-1/2/3 over context lengths x depths",
                "                    (greedy answers, exact match)",
                "  latency           prefill and decode ms/token and state memory by context",
                "Writes TASK.json, PNG plots and report.md (embedding them) into --out."})
public final class EvalCommand extends CommandIo implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    WeightsOption weights = new WeightsOption();

    @Option(names = "--model", paramLabel = "MODEL", required = true, description = "a model, run or checkpoint folder, or demo (the shipped demo model); repeat to compare models")
    List<Path> checkpoints;
    @Option(names = "--label", description = "label per --model, in order (repeatable; default: the folder name)") List<String> labels;
    @Option(names = "--task", split = ",", defaultValue = "loss-by-position",
            description = "loss-by-position, loss-delta, niah, latency, qttt-probe, or all (default: ${DEFAULT-VALUE})") List<String> tasks;
    @Option(names = "--out", defaultValue = "runs/eval", description = "folder for the results and report.md (default: ${DEFAULT-VALUE})") Path out;

    @Option(names = "--corpus", defaultValue = "default", description = "loss tasks: the corpus whose held-out documents are scored"
            + " (default: ${DEFAULT-VALUE}, the JDK's src.zip)") String corpus;
    @Option(names = "--docs", defaultValue = "16", description = "loss tasks: longest held-out documents to score (default: ${DEFAULT-VALUE})") int docs;
    @Option(names = "--min-tokens", defaultValue = "512", description = "loss tasks: shortest document scored (default: ${DEFAULT-VALUE})") int minTokens;
    @Option(names = "--doc-tokens", defaultValue = "4096", description = "loss tasks: tokens scored per document, from its start"
            + " (default: ${DEFAULT-VALUE})") int maxTokens;
    @Option(names = "--reference", description = "loss-delta: the reference model's label (default: the first model's)") String reference;

    @Option(names = "--niah-tasks", split = ",", defaultValue = "s-niah-1,s-niah-2,s-niah-3", description = "niah: tasks (default: ${DEFAULT-VALUE})")
    List<String> niahTasks;
    @Option(names = "--contexts", split = ",", description = "niah and latency: context lengths in tokens (default: 1024,2048,4096 for niah;"
            + " 1024,4096,16384 for latency)") List<Integer> contexts;
    @Option(names = "--depths", split = ",", defaultValue = "0,0.25,0.5,0.75,1", description = "niah: needle depths in [0, 1] (default: ${DEFAULT-VALUE})")
    List<Double> depths;
    @Option(names = "--samples", defaultValue = "2", description = "niah: prompts per (task, context, depth) (default: ${DEFAULT-VALUE})") int samples;
    @Option(names = "--haystack", description = "niah: essay text, a folder, file or .zip (default: data/prose/sotu, from"
            + " scripts/fetch-prose.sh --only sotu; else the corpus)") Path haystack;
    @Option(names = "--seed", defaultValue = "1234", description = "niah: prompt seed; qttt-probe: span seed (default: ${DEFAULT-VALUE})") long seed;
    @Option(names = "--decode", defaultValue = "64", description = "latency: tokens decoded per context (default: ${DEFAULT-VALUE})") int decode;

    @Option(names = "--e2e-inner-lr", description = "TTT-E2E models: evaluate with this inner learning rate instead of the trained one"
            + " (0: no test-time updates; 1 on a model trained with 0: the naive baseline; default: the trained one)") Double e2eInnerLr;

    static final List<String> TASKS = List.of("loss-by-position", "loss-delta", "niah", "latency", "qttt-probe");
    @Option(names = "--answer", defaultValue = "64", description = "qttt-probe: tokens at the end of each document scored after reading the rest"
            + " (default: ${DEFAULT-VALUE})") int answer;
    @Option(names = "--qttt-steps", defaultValue = "" + org.ttt4j.lm.methods.qttt.QtttOptions.DEFAULT_STEPS,
            description = "qttt-probe: AdamW steps on the queries (default: ${DEFAULT-VALUE})") int qtttSteps;
    @Option(names = "--qttt-span", defaultValue = "" + org.ttt4j.lm.methods.qttt.QtttOptions.DEFAULT_SPAN,
            description = "qttt-probe: tokens per step's span (default: ${DEFAULT-VALUE})") int qtttSpan;
    @Option(names = "--qttt-lr", defaultValue = "" + org.ttt4j.lm.methods.qttt.QtttOptions.DEFAULT_LR,
            description = "qttt-probe: learning rate (default: ${DEFAULT-VALUE})") double qtttLr;

    @Override
    public Integer call() throws Exception {
        // Every setting of every task to run, and every model, is checked before the first task starts.
        List<String> run = tasks.contains("all") ? TASKS : tasks;
        for (String t : run) {
            if (!TASKS.contains(t)) throw new IllegalArgumentException("--task: unknown task \"" + t + "\" (known: " + String.join(", ", TASKS) + ", all)");
        }
        if (labels != null && labels.size() > checkpoints.size()) {
            throw new IllegalArgumentException(labels.size() + " --label values for " + checkpoints.size() + " --model folders");
        }
        boolean probe = run.contains("qttt-probe");
        var qttt = new org.ttt4j.lm.methods.qttt.QtttOptions(qtttSteps, qtttSpan, qtttLr, 0.01, 1.0, seed);
        if (probe) {
            qttt.validate();
            if (answer < 1) throw new IllegalArgumentException("--answer must be >= 1, got " + answer);
        }
        boolean loss = run.contains("loss-by-position") || run.contains("loss-delta"), niah = run.contains("niah"), latency = run.contains("latency");
        if (loss) {
            if (docs < 1) throw new IllegalArgumentException("--docs must be >= 1, got " + docs);
            if (minTokens < 2 || maxTokens < minTokens) {
                throw new IllegalArgumentException("need 2 <= --min-tokens <= --doc-tokens, got " + minTokens + " and " + maxTokens);
            }
        }
        List<Niah.Task> needles = niah ? niahTasks.stream().map(id -> {
            try {
                return Niah.Task.byId(id);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--niah-tasks: " + e.getMessage(), e);
            }
        }).toList() : List.of();
        if (niah) {
            if (samples < 1) throw new IllegalArgumentException("--samples must be >= 1, got " + samples);
            for (double d : depths) if (!(d >= 0 && d <= 1)) throw new IllegalArgumentException("--depths: expected values in [0, 1], got " + d);
            if (haystack != null && !java.nio.file.Files.exists(haystack)) throw new IllegalArgumentException("--haystack " + haystack + " does not exist");
        }
        if ((niah || latency) && contexts != null) {
            for (int c : contexts) if (c < 2) throw new IllegalArgumentException("--contexts: expected lengths >= 2 tokens, got " + c);
        }
        if (latency && decode < 1) throw new IllegalArgumentException("--decode must be >= 1, got " + decode);
        if (loss || probe || (niah && haystack == null && !java.nio.file.Files.isDirectory(EvalSuite.SOTU))) {
            try (var source = org.ttt4j.lm.data.Corpus.open(corpus)) {
                source.entries(); // the corpus opens and lists its documents
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--corpus: " + e.getMessage(), e);
            }
        }
        List<EvalSuite.Model> models = new ArrayList<>();
        for (int i = 0; i < checkpoints.size(); i++) {
            Checkpoints.Loaded loaded;
            try {
                loaded = Checkpoints.load(checkpoints.get(i), weights);
            } catch (java.io.IOException | RuntimeException e) {
                String what = e instanceof java.nio.file.NoSuchFileException ? "no such file: " + e.getMessage() : e.getMessage();
                throw new IllegalArgumentException("--model " + checkpoints.get(i) + ": " + what, e);
            }
            Decoder model = e2eInnerLr == null ? loaded.model() : withInnerLr(loaded.model(), e2eInnerLr);
            String label = labels != null && i < labels.size() ? labels.get(i) : checkpoints.get(i).getFileName().toString();
            if (models.stream().anyMatch(m -> m.label().equals(label))) throw new IllegalArgumentException("two models labelled \"" + label + "\": use --label");
            models.add(new EvalSuite.Model(label, model, loaded.tokenizer()));
        }
        String ref = reference != null ? reference : models.getFirst().label();
        if (run.contains("loss-delta") && models.stream().noneMatch(m -> m.label().equals(ref))) {
            throw new IllegalArgumentException("--reference: no model labelled \"" + ref + "\" (labels: "
                    + String.join(", ", models.stream().map(EvalSuite.Model::label).toList()) + ")");
        }

        var suite = new EvalSuite(out, false, stdout(), stderr());
        if (loss) suite.lossByPosition(models, corpus, docs, minTokens, maxTokens);
        if (run.contains("loss-delta")) suite.lossDelta(ref);
        if (niah) {
            suite.niah(models, new EvalSuite.NiahSettings(needles, contexts != null ? contexts : List.of(1024, 2048, 4096), depths, samples, haystack,
                    corpus, seed));
        }
        if (latency) suite.latency(models, contexts != null ? contexts : List.of(1024, 4096, 16384), decode, 1024);
        if (probe) suite.qtttProbe(models, corpus, docs, minTokens, maxTokens, answer, qttt);
        StringBuilder intro = new StringBuilder("Models:\n\n");
        for (int i = 0; i < models.size(); i++) {
            var m = models.get(i);
            intro.append(String.format("- **%s**: `%s`, %s, %,d parameters%n", m.label(), checkpoints.get(i), describe(m.model().config()),
                    m.model().params().count()));
        }
        stdout().println("wrote " + suite.writeReport("ttt4j eval: " + String.join(", ", run), intro.toString()) + " (JSON and PNG beside it)");
        return 0;
    }

    /** A model's method, from its config. */
    static String describe(ModelConfig c) {
        return Methods.of(c).describe(c);
    }

    /** The same weights with another inner learning rate; a model that is not TTT-E2E is refused. */
    static Decoder withInnerLr(Decoder model, double lr) {
        ModelConfig c = model.config();
        E2eSettings e = E2eSettings.of(c);
        if (e == null) throw new IllegalArgumentException("--e2e-inner-lr: the model is not TTT-E2E (its config has no e2e section)");
        return new Decoder(c.withSection("e2e", new E2eSettings(e.suffixBlocks(), e.chunk(), lr, e.clip(), e.firstOrder())).validate(),
                new org.ttt4j.lm.layers.Params(model.params().all()));
    }
}
