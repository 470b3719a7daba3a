package org.ttt4j.lm.model;

import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.SelfAttention;

/** How a block is run: what its sub-layers read besides their input. */
public sealed interface Pass permits Pass.Sequence, Pass.Decode, Pass.Chunk, Pass.Frozen {

    /** Training or prefill over a whole sequence starting at position {@code start}. */
    record Sequence(int start) implements Pass {}

    /** Decoding against the block's cache, which the sub-layers update. */
    record Decode(MixerCache cache) implements Pass {}

    /**
     * One chunk at positions start.. after the attention window {@code past} (null at the start):
     * the attention leaves its window for the next chunk in {@link #window()}; gradients flow
     * through the carried window.
     */
    final class Chunk implements Pass {
        private final int start;
        private final SelfAttention.Window past;
        private SelfAttention.Window window;

        public Chunk(int start, SelfAttention.Window past) {
            this.start = start;
            this.past = past;
        }

        public int start() {
            return start;
        }

        public SelfAttention.Window past() {
            return past;
        }

        /** The window after this chunk, set by the block's attention. */
        public SelfAttention.Window window() {
            return window;
        }

        void window(SelfAttention.Window w) {
            this.window = w;
        }
    }

    /** Tokens at positions start.. whose keys and values are already in {@code frozen} (queries only: qTTT). */
    record Frozen(int start, KvCache frozen) implements Pass {}
}
