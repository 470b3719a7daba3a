package org.ttt4j.lm.methods.attention;

import org.ttt4j.lm.model.ModelConfig;

/** Sliding-window attention (mixer {@code swa}): query i sees keys j with {@code i - window < j <= i}; a ring KV cache of the window. */
public final class SlidingWindow extends FullAttention {
    @Override public String name() { return "swa"; }
    @Override public String title() { return "Sliding-window attention"; }
    @Override public String summary() { return "causal self-attention over the last `window` tokens (constant memory)"; }

    @Override
    public int window(String mixer, ModelConfig c) {
        return Math.max(1, c.window());
    }

    @Override
    public void validate(ModelConfig c) {
        if (c.window() < 1 && c.blockMixers().stream().anyMatch(m -> m.name().equals(name()))) {
            throw new IllegalArgumentException("config field window: sliding-window blocks need window >= 1, got " + c.window());
        }
    }
}
