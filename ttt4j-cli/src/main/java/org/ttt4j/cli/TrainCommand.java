package org.ttt4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.ttt4j.lm.data.Corpus;
import org.ttt4j.lm.data.CorpusSource;
import org.ttt4j.lm.data.SampledSource;
import org.ttt4j.lm.data.Split;
import org.ttt4j.lm.data.TokenizedCorpus;
import org.ttt4j.lm.io.FolderLock;
import org.ttt4j.lm.io.StateFile;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.methods.OptionValues;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.tokenizer.Tokenizer;
import org.ttt4j.lm.train.CheckpointStore;
import org.ttt4j.lm.train.RunSetup;
import org.ttt4j.lm.train.SamplerBatches;
import org.ttt4j.lm.train.TrainOptions;
import org.ttt4j.lm.train.Trainer;
import org.ttt4j.lm.train.TrainerState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ttt4j train}: a model from a preset or config on a corpus, resumable. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false, modelTransformer = MethodOptions.class,
        description = {"Train a language model (resumable).",
                "Re-running with the same --out resumes from its last checkpoint, reproducing exactly the",
                "losses of an uninterrupted run. Ctrl-C saves a checkpoint and exits."})
public final class TrainCommand extends CommandIo implements Callable<Integer> {
    @Option(names = "--preset", description = "model size: tiny, demo, small or bench (default: ${DEFAULT-VALUE})", defaultValue = "small")
    String preset;
    @Option(names = "--config", description = "model config JSON (overrides --preset; default: none)")
    Path config;
    @Option(names = "--model", paramLabel = "MODEL", description = "start from the weights, config and tokenizer of this model or run folder (e.g. an extension"
            + " fine-tune with a longer --context); model options other than --context are refused (default: none, fresh weights)")
    Path initFrom;
    @Option(names = "--mixers", description = "block pattern of mixers, e.g. full, swa, ttt_linear or swa:5,full:1 (every registered mixer: ttt4j info; default: the preset's)")
    String mixers;
    @Option(names = "--window", description = "sliding-window size of swa blocks (default: the preset's)")
    Integer window;
    @Option(names = "--d-ff", description = "MLP (SwiGLU) width of every block (default: the preset's)")
    Integer dFf;
    @Option(names = "--e2e-inner-lr-warmup", description = "TTT-E2E: fraction of the steps over which the inner-LR multiplier ramps"
            + " from 0.1 to 1 (default: 0.1; 0 with --model, as the official fine-tuning keeps it at 1)") Double e2eInnerLrWarmup;
    @Option(names = "--rope-theta", description = "RoPE base frequency (default: the config's; 500000 with --e2e, the official"
            + " TTT-E2E value)") Double ropeTheta;
    @Option(names = "--qk-norm", arity = "1", description = "RMSNorm of each head's queries and keys, true or false (default: the config's)")
    Boolean qkNorm;
    @Option(names = "--post-norm", arity = "1", description = "sandwich norms: RMSNorm of each sub-layer's output, true or false (default: the config's)")
    Boolean postNorm;
    @Option(names = "--corpus", defaultValue = "default",
            description = "PATH[;include=GLOB,..][;exclude=GLOB,..]: a file, folder, .zip or .gz (default: ${DEFAULT-VALUE}, the JDK's lib/src.zip)")
    String corpus;
    @Option(names = "--corpus-sample", paramLabel = "auto|all", description = "auto: read only as many training documents as the run"
            + " can consume (" + SampledSource.BYTES_PER_TOKEN + " bytes of text per token it trains on), picked by a hash of their names,"
            + " plus every validation document; all: the whole corpus (default: auto with --preset tiny, else all)")
    String corpusSample;
    @Option(names = "--tokenizer", defaultValue = "bpe:8192",
            description = "bytes, gpt2, cl100k_base, a BPE folder, or bpe:N to learn one of N ids (default: ${DEFAULT-VALUE})")
    String tokenizer;
    @Option(names = "--out", description = "run folder (default: runs/<preset>-<mixers>)")
    Path out;
    @Option(names = "--steps", defaultValue = "2000", description = "optimizer steps; the cosine schedule spans them (default: ${DEFAULT-VALUE})") long steps;
    @Option(names = "--batch", defaultValue = "8", description = "sequences per micro-batch (default: ${DEFAULT-VALUE})") int batch;
    @Option(names = "--context", description = "tokens per sequence (default: the config's context)") Integer context;
    @Option(names = "--lr", defaultValue = "3e-3", description = "peak learning rate (default: ${DEFAULT-VALUE})") double lr;
    @Option(names = "--min-lr", description = "final learning rate (default: lr / 10)") Double minLr;
    @Option(names = "--warmup", description = "warmup steps (default: steps / 10)") Long warmup;
    @Option(names = "--weight-decay", defaultValue = "0.1", description = "AdamW weight decay (default: ${DEFAULT-VALUE})") double weightDecay;
    @Option(names = "--weight-decay-on", defaultValue = "all", description = "parameters that decay: all (the official TTT-E2E"
            + " recipe) or matrices (not norm scales or biases); default: ${DEFAULT-VALUE}") String weightDecayOn;
    @Option(names = "--mask-boundary-targets", arity = "1", defaultValue = "true", description = "leave targets that are the"
            + " document-boundary token out of the loss, true or false (default: ${DEFAULT-VALUE}, as the official code masks them)")
    boolean maskBoundaryTargets;
    @Option(names = "--clip", defaultValue = "1.0", description = "global gradient-norm clip (default: ${DEFAULT-VALUE})") double clip;
    @Option(names = "--accumulate", defaultValue = "1", description = "micro-batches per optimizer step (default: ${DEFAULT-VALUE})") int accumulate;
    @Option(names = "--eval-every", description = "steps between validation (default: steps / 10)") Integer evalEvery;
    @Option(names = "--eval-batches", defaultValue = "8", description = "validation batches, 0 for none (default: ${DEFAULT-VALUE})") int evalBatches;
    @Option(names = "--checkpoint-every", description = "steps between checkpoints (default: steps / 10)") Integer checkpointEvery;
    @Option(names = "--keep", defaultValue = "3", description = "checkpoints to keep (default: ${DEFAULT-VALUE})") int keep;
    @Option(names = "--log-every", defaultValue = "10", description = "steps between progress lines (default: ${DEFAULT-VALUE})") int logEvery;
    @Option(names = "--seed", defaultValue = "1234", description = "seed of the initial weights and the batch order (default: ${DEFAULT-VALUE})") long seed;

    @Override
    public Integer call() throws Exception {
        Checkpoints.Loaded init = null;
        OptionValues values = MethodOptions.values(spec);
        if (initFrom != null) {
            if (config != null || mixers != null || dFf != null || window != null || ropeTheta != null || qkNorm != null || postNorm != null
                    || MethodOptions.all().stream().anyMatch(o -> values.given(o.name()))) {
                throw new IllegalArgumentException("--model takes the model (config, weights, tokenizer) from " + initFrom + ": only --context may change it");
            }
            init = Checkpoints.load(initFrom);
            stdout().printf("initial weights: %s (step %d)%n", init.checkpoint().folder(),
                    init.checkpoint().state() == null ? 0 : init.checkpoint().state().step());
        }
        ModelConfig c = init != null ? init.checkpoint().config() : config != null ? StateFile.read(config, ModelConfig.class) : Presets.byName(preset);
        if (mixers != null || window != null) c = c.withMixers(mixers != null ? mixers : c.mixers(), window != null ? window : c.window());
        if (context != null) c = c.withContext(context);
        if (dFf != null) c = c.withFeedForward(dFf);
        if (qkNorm != null || postNorm != null) {
            c = c.withNorms(qkNorm != null ? qkNorm : c.qkNorm(), postNorm != null ? postNorm : c.postNorm());
        }
        if (ropeTheta != null) c = c.withRopeTheta(ropeTheta);
        // Each method applies its own options (TTT layers their section, TTT-E2E its matched model).
        for (Method m : Methods.all()) c = m.configure(c, values, config != null, stream(stdout()));
        if (e2eInnerLrWarmup != null && !Methods.of(c).governs(c)) {
            throw new IllegalArgumentException("--e2e-inner-lr-warmup needs a model with an inner learning rate (TTT-E2E: --e2e, or --model one)");
        }
        // Everything that can be checked without the corpus is checked before a folder is made or a tokenizer trained.
        try {
            c.validate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(mixers != null && e.getMessage().contains("mixers") ? "--mixers " + mixers + ": " + e.getMessage() : e.getMessage(), e);
        }
        String sample = corpusSample != null ? corpusSample : preset.equals("tiny") && config == null && init == null ? "auto" : "all";
        if (!sample.equals("auto") && !sample.equals("all")) {
            throw new IllegalArgumentException("--corpus-sample: expected auto or all, got \"" + corpusSample + "\"");
        }
        Path run = out != null ? out : Path.of("runs", (config != null ? "custom" : preset) + "-" + c.mixers().replace(':', 'x').replace(',', '_'));
        if (finishedOrRefused(run)) return 0;
        try (var lock = FolderLock.acquire(run, "train")) {
            return train(c, init, run, sample.equals("auto"));
        }
    }

    /**
     * A run folder that holds a checkpoint: true (after saying so) when it finished these --steps;
     * refused when it was started with other --steps, as the cosine schedule spans the total (a
     * larger --steps would silently restart it). False when there is nothing to check.
     */
    private boolean finishedOrRefused(Path run) throws java.io.IOException {
        var latest = new CheckpointStore(run).latest();
        if (latest.isEmpty() || !Files.exists(latest.get().resolve("trainer.json"))) return false;
        TrainerState state;
        try {
            state = StateFile.read(latest.get().resolve("trainer.json"), TrainerState.class);
        } catch (java.io.IOException | RuntimeException damaged) {
            return false; // the trainer resumes past a damaged checkpoint and says so
        }
        long total = state.options().steps(), at = state.step();
        if (total != steps) {
            throw new IllegalArgumentException(String.format("--steps %d: %s was %s with --steps %d, and its learning-rate schedule (warmup and"
                    + " cosine decay) spans that total; %s, or to train further start a new run from it: ttt4j train --model %s --out NEW_FOLDER"
                    + " --steps %d", steps, run, at >= total ? "trained to the end (step " + at + ")" : "started (now at step " + at + ")", total,
                    at >= total ? "re-run with --steps " + total + " to see its result" : "resume it with --steps " + total, run, steps));
        }
        if (at < total) return false;
        Double val = Trainer.lastValidationLoss(run, at);
        stdout().printf("%s already finished at step %d (last loss %.4f%s); nothing to train. Checkpoint %s%n", run, at, state.lastLoss(),
                val == null ? "" : String.format(", validation %.4f", val), latest.get());
        return true;
    }

    /**
     * The tokenizer spec of the initial model: its run's (trainer.json), an exported folder's own BPE
     * ({@code tokenizer/}, copied into the new run) or {@code tokenizer.spec}; never a guess.
     */
    private static String initialTokenizer(Checkpoints.Loaded init) throws java.io.IOException {
        var ck = init.checkpoint();
        if (ck.state() != null) return ck.state().tokenizer();
        if (init.tokenizer() instanceof org.ttt4j.lm.tokenizer.HfTokenizer) return org.ttt4j.lm.train.RunSetup.HF_SPEC;
        Path spec = ck.folder().resolve(Checkpoints.TOKENIZER_SPEC);
        if (Files.isRegularFile(spec)) return Files.readString(spec).strip();
        if (Files.isDirectory(ck.folder().resolve("tokenizer"))) return "bpe:" + init.tokenizer().vocabSize();
        throw new IllegalArgumentException("--model " + ck.folder() + " names no tokenizer (no trainer.json, tokenizer/ or "
                + Checkpoints.TOKENIZER_SPEC + ")");
    }

    /** Training, with the run folder locked. */
    private int train(ModelConfig c, Checkpoints.Loaded init, Path run, boolean sample) throws Exception {
        String tokenizer = this.tokenizer;
        if (init != null) {
            // The same ids as the initial weights: reuse their tokenizer (its files, a BPE or a tokenizer.json, are copied into the new run).
            tokenizer = initialTokenizer(init);
            if (tokenizer.startsWith("bpe:") || tokenizer.equals(org.ttt4j.lm.train.RunSetup.HF_SPEC)) {
                Checkpoints.copyTokenizer(init, run.resolve("tokenizer"));
            }
        }
        Split split = Split.defaults();
        try (CorpusSource whole = Corpus.open(corpus)) {
            // A short run reads a sample: as many training documents as it can consume, and the whole corpus's validation documents.
            CorpusSource source = sample
                    ? SampledSource.of(whole, split, steps * batch * accumulate * (c.context() + 1L) * SampledSource.BYTES_PER_TOKEN) : whole;
            stdout().println("corpus: " + source.description());
            Tokenizer tok = RunSetup.tokenizer(tokenizer, source, split, run, stdoutStream());
            if (tok.vocabSize() != c.vocabSize() && init == null) {
                stdout().printf("vocabulary: %d ids from tokenizer %s (config said %d)%n", tok.vocabSize(), tok.name(), c.vocabSize());
                c = c.withVocab(tok.vocabSize());
            }
            c.validate();
            var builder = TrainOptions.builder().steps(steps).batch(batch).context(c.context()).accumulate(accumulate).lr(lr)
                    .weightDecay(weightDecay).weightDecayOn(weightDecayOn).clip(clip).evalBatches(evalBatches).keepLast(keep).logEvery(logEvery)
                    .seed(seed).innerLrWarmup(e2eInnerLrWarmup != null ? e2eInnerLrWarmup : init != null ? 0.0 : 0.1)
                    .maskBoundaryTargets(maskBoundaryTargets);
            if (minLr != null) builder.minLr(minLr);
            if (warmup != null) builder.warmup(warmup);
            if (evalEvery != null) builder.evalEvery(evalEvery);
            if (checkpointEvery != null) builder.checkpointEvery(checkpointEvery);
            var opts = builder.build().validate();
            try (TokenizedCorpus tc = TokenizedCorpus.open(source, tok, split, RunSetup.cacheRoot().resolve("tokens"),
                    TokenizedCorpus.Options.defaults().withLog(stream(stderr())))) {
                stdout().printf("tokens: %,d train, %,d validation (%s)%n", tc.train().tokens(), tc.validation().tokens(), tc.directory());
                var data = new SamplerBatches(tc.sampler(batch, c.context(), seed), tc.documentBoundary());
                var val = SamplerBatches.validation(tc, batch, c.context(), evalBatches);
                String tokSpec = tokenizer.startsWith("bpe:") || tokenizer.equals(org.ttt4j.lm.train.RunSetup.HF_SPEC) ? tokenizer : tok.name();
                Decoder model = new Decoder(c, seed);
                if (init != null) CheckpointStore.copyInto(init.checkpoint().model(), model.params().all(), "model " + initFrom);
                var result = new Trainer(model, data, () -> val, opts, run, tokSpec, stdoutStream()).run();
                stdout().printf("%s at step %d: loss %.4f%s; checkpoint %s; metrics %s%n", result.outcome().name().toLowerCase(),
                        result.step(), result.lastLoss(), result.lastValLoss() == null ? "" : String.format(", validation %.4f", result.lastValLoss()),
                        result.lastCheckpoint(), run.resolve("metrics.jsonl"));
                return switch (result.outcome()) {
                    case FINISHED -> 0;
                    case INTERRUPTED -> 130;
                    case DIVERGED -> 2;
                };
            }
        }
    }
}
