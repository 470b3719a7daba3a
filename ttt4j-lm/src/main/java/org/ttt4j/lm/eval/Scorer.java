package org.ttt4j.lm.eval;

import org.ttt4j.lm.methods.Methods;
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
        // Each method scores its way: TTT-E2E models learn while they read (in their own chunks).
        return Methods.of(model.config()).tokenLosses(model, tokens, chunk);
    }
}
