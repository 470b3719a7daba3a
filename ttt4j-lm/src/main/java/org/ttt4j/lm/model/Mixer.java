package org.ttt4j.lm.model;

import org.ttt4j.lm.layers.ttt.InnerLoop;

/**
 * The sequence mixer of one block, as named in configs. Attention variants share code and differ
 * by their window; the TTT layers differ by their inner model.
 */
public sealed interface Mixer permits Mixer.FullAttention, Mixer.SlidingWindow, Mixer.Ttt {

    /** Keys visible to each query: 0 for unlimited (full causal attention, and TTT layers, which see all). */
    int window();

    /** The name used in configs: "full", "swa", "ttt_linear" or "ttt_mlp". */
    String configName();

    record FullAttention() implements Mixer {
        @Override public int window() { return 0; }
        @Override public String configName() { return "full"; }
    }

    /** Query i sees keys j with {@code i - window < j <= i}. */
    record SlidingWindow(int window) implements Mixer {
        public SlidingWindow {
            if (window < 1) throw new IllegalArgumentException("sliding window must be >= 1, got " + window);
        }
        @Override public String configName() { return "swa"; }
    }

    /** A TTT-Linear or TTT-MLP layer; its settings are the config's {@code ttt} section. */
    record Ttt(InnerLoop.Kind kind) implements Mixer {
        @Override public int window() { return 0; }
        @Override public String configName() { return kind == InnerLoop.Kind.LINEAR ? "ttt_linear" : "ttt_mlp"; }
    }
}
