package org.ttt4j.lm.model;

/**
 * The sequence mixer of one block, as named in the config's {@code mixers} pattern, and the keys
 * each query sees ({@code window}; 0 for all: full causal attention and recurrent layers).
 */
public record Mixer(String name, int window) {
    public Mixer {
        if (window < 0) throw new IllegalArgumentException("mixer window must be >= 0, got " + window);
    }

    /** Whether each query sees only the last {@code window} keys (a sliding window). */
    public boolean windowed() {
        return window > 0;
    }
}
