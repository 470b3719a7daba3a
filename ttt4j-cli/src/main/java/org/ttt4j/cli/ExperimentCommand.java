package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.ttt4j.cli.report.Plots;
import org.ttt4j.lm.eval.Niah;
import org.ttt4j.lm.io.AtomicFiles;
import org.ttt4j.lm.io.StateFile;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.MatchedSize;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.train.CheckpointStore;
import org.ttt4j.lm.train.TrainerState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/**
 * {@code ttt4j experiment PRESET}: trains the method family at matched parameter counts on the same
 * tokens, evaluates every model with the suite, writes a report folder. Each method is trained by
 * the {@code train} command with the flags recorded in {@code plan.json}, so any run can be
 * reproduced or extended by hand; each stage's result is a file, so a re-run resumes where the
 * last one stopped (a killed training run resumes from its last checkpoint, exactly).
 */
@Command(name = "experiment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train and compare the whole method family (resumable).",
                "Trains full attention, SWA, a hybrid, TTT-Linear, TTT-MLP, TTT-E2E and naive",
                "TTT at matched parameter counts on the same tokens, then runs the evaluation",
                "suite on all of them (loss by position, loss delta vs full attention, needles",
                "in a haystack, latency) and writes OUT/report/report.md with JSON and PNGs.",
                "Re-running the same command resumes where it stopped.",
                "Presets: smoke (tiny, every method, under a minute) and small (the real",
                "comparison, 1-2 hours on 2 cores).",
                "warm-start: pretrain full attention (or take --model), then on the same fine-tuning",
                "tokens continue it, convert it to SWA and to TTT-E2E and fine-tune those, and train",
                "TTT-E2E from scratch; report loss by token index, time and tokens (--size smoke|small)."})
public final class ExperimentCommand extends CommandIo implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PRESET", description = "smoke or small (the method family), or warm-start") String presetName;
    @Option(names = "--out", description = "folder for the runs and the report (default: runs/experiment-PRESET)") Path out;
    @Option(names = "--report", description = "report folder (default: OUT/report)") Path reportDir;
    @Option(names = "--corpus", description = "training and evaluation corpus (default: the preset's; see train --help)") String corpus;
    @Option(names = "--haystack", description = "essay text for the needle tasks: a folder, file or .zip (default: data/prose/sotu if"
            + " fetched by scripts/fetch-prose.sh, else the corpus's documents)") Path haystack;
    @Option(names = "--steps", description = "training steps per method (default: the preset's)") Integer steps;
    @Option(names = "--task", split = ",", description = "evaluation tasks to run: loss-by-position, loss-delta, niah, latency,"
            + " qttt-probe (default: all)") List<String> tasks;
    @Option(names = "--methods", split = ",", description = "subset of: full, swa, hybrid, ttt_linear, ttt_mlp, e2e, naive_ttt (default: all; the"
            + " runs and report keep the labels ttt-linear, ttt-mlp, ttt-e2e, naive-ttt)")
    List<String> methods;

    @Option(names = "--size", description = "warm-start: smoke (tiny, seconds) or small (the `small` model, about half an hour) (default: small)")
    String size;
    @Option(names = "--model", paramLabel = "MODEL", description = "warm-start: start from this pretrained attention model (a Hugging Face,"
            + " run or model folder) instead of pretraining one (default: none)") Path given;
    @Option(names = "--seed", description = "warm-start: seed of the runs and of the new weights (default: 1234)") Long seed;

    @Override
    public Integer call() throws Exception {
        if (presetName.equals("warm-start")) return warmStart();
        if (size != null || given != null || seed != null) throw new IllegalArgumentException("--size, --model and --seed are warm-start's");
        ExperimentPreset p = ExperimentPreset.byName(presetName);
        if (steps != null) {
            if (steps < 1) throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
            p = p.withSteps(steps);
        }
        if (corpus != null) p = p.withCorpus(corpus);
        List<String> chosen = methods == null ? ExperimentPreset.METHODS : methods;
        for (String m : chosen) {
            if (!ExperimentPreset.METHODS.contains(m)) {
                throw new IllegalArgumentException("--methods: unknown method \"" + m + "\" (known: " + String.join(", ", ExperimentPreset.METHODS) + ")");
            }
        }
        List<String> evals = tasks == null ? EvalCommand.TASKS : tasks;
        for (String t : evals) {
            if (!EvalCommand.TASKS.contains(t)) throw new IllegalArgumentException("--task: unknown task \"" + t + "\" (known: " + String.join(", ", EvalCommand.TASKS) + ")");
        }
        Path root = out != null ? out : Path.of("runs", "experiment-" + p.name());
        try (var lock = org.ttt4j.lm.io.FolderLock.acquire(root, "experiment " + p.name())) {
            return run(p, chosen, evals, root);
        }
    }

    /** {@code experiment warm-start}, with its folder locked. */
    private int warmStart() throws Exception {
        if (methods != null || steps != null || tasks != null || corpus != null || haystack != null) {
            throw new IllegalArgumentException("warm-start takes --size, --model, --seed, --out and --report");
        }
        var sz = WarmStart.Size.byName(size == null ? "small" : size);
        Path root = out != null ? out : Path.of("runs", "warm-start-" + sz.name());
        if (given != null && !Files.exists(given)) throw new IllegalArgumentException("--model " + given + " does not exist");
        try (var lock = org.ttt4j.lm.io.FolderLock.acquire(root, "experiment warm-start")) {
            var ws = new WarmStart(sz, root, given == null ? null : given.toAbsolutePath(), seed == null ? 1234 : seed, stdout(), stderr());
            Path report = reportDir != null ? reportDir : root.resolve("report");
            Files.createDirectories(report);
            var plan = ws.plan();
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("size", sz);
            Map<String, String> commands = new LinkedHashMap<>();
            plan.forEach((stage, cmd) -> commands.put(stage, "ttt4j " + shell(cmd)));
            doc.put("commands", commands);
            AtomicFiles.write(report.resolve("plan.json"), new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(doc));
            long t0 = System.nanoTime();
            int code = ws.train(plan);
            if (code != 0) return code;
            stdout().printf("[warm-start] training done (%.1f min this session); evaluating%n", (System.nanoTime() - t0) / 60e9);
            List<String> labels = new ArrayList<>(List.of("pretrained"));
            labels.addAll(WarmStart.ARMS);
            List<EvalSuite.Model> models = new ArrayList<>();
            List<Plots.Curve> curves = new ArrayList<>();
            for (String label : labels) {
                Path run = label.equals("pretrained") ? ws.pretrained() : ws.run(label);
                var loaded = Checkpoints.load(run);
                models.add(new EvalSuite.Model(label, loaded.model(), loaded.tokenizer()));
                if (Files.exists(run.resolve("metrics.jsonl"))) curves.add(PlotCommand.curve(run, label, 5));
            }
            var suite = new EvalSuite(report, true, stdout(), stderr());
            suite.lossByPosition(models, sz.corpus(), sz.evalDocs(), sz.context(), sz.evalTokens());
            suite.lossDelta("e2e-scratch");
            suite.qtttProbe(models, sz.corpus(), sz.evalDocs(), sz.context(), sz.evalTokens(), 64,
                    org.ttt4j.lm.methods.qttt.QtttOptions.defaults().withSteps(sz.name().equals("smoke") ? 4 : 16));
            Plots.trainingCurves(curves, "training loss (moving average) and validation loss", report.resolve("training.png"));
            Path md = suite.writeReport("ttt4j experiment warm-start (" + sz.name() + ")", ws.intro(plan, models, suite.losses()));
            stdout().printf("[warm-start] report: %s (%.1f min this session)%n", md, (System.nanoTime() - t0) / 60e9);
            return 0;
        }
    }

    /** The experiment, with its folder locked. */
    private int run(ExperimentPreset p, List<String> chosen, List<String> evals, Path root) throws Exception {
        Path report = reportDir != null ? reportDir : root.resolve("report");
        Files.createDirectories(report);
        Map<String, List<String>> plan = new LinkedHashMap<>();
        for (String m : chosen) plan.put(ExperimentPreset.label(m), trainFlags(p, m, root.resolve("runs").resolve(ExperimentPreset.label(m))));
        writePlan(p, plan, report.resolve("plan.json"));

        long t0 = System.nanoTime();
        for (var e : plan.entrySet()) {
            Path run = root.resolve("runs").resolve(e.getKey());
            long done = finishedStep(run);
            if (done >= p.steps()) {
                stdout().printf("[experiment] %s: trained (%d steps), skipped%n", e.getKey(), done);
                continue;
            }
            stdout().printf("[experiment] %s: ttt4j train %s%n", e.getKey(), shell(e.getValue()));
            int code = new CommandLine(new TrainCommand()).setOut(stdout()).setErr(stderr())
                    .setExecutionExceptionHandler(Main.commandLine().getExecutionExceptionHandler())
                    .execute(e.getValue().toArray(String[]::new));
            if (code != 0) {
                stderr().printf("[experiment] %s: training stopped with exit code %d; re-run the same command to resume%n", e.getKey(), code);
                return code;
            }
        }
        stdout().printf("[experiment] training done (%.1f min this session); evaluating%n", (System.nanoTime() - t0) / 60e9);

        List<EvalSuite.Model> models = new ArrayList<>();
        for (String m : chosen) {
            var loaded = Checkpoints.load(root.resolve("runs").resolve(ExperimentPreset.label(m)));
            // Naive TTT: trained without the inner loop, scored with it (the baseline meta-learning is measured against).
            Decoder model = m.equals("naive_ttt") ? EvalCommand.withInnerLr(loaded.model(), 1.0) : loaded.model();
            models.add(new EvalSuite.Model(ExperimentPreset.label(m), model, loaded.tokenizer()));
        }
        var suite = new EvalSuite(report, true, stdout(), stderr());
        if (evals.contains("loss-by-position") || evals.contains("loss-delta")) {
            suite.lossByPosition(models, p.corpus(), p.evalDocs(), p.evalTokens(), p.evalTokens());
        }
        if (evals.contains("loss-delta")) suite.lossDelta(chosen.contains("full") ? "full" : ExperimentPreset.label(chosen.getFirst()));
        if (evals.contains("niah")) {
            suite.niah(models, new EvalSuite.NiahSettings(List.of(Niah.Task.values()), p.niahContexts(), p.niahDepths(), p.niahSamples(),
                    haystack, p.corpus(), 1234));
        }
        if (evals.contains("latency")) suite.latency(models, p.latencyContexts(), p.latencyDecode(), 1024);
        if (evals.contains("qttt-probe")) {
            suite.qtttProbe(models, p.corpus(), p.evalDocs(), p.evalTokens(), p.evalTokens(), 64, org.ttt4j.lm.methods.qttt.QtttOptions.defaults());
        }
        List<Plots.Curve> curves = new ArrayList<>();
        for (String m : chosen) {
            curves.add(PlotCommand.curve(root.resolve("runs").resolve(ExperimentPreset.label(m)), ExperimentPreset.label(m), Math.max(1, p.steps() / 10)));
        }
        Plots.trainingCurves(curves, "training loss (moving average) and validation loss", report.resolve("training.png"));
        Path md = suite.writeReport("ttt4j experiment " + p.name(), intro(p, plan, models, curves));
        stdout().printf("[experiment] report: %s (%.1f min this session)%n", md, (System.nanoTime() - t0) / 60e9);
        return 0;
    }

    /** The {@code train} command line of one method; TTT layers get the MLP width that matches full attention's parameter count. */
    static List<String> trainFlags(ExperimentPreset p, String method, Path run) {
        List<String> f = new ArrayList<>(List.of("--preset", p.modelPreset(), "--corpus", p.corpus(), "--tokenizer", p.tokenizer(),
                "--context", "" + p.context(), "--batch", "" + p.batch(), "--steps", "" + p.steps(), "--lr", "" + p.lr(),
                "--eval-every", "" + Math.max(1, p.steps() / 4), "--checkpoint-every", "" + Math.max(1, p.steps() / 8), "--eval-batches", "4",
                "--seed", "1234", "--out", run.toString()));
        // Attention baselines carry TTT-E2E's qk and sandwich norms: the same architecture but for the inner loop.
        List<String> norms = List.of("--qk-norm", "true", "--post-norm", "true");
        switch (method) {
            case "full" -> f.addAll(List.of("--mixers", "full"));
            case "swa" -> f.addAll(List.of("--mixers", "swa", "--window", "" + p.window()));
            case "hybrid" -> f.addAll(List.of("--mixers", p.hybrid(), "--window", "" + p.window()));
            case "ttt_linear", "ttt_mlp" -> {
                String mixer = method;
                ModelConfig matched = MatchedSize.feedForwardFor(Presets.byName(p.modelPreset()).withMixers(mixer, p.window()),
                        MatchedSize.parameters(baseline(p)));
                f.addAll(List.of("--mixers", mixer, "--d-ff", "" + matched.dFf()));
            }
            case "e2e" -> f.addAll(List.of("--mixers", "swa", "--window", "" + p.window(), "--e2e"));
            case "naive_ttt" -> f.addAll(List.of("--mixers", "swa", "--window", "" + p.window(), "--e2e", "--e2e-inner-lr", "0"));
            default -> throw new IllegalArgumentException("unknown method " + method);
        }
        if (List.of("full", "swa", "hybrid").contains(method)) f.addAll(norms);
        // The recipe the published reports were trained with (before the official defaults of issue #16),
        // so that the presets reproduce them: boundary targets scored, decay on matrices, and for
        // TTT-E2E the presets' RoPE theta and a chunk as long as the window.
        f.addAll(List.of("--mask-boundary-targets", "false", "--weight-decay-on", "matrices"));
        if (method.equals("e2e") || method.equals("naive_ttt")) {
            f.addAll(List.of("--rope-theta", "" + Presets.byName(p.modelPreset()).ropeTheta(), "--e2e-chunk", "" + p.window()));
        }
        return f;
    }

    /** Full attention with the norms: the parameter count every method matches. */
    static ModelConfig baseline(ExperimentPreset p) {
        return Presets.byName(p.modelPreset()).withMixers("full", p.window()).withNorms(true, true);
    }

    /** The last saved step of a run, 0 if it has none. */
    static long finishedStep(Path run) throws IOException {
        var latest = new CheckpointStore(run).latest();
        if (latest.isEmpty() || !Files.exists(latest.get().resolve("trainer.json"))) return 0;
        return StateFile.read(latest.get().resolve("trainer.json"), TrainerState.class).step();
    }

    /** The arguments as one shell command line: those with shell metacharacters single-quoted. */
    static String shell(List<String> args) {
        return String.join(" ", args.stream().map(a -> a.matches("[A-Za-z0-9_./:,=+-]+") ? a : "'" + a.replace("'", "'\\''") + "'").toList());
    }

    private static void writePlan(ExperimentPreset p, Map<String, List<String>> plan, Path file) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("preset", p);
        Map<String, String> commands = new LinkedHashMap<>();
        plan.forEach((m, flags) -> commands.put(m, "ttt4j train " + shell(flags)));
        doc.put("train_commands", commands);
        AtomicFiles.write(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(doc));
    }

    private static String intro(ExperimentPreset p, Map<String, List<String>> plan, List<EvalSuite.Model> models, List<Plots.Curve> curves) {
        StringBuilder s = new StringBuilder();
        s.append(String.format("Preset `%s`: model preset `%s`, tokenizer `%s`, corpus `%s`; every method trained for %d steps of %d x %d tokens"
                        + " (%,d tokens, the same sequences for all: same seed and sampler), lr %s, window %d.%n%n",
                p.name(), p.modelPreset(), p.tokenizer(), p.corpus(), p.steps(), p.batch(), p.context(), (long) p.steps() * p.batch() * p.context(),
                p.lr(), p.window()));
        s.append("| method | parameters | validation loss at the last step | train command |\n|---|---|---|---|\n");
        for (int i = 0; i < models.size(); i++) {
            var m = models.get(i);
            double[] val = curves.get(i).valLoss();
            s.append(String.format("| %s | %,d | %s | `ttt4j train %s` |%n", m.label(), m.model().params().count(),
                    val.length == 0 ? "" : String.format("%.3f", val[val.length - 1]), shell(plan.get(m.label()))));
        }
        s.append("\nnaive-ttt is TTT-E2E's architecture trained with the inner loop off (inner lr 0) and evaluated with it on"
                + " (inner lr 1): test-time training without meta-learning. Validation losses are each run's own (through"
                + " the inner loop for TTT-E2E, without it for naive-ttt).\n\n![training](training.png)\n");
        return s.toString();
    }
}
