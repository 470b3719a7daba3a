package org.ttt4j.lm.layers;

import org.ttt4j.core.tensor.Tensor;

/** The sequence-mixing sub-layer of a block: attention or a test-time-training layer. */
public interface SequenceMixer {
    /** Training / prefill of x [B, T, D] at positions start .. start+T-1 -> [B, T, D]. */
    Tensor apply(Tensor x, int start);

    /** Decoding: x [1, T, D] continues the sequence held by {@code cache}, which it updates. */
    Tensor apply(Tensor x, MixerCache cache);

    /**
     * Decoding one token on plain arrays, allocating nothing: {@code out[0..D)} = this mixer's output
     * for the input {@code x[0..D)} (already normed), continuing and updating {@code cache} exactly
     * as {@link #apply(Tensor, MixerCache)} of a one-token x would (up to fp32 rounding). Returns
     * false, touching nothing, when this mixer has no such path (the decode step then calls apply).
     */
    default boolean decodeOne(float[] x, float[] out, MixerCache cache) {
        return false;
    }

    /** A fresh cache for decoding one sequence in chunks of at most {@code maxChunk} tokens. */
    MixerCache newCache(int maxChunk);
}
