package org.ttt4j.lm.model;

/**
 * The sequence mixer of one block. Attention variants share code and differ by their window;
 * test-time-training mixers join this sealed family in later modules of the stack.
 */
public sealed interface Mixer permits Mixer.FullAttention, Mixer.SlidingWindow {

    /** Keys visible to each query: 0 for unlimited (full causal attention). */
    int window();

    /** The name used in configs: "full" or "swa". */
    String configName();

    record FullAttention() implements Mixer {
        @Override public int window() { return 0; }
        @Override public String configName() { return "full"; }
    }

    /** Query i sees keys j with i - window < j <= i. */
    record SlidingWindow(int window) implements Mixer {
        public SlidingWindow {
            if (window < 1) throw new IllegalArgumentException("sliding window must be >= 1, got " + window);
        }
        @Override public String configName() { return "swa"; }
    }
}
