package org.ttt4j.lm.layers;

/** What one block's sequence mixer carries from one decoding step to the next. */
public interface MixerCache {
    /** Total positions seen (the next token's position). */
    long position();

    /** Floats held (memory accounting for benchmarks). */
    long floats();
}
