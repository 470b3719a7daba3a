package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ttt4j.lm.io.AtomicFiles;
import picocli.CommandLine;

/**
 * {@code ttt4j experiment warm-start}: what starting from a pretrained attention model costs and
 * gains. A full-attention model is pretrained (or given with {@code --model}); then, on the same
 * fine-tuning tokens at a longer context, it is (a) continued as full attention, (b) converted to
 * sliding-window attention and fine-tuned, (c) converted to TTT-E2E and meta-fine-tuned, and (d)
 * TTT-E2E of the same architecture is trained from scratch on the pretraining plus the fine-tuning
 * tokens. Every stage is a {@code train} or {@code convert} command line recorded in
 * {@code plan.json}; each stage's result is a folder, so a re-run resumes where the last stopped.
 * Wall time per stage accumulates in {@code timings.json}.
 */
final class WarmStart {
    /**
     * One size of the experiment.
     *
     * @param pretrainContext tokens per pretraining sequence, and the converted models' window
     * @param context tokens per fine-tuning sequence
     */
    record Size(String name, String modelPreset, String corpus, String tokenizer, int pretrainContext, int pretrainSteps, int context,
                int steps, int batch, int chunk, double lr, int evalDocs, int evalTokens) {
        static Size byName(String name) {
            return switch (name) {
                // Tiny, bytes, a package of the JDK: seconds; the tests run it.
                case "smoke" -> new Size("smoke", "tiny", "default;include=java.base/java/util/concurrent/**", "bytes", 32, 12, 64, 6, 2, 8,
                        3e-3, 2, 128);
                // The `small` model on the JDK sources: pretrain at 256 tokens, fine-tune at 1,024 with a window of 256.
                case "small" -> new Size("small", "small", "default", "bpe:8192", 256, 300, 1024, 60, 4, 32, 3e-3, 8, 1024);
                default -> throw new IllegalArgumentException("--size: unknown \"" + name + "\" (known: smoke, small)");
            };
        }
    }

    /** The stages, in order: what each is and the arms it feeds. */
    static final List<String> ARMS = List.of("full-continued", "swa-converted", "e2e-converted", "e2e-scratch");

    private final Size size;
    private final Path root;
    private final Path given;
    private final long seed;
    private final PrintWriter out, err;

    WarmStart(Size size, Path root, Path given, long seed, PrintWriter out, PrintWriter err) {
        this.size = size;
        this.root = root;
        this.given = given;
        this.seed = seed;
        this.out = out;
        this.err = err;
    }

    Path run(String stage) {
        return root.resolve("runs").resolve(stage);
    }

    /** The pretrained model: the given one or the pretraining run. */
    Path pretrained() {
        return given != null ? given : run("pretrained");
    }

    /** Every stage's command line (train or convert), in order. */
    Map<String, List<String>> plan() {
        Map<String, List<String>> p = new LinkedHashMap<>();
        List<String> norms = List.of("--qk-norm", "true", "--post-norm", "true");
        if (given == null) {
            List<String> f = new ArrayList<>(common(size.pretrainContext(), size.pretrainSteps(), run("pretrained")));
            f.addAll(List.of("--preset", size.modelPreset(), "--tokenizer", size.tokenizer(), "--mixers", "full"));
            f.addAll(norms);
            p.put("pretrained", withCommand("train", f));
        }
        int window = size.pretrainContext();
        p.put("full-continued", withCommand("train", fineTune(pretrained(), run("full-continued"))));
        p.put("swa-model", List.of("convert", "--to", "swa", "--model", pretrained().toString(), "--window", "" + window,
                "--out", root.resolve("converted/swa").toString()));
        p.put("swa-converted", withCommand("train", fineTune(root.resolve("converted/swa"), run("swa-converted"))));
        p.put("e2e-model", List.of("convert", "--to", "e2e", "--model", pretrained().toString(), "--window", "" + window,
                "--chunk", "" + size.chunk(), "--seed", "" + seed, "--out", root.resolve("converted/e2e").toString()));
        p.put("e2e-converted", withCommand("train", fineTune(root.resolve("converted/e2e"), run("e2e-converted"))));
        // From scratch: the converted model's own config (same architecture, fresh weights), on the
        // pretraining and the fine-tuning tokens, at the fine-tuning context.
        List<String> scratch = new ArrayList<>(common(size.context(), scratchSteps(), run("e2e-scratch")));
        scratch.addAll(List.of("--config", root.resolve("converted/e2e/config.json").toString(), "--tokenizer", tokenizerOf()));
        p.put("e2e-scratch", withCommand("train", scratch));
        return p;
    }

    /** Tokens of the pretraining and of the fine-tuning. */
    private long pretrainTokens() {
        return (long) size.pretrainSteps() * size.batch() * size.pretrainContext();
    }

    private long fineTuneTokens() {
        return (long) size.steps() * size.batch() * size.context();
    }

    /** The from-scratch run's steps at the fine-tuning context: as many tokens as pretraining and fine-tuning together, rounded up. */
    private int scratchSteps() {
        return (int) Math.ceil((pretrainTokens() + fineTuneTokens()) / (double) (size.batch() * size.context()));
    }

    /**
     * The scratch run's tokenizer, the same ids as the pretrained model's: the pretraining run's own
     * BPE folder or the named one; for a given model its tokenizer.json ({@code hf}, copied into the
     * run before it starts), its BPE folder, its {@code tokenizer.spec}, or its run's spec.
     */
    private String tokenizerOf() {
        if (given == null) return size.tokenizer().startsWith("bpe:") ? run("pretrained").resolve("tokenizer").toString() : size.tokenizer();
        try {
            if (Files.isDirectory(given.resolve("tokenizer"))) return given.resolve("tokenizer").toString();
            if (Files.isRegularFile(given.resolve("tokenizer.json"))) return org.ttt4j.lm.train.RunSetup.HF_SPEC;
            if (Files.isRegularFile(given.resolve(Checkpoints.TOKENIZER_SPEC))) return Files.readString(given.resolve(Checkpoints.TOKENIZER_SPEC)).strip();
            var state = Checkpoints.load(given).checkpoint().state();
            if (state != null) return state.tokenizer();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalArgumentException("--model " + given + " names no tokenizer the from-scratch run could use");
    }

    private List<String> fineTune(Path model, Path run) {
        List<String> f = new ArrayList<>(common(size.context(), size.steps(), run));
        f.addAll(List.of("--model", model.toString()));
        return f;
    }

    private List<String> common(int context, int steps, Path run) {
        return new ArrayList<>(List.of("--corpus", size.corpus(), "--context", "" + context, "--batch", "" + size.batch(), "--steps", "" + steps,
                "--lr", "" + size.lr(), "--eval-every", "" + Math.max(1, steps / 4), "--checkpoint-every", "" + Math.max(1, steps / 4),
                "--eval-batches", "2", "--seed", "" + seed, "--out", run.toString()));
    }

    private static List<String> withCommand(String command, List<String> flags) {
        List<String> l = new ArrayList<>();
        l.add(command);
        l.addAll(flags);
        return l;
    }

    /** Runs every stage not done yet; returns the exit code of the first that fails, else 0. */
    int train(Map<String, List<String>> plan) throws Exception {
        var json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Map<String, Double> timings = timings();
        for (var e : plan.entrySet()) {
            String stage = e.getKey();
            List<String> cmd = e.getValue();
            boolean isTrain = cmd.getFirst().equals("train");
            int steps = isTrain ? Integer.parseInt(cmd.get(cmd.indexOf("--steps") + 1)) : 0;
            Path target = Path.of(cmd.get(cmd.indexOf("--out") + 1));
            boolean done = isTrain ? ExperimentCommand.finishedStep(target) >= steps : Files.isRegularFile(target.resolve("config.json"));
            if (done) {
                out.printf("[warm-start] %s: done, skipped%n", stage);
                continue;
            }
            cmd = ownTokenizer(cmd, target);
            out.printf("[warm-start] %s: ttt4j %s%n", stage, ExperimentCommand.shell(cmd));
            long t0 = System.nanoTime();
            Object command = isTrain ? new TrainCommand() : new ConvertCommand();
            int code = new CommandLine(command).setOut(out).setErr(err).setExecutionExceptionHandler(Main.commandLine().getExecutionExceptionHandler())
                    .execute(cmd.subList(1, cmd.size()).toArray(String[]::new));
            double seconds = (System.nanoTime() - t0) / 1e9;
            timings.merge(stage, seconds, Double::sum);
            AtomicFiles.write(root.resolve("timings.json"), json.writeValueAsBytes(timings));
            if (code != 0) {
                err.printf("[warm-start] %s: stopped with exit code %d; re-run the same command to resume%n", stage, code);
                return code;
            }
        }
        return 0;
    }

    /**
     * A run trained with another model's tokenizer keeps a copy in its own {@code tokenizer/}
     * folder, as a run that learned its BPE does: a BPE folder given as {@code --tokenizer} is
     * copied there and named {@code bpe:N}; a Hugging Face tokenizer.json ({@code hf}) too.
     */
    private List<String> ownTokenizer(List<String> cmd, Path run) throws IOException {
        int i = cmd.indexOf("--tokenizer");
        if (i < 0) return cmd;
        String spec = cmd.get(i + 1);
        Path dir = run.resolve("tokenizer");
        if (spec.equals(org.ttt4j.lm.train.RunSetup.HF_SPEC)) {
            Files.createDirectories(dir);
            if (!Files.exists(dir.resolve("tokenizer.json"))) Files.copy(given.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
            return cmd;
        }
        Path folder = Path.of(spec);
        if (!Files.isDirectory(folder)) return cmd;
        Files.createDirectories(dir);
        try (var files = Files.list(folder)) {
            for (Path f : files.toList()) if (!Files.exists(dir.resolve(f.getFileName()))) Files.copy(f, dir.resolve(f.getFileName()));
        }
        List<String> r = new ArrayList<>(cmd);
        r.set(i + 1, "bpe:" + org.ttt4j.lm.tokenizer.BpeTokenizer.load(dir).vocabSize());
        return r;
    }

    /** Seconds each stage took (all sessions), 0 for a stage with no record. */
    Map<String, Double> timings() throws IOException {
        Path f = root.resolve("timings.json");
        Map<String, Double> r = new LinkedHashMap<>();
        if (!Files.exists(f)) return r;
        new ObjectMapper().readTree(f.toFile()).fields().forEachRemaining(e -> r.put(e.getKey(), e.getValue().asDouble()));
        return r;
    }

    /** The report's opening: the setup, one row per model (tokens, time, losses), and the warm start against scratch. */
    String intro(Map<String, List<String>> plan, List<EvalSuite.Model> models, List<org.ttt4j.lm.eval.LossByPosition> losses) throws IOException {
        Map<String, Double> t = timings();
        long pre = pretrainTokens(), fine = fineTuneTokens();
        StringBuilder s = new StringBuilder();
        s.append(String.format("Size `%s`: model preset `%s`, corpus `%s`. %s Fine-tuning: %d steps of %d x %,d tokens (%,d tokens, the same"
                        + " sequences for every arm: same seed and sampler) at lr %s; the converted models' window is %d (the pretraining"
                        + " context, so at conversion they compute what the source does on %d tokens), TTT-E2E's chunk %d. The"
                        + " from-scratch TTT-E2E has the converted model's architecture and trains on as many tokens as pretraining and"
                        + " fine-tuning together. Seed %d; one seed per arm.%n%n",
                size.name(), size.modelPreset(), size.corpus(),
                given != null ? "Pretrained model: `" + given + "` (given)." : String.format("Pretraining: full attention, %d steps of %d x %d tokens (%,d tokens).",
                        size.pretrainSteps(), size.batch(), size.pretrainContext(), pre),
                size.steps(), size.batch(), size.context(), fine, size.lr(), size.pretrainContext(), size.pretrainContext(), size.chunk(), seed));
        s.append("| model | trained on | tokens | time (s) | parameters | held-out loss (all tokens) | held-out loss, last bucket | validation loss |\n");
        s.append("|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < models.size(); i++) {
            String label = models.get(i).label();
            var r = losses.get(i);
            var last = r.buckets().getLast();
            double seconds = switch (label) {
                case "pretrained" -> t.getOrDefault("pretrained", 0.0);
                case "swa-converted" -> t.getOrDefault("swa-model", 0.0) + t.getOrDefault(label, 0.0);
                case "e2e-converted" -> t.getOrDefault("e2e-model", 0.0) + t.getOrDefault(label, 0.0);
                default -> t.getOrDefault(label, 0.0);
            };
            String what = switch (label) {
                case "pretrained" -> given != null ? "(given)" : "pretraining";
                case "e2e-scratch" -> "pretraining + fine-tuning tokens";
                default -> "fine-tuning, from the pretrained model";
            };
            long tokens = switch (label) {
                case "pretrained" -> given != null ? 0 : pre;
                case "e2e-scratch" -> (long) scratchSteps() * size.batch() * size.context();
                default -> fine;
            };
            Double val = lastValidation(label.equals("pretrained") ? pretrained() : run(label));
            s.append(String.format("| %s | %s | %,d | %.0f | %,d | %.3f | %.3f (tokens %d-%d) | %s |%n", label, what, tokens, seconds,
                    models.get(i).model().params().count(), r.meanLoss(), last.meanLoss(), last.from(), last.to() - 1,
                    val == null ? "" : String.format("%.3f", val)));
        }
        int conv = indexOf(models, "e2e-converted"), scratch = indexOf(models, "e2e-scratch");
        double warm = t.getOrDefault("e2e-model", 0.0) + t.getOrDefault("e2e-converted", 0.0), cold = t.getOrDefault("e2e-scratch", 0.0);
        double preSec = t.getOrDefault("pretrained", 0.0);
        s.append(String.format("%nTTT-E2E warm-started against from scratch: %+.3f nats over all held-out tokens (converted minus scratch);"
                        + " the warm start took %.0f s, %.2f of the scratch run's %.0f s (%.2f counting the pretraining%s). A public"
                        + " reproduction at 125M found the warm start about 7x cheaper in GPU-hours and 0.3-0.6 nats worse than"
                        + " TTT-E2E from scratch.%n%n",
                losses.get(conv).meanLoss() - losses.get(scratch).meanLoss(), warm, warm / Math.max(1e-9, cold), cold,
                (warm + preSec) / Math.max(1e-9, cold), given != null ? ", which here was given and not timed" : ""));
        s.append("The commands (`plan.json`):\n\n```\n");
        plan.forEach((stage, cmd) -> s.append("ttt4j ").append(ExperimentCommand.shell(cmd)).append('\n'));
        s.append("```\n\n![training](training.png)\n");
        return s.toString();
    }

    private static int indexOf(List<EvalSuite.Model> models, String label) {
        for (int i = 0; i < models.size(); i++) if (models.get(i).label().equals(label)) return i;
        throw new IllegalStateException("no model " + label);
    }

    private static Double lastValidation(Path run) throws IOException {
        return Files.isDirectory(run) ? org.ttt4j.lm.train.Trainer.lastValidationLoss(run, Long.MAX_VALUE) : null;
    }
}
