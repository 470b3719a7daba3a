package org.ttt4j.lm.layers.ttt;

import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.MixerCache;

/**
 * The decode state of one TTT block: the inner weights at the start of the current mini-batch and
 * the learning-rate-weighted gradient sums accumulated in it ({@link InnerLoop.State}), plus the
 * convolution buffers of the Mamba backbone. Its size does not depend on the context length.
 */
public final class TttCache implements MixerCache {
    InnerLoop.State state;
    Tensor qkHistory;
    private Tensor blockConvHistory;
    long position;

    TttCache(InnerLoop.State state) {
        this.state = state;
    }

    @Override
    public long position() {
        return position;
    }

    /** The block-level convolution's last inputs (Mamba backbone; null before the first token). */
    public Tensor blockConvHistory() {
        return blockConvHistory;
    }

    public void blockConvHistory(Tensor history) {
        this.blockConvHistory = history;
    }

    @Override
    public long floats() {
        long n = 0;
        for (Tensor t : state.weights()) n += t.size();
        for (Tensor t : state.sums()) n += t.size();
        if (qkHistory != null) n += qkHistory.size();
        if (blockConvHistory != null) n += blockConvHistory.size();
        return n;
    }
}
