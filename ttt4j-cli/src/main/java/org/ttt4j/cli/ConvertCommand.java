package org.ttt4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.api.Convert;
import org.ttt4j.lm.io.AtomicFiles;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j convert}: a pretrained attention model (an imported Hugging Face folder, a run or an
 * exported folder) written as a TTT-E2E, sliding-window or hybrid model folder, every weight kept.
 */
@Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Turn a pretrained attention model into TTT-E2E, sliding-window or hybrid attention.",
                "Every weight of the source is kept; TTT-E2E adds a prime MLP (with its norms) to its last blocks.",
                "With --prime-init zero-out (the default) the converted model's output equals the source's on",
                "contexts the window covers, which the command checks on a probe and prints. The folder trains",
                "with `train --model OUT` (TTT-E2E: meta-learning through the inner loop) and opens everywhere",
                "a --model does."})
public final class ConvertCommand extends CommandIo implements Callable<Integer> {
    @Option(names = "--to", required = true, description = "e2e, swa or hybrid") String to;
    @Option(names = "--model", paramLabel = "MODEL", required = true,
            description = "the attention model: a Hugging Face folder, a run (its latest checkpoint), a checkpoint or a model folder") Path model;
    @Option(names = "--out", required = true, description = "model folder to write (must not exist or be empty)") Path out;
    @Option(names = "--window", description = "keys each sliding-window query sees (default: the source's context, so nothing it"
            + " was trained on falls outside)") Integer window;
    @Option(names = "--chunk", description = "TTT-E2E: tokens per inner step (default: window / 8, the official ratio)") Integer chunk;
    @Option(names = "--suffix-blocks", description = "TTT-E2E: the last blocks that get a prime MLP (default: a quarter of the blocks)")
    Integer suffixBlocks;
    @Option(names = "--prime-init", defaultValue = "zero-out", description = "TTT-E2E: zero-out (down projection zero: output unchanged),"
            + " copy (the block's MLP) or random (default: ${DEFAULT-VALUE})") String primeInit;
    @Option(names = "--pattern", description = "hybrid: the blocks' mixers, repeated (default: " + Convert.DEFAULT_HYBRID + ")") String pattern;
    @Option(names = "--seed", defaultValue = "0", description = "seed of the new random weights (default: ${DEFAULT-VALUE})") long seed;
    @Option(names = "--half", description = "store weights as F16 (default: F32)") boolean half;

    @Override
    public Integer call() throws Exception {
        var options = new Convert.Options(Convert.Target.parse(to), window, chunk, suffixBlocks, Convert.PrimeInit.parse(primeInit), pattern, seed);
        if (Files.exists(out)) {
            try (var entries = Files.list(out)) {
                if (entries.findAny().isPresent()) throw new IllegalArgumentException("--out " + out + " exists and is not empty");
            }
        }
        var source = Checkpoints.load(model);
        Decoder converted = Convert.convert(source.model(), options);
        ModelConfig c = converted.config();
        long before = source.model().params().count(), after = converted.params().count();
        stdout().printf("source:    %s, %,d parameters (%s)%n", Methods.of(source.model().config()).describe(source.model().config()), before, model);
        stdout().printf("converted: %s, %,d parameters (%,d new)%n", Methods.of(c).describe(c), after, after - before);
        int probe = Math.min(64, Math.min(c.window(), c.context()));
        stdout().printf("output against the source on a probe of %d tokens (inside the window): max |logit difference| %.3g%n", probe,
                maxLogitDifference(source.model(), converted, probe, source.tokenizer().vocabSize()));
        try (var lock = org.ttt4j.lm.io.FolderLock.acquireSibling(out, "convert")) {
            AtomicFiles.replaceDirectory(out, tmp -> {
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put("converted", "to " + to + ", prime init " + primeInit);
                Checkpoints.writeModelFolder(tmp, c, converted.params().all(), meta, source, half);
            });
        }
        stdout().printf("wrote %s; train it with: ./ttt4j train --model %s --out RUN%n", out, out);
        return 0;
    }

    /** The largest |logit| difference between the two models on {@code t} seeded random tokens. */
    static double maxLogitDifference(Decoder a, Decoder b, int t, int vocab) {
        var rng = new SplittableRandom(1);
        int[] ids = new int[t];
        for (int i = 0; i < t; i++) ids[i] = rng.nextInt(Math.max(1, vocab));
        try (var off = GradMode.disabled()) {
            float[] x = a.logits(ids, 1, t, 0).toFloatArray(), y = b.logits(ids, 1, t, 0).toFloatArray();
            double worst = 0;
            for (int i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
            return worst;
        }
    }
}
