package org.ttt4j.lm.methods;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.ModelPart;

/**
 * A method of the family, one package each: a sequence mixer (full, swa, ttt_linear, ttt_mlp), a
 * way of training and reading a whole model (TTT-E2E), or a way of adapting at inference (qTTT).
 * Registered by one line in {@code META-INF/services/org.ttt4j.lm.model.ModelPart}; the trainer,
 * the scorer, inference sessions and the CLI find it through {@link Methods}.
 *
 * <p>Building: see {@link ModelPart}. Training, scoring and reading default to the plain decoder
 * (next-token loss, KV and recurrent caches); a method that {@link #governs} a model replaces them.
 */
public interface Method extends ModelPart {
    /** The name papers use, e.g. "TTT-Linear". */
    String title();

    /** One line on what the method does. */
    String summary();

    /** A model of config {@code c} in a few words, for reports: its mixers (and window), or what the governing method says. */
    default String describe(ModelConfig c) {
        return "mixers " + c.mixers() + (c.blockMixers().stream().anyMatch(m -> m.windowed()) ? ", window " + c.window() : "");
    }

    /** Options this method adds to {@code ttt4j train} (methods sharing an option name show it once). */
    default List<MethodOption> trainOptions() {
        return List.of();
    }

    /**
     * The config to train once this method's options are applied to {@code c} (the preset's, the
     * file's or the initial model's): unchanged when none of its options were given. Throws
     * naming the option when one does not apply. {@code fromFile}: the config came from a file,
     * whose fields are not changed but by options given. Says what it changed on {@code out}.
     */
    default ModelConfig configure(ModelConfig c, OptionValues values, boolean fromFile, PrintStream out) {
        return c;
    }

    /** Whether this method decides how a model of config {@code c} is trained, scored and read (TTT-E2E does). */
    default boolean governs(ModelConfig c) {
        return false;
    }

    /**
     * The training loss of a batch: {@code ids} and {@code targets} laid out [batch, t] (targets -1
     * ignored); differentiable with respect to the model's parameters when gradients are recorded.
     */
    default Tensor trainingLoss(Decoder model, int[] ids, int[] targets, int batch, int t, TrainingStep step) {
        return model.loss(ids, targets, batch, t);
    }

    /** losses[i] = -log p(tokens[i + 1] | tokens[0..i]), read in passes of at most {@code chunk} tokens. */
    default float[] tokenLosses(Decoder model, int[] tokens, int chunk) {
        if (tokens.length < 2) return new float[0];
        float[] losses = new float[tokens.length - 1];
        try (var s = GradMode.disabled()) {
            List<MixerCache> caches = model.newCaches(chunk);
            for (int at = 0; at < tokens.length - 1; at += chunk) {
                int end = Math.min(tokens.length - 1, at + chunk);
                int[] in = Arrays.copyOfRange(tokens, at, end);
                int[] target = Arrays.copyOfRange(tokens, at + 1, end + 1);
                Tensor logits = model.logits(in, caches);
                Tensor l = Nn.crossEntropy(Layout.reshape(logits, in.length, -1), target, -1);
                System.arraycopy(l.toFloatArray(), 0, losses, at, in.length);
            }
        }
        return losses;
    }

    /** A fresh session reading one sequence in passes of at most {@code maxChunk} tokens. */
    default MethodSession openSession(Decoder model, int maxChunk) {
        return new CacheSession(model, maxChunk);
    }

    /**
     * The session whose state {@link MethodSession#save} wrote to {@code file}; refuses, naming the
     * file and field, a state of another model or method or a damaged one.
     */
    default MethodSession loadSession(Decoder model, Path file) throws IOException {
        return CacheSession.load(model, file);
    }
}
