package org.ttt4j.lm.eval;

import java.util.Arrays;
import java.util.List;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.methods.e2e.E2eLoop;
import org.ttt4j.lm.model.Decoder;

/**
 * Teacher-forced scoring: the loss of every token of a document given all tokens before it,
 * computed chunk by chunk through the KV caches so long documents never need a T x V logits
 * matrix (and sliding-window models keep constant memory).
 */
public final class Scorer {
    private Scorer() {}

    /** losses[i] = -log p(tokens[i + 1] | tokens[0..i]), length tokens.length - 1. */
    public static float[] tokenLosses(Decoder model, int[] tokens, int chunk) {
        if (tokens.length < 2) return new float[0];
        // TTT-E2E models learn while they read: score them through their inner loop (in its own chunks).
        if (model.config().e2e() != null) return E2eLoop.tokenLosses(model, tokens, E2eLoop.Options.of(model.config(), 1.0));
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
}
