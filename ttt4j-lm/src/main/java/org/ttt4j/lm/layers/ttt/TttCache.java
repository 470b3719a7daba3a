package org.ttt4j.lm.layers.ttt;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Storage;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.CacheFields;
import org.ttt4j.lm.layers.MixerCache;

/**
 * The decode state of one TTT block: the inner weights at the start of the current mini-batch and
 * the learning-rate-weighted gradient sums accumulated in it ({@link InnerLoop.State}), plus the
 * convolution buffers (share_qk, pre_conv). Its size does not depend on the context length.
 */
public final class TttCache implements MixerCache {
    private InnerLoop.State state;
    private Tensor qkHistory;
    private Tensor blockConvHistory;
    long position;
    /** The shapes of the convolution histories [1, width - 1, D] (share_qk, pre_conv), null without that convolution. */
    private final int[] qkShape, convShape;
    /**
     * Whether {@link #state} and {@link #qkHistory} are this cache's own dense fp32 tensors, which
     * the one-token path ({@link TttStep}) updates in place; every other writer clears it.
     */
    private boolean owned;
    /** The one-token path's work arrays, built on its first use. */
    TttStep.Scratch scratch;
    /** Whether {@link #blockConvHistory} is this cache's own dense fp32 tensor (see {@link #blockConvHistoryArray}). */
    private boolean convOwned;
    private float[] convScratch;

    TttCache(InnerLoop.State state) {
        this(state, null, null);
    }

    TttCache(InnerLoop.State state, int[] qkShape, int[] convShape) {
        this.state = state;
        this.qkShape = qkShape;
        this.convShape = convShape;
    }

    InnerLoop.State state() {
        return state;
    }

    void state(InnerLoop.State state) {
        this.state = state;
        owned = false;
    }

    /** The shared q/k convolutions' last inputs (share_qk; null before the first token). */
    Tensor qkHistory() {
        return qkHistory;
    }

    void qkHistory(Tensor history) {
        this.qkHistory = history;
        owned = false;
    }

    /**
     * Makes the state (and the q/k convolution history, zeros before the first token) this cache's
     * own dense fp32 tensors, copying them once after any other writer, so that the one-token path
     * may update them in place: the tensors another path produced may be shared (a step's weights
     * with the state before it, a fresh cache's with the layer's parameters). Returns false, changing
     * nothing, when a tensor is not fp32.
     */
    boolean own() {
        if (owned) return true;
        for (Tensor t : state.weights()) if (t.dtype() != DType.FP32) return false;
        for (Tensor t : state.sums()) if (t.dtype() != DType.FP32) return false;
        if (qkHistory != null && qkHistory.dtype() != DType.FP32) return false;
        List<Tensor> weights = new ArrayList<>(), sums = new ArrayList<>();
        for (Tensor t : state.weights()) weights.add(dense(t));
        for (Tensor t : state.sums()) sums.add(dense(t));
        state = new InnerLoop.State(weights, sums);
        if (qkShape != null) qkHistory = qkHistory == null ? Tensor.zeros(DType.FP32, qkShape) : dense(qkHistory);
        owned = true;
        return true;
    }

    /** A dense fp32 copy (offset 0, an array of exactly its size). */
    private static Tensor dense(Tensor t) {
        float[] a = java.util.Arrays.copyOfRange(t.f32(), t.offset(), t.offset() + t.size());
        return Tensor.wrap(new Storage.F32(a), 0, t.shape());
    }

    @Override
    public long position() {
        return position;
    }

    /** The block-level convolution's last inputs (pre_conv; null before the first token). */
    public Tensor blockConvHistory() {
        return blockConvHistory;
    }

    public void blockConvHistory(Tensor history) {
        this.blockConvHistory = history;
        convOwned = false;
    }

    /**
     * The block-level convolution's history [width - 1, D] as this cache's own dense fp32 array,
     * which a one-token path reads and moves on in place (zeros before the first token; copied once
     * after {@link #blockConvHistory(Tensor)} set a tensor another path made). Null, changing
     * nothing, when the layer has no pre_conv or the history is not fp32.
     */
    public float[] blockConvHistoryArray() {
        if (convShape == null || blockConvHistory != null && blockConvHistory.dtype() != DType.FP32) return null;
        if (!convOwned) {
            blockConvHistory = blockConvHistory == null ? Tensor.zeros(DType.FP32, convShape) : dense(blockConvHistory);
            convOwned = true;
        }
        return blockConvHistory.f32();
    }

    /** Work room of at least {@code n} floats for the block-level convolution's one-token path (kept between tokens). */
    public float[] blockConvScratch(int n) {
        if (convScratch == null || convScratch.length < n) convScratch = new float[n];
        return convScratch;
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

    /**
     * Saves the inner weights ({@code weights.i}) and gradient sums ({@code sums.i}) of the current
     * mini-batch, the convolution histories ({@code qk_history}, {@code conv_history}) once they
     * exist, and the position.
     */
    @Override
    public void saveState(String prefix, Map<String, Tensor> tensors, Map<String, String> meta) {
        for (int i = 0; i < state.weights().size(); i++) {
            tensors.put(prefix + "weights." + i, state.weights().get(i).copy());
            tensors.put(prefix + "sums." + i, state.sums().get(i).copy());
        }
        if (qkHistory != null) tensors.put(prefix + "qk_history", qkHistory.copy());
        if (blockConvHistory != null) tensors.put(prefix + "conv_history", blockConvHistory.copy());
        meta.put(prefix + "position", Long.toString(position));
    }

    @Override
    public void loadState(String prefix, Map<String, Tensor> tensors, Map<String, String> meta, String source) {
        int n = state.weights().size();
        if (tensors.containsKey(prefix + "weights." + n)) {
            throw new IllegalArgumentException(source + ": field " + prefix + "weights." + n + " is unexpected: this layer's inner model has "
                    + n + " weights");
        }
        List<Tensor> weights = new ArrayList<>(), sums = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            weights.add(CacheFields.tensor(tensors, prefix + "weights." + i, state.weights().get(i).shape(), source));
            sums.add(CacheFields.tensor(tensors, prefix + "sums." + i, state.sums().get(i).shape(), source));
        }
        long pos = CacheFields.counter(meta, prefix + "position", 0, Long.MAX_VALUE, source);
        Tensor qk = history(prefix + "qk_history", qkShape, tensors, pos, source);
        Tensor conv = history(prefix + "conv_history", convShape, tensors, pos, source);
        state(new InnerLoop.State(weights, sums));
        qkHistory(qk);
        blockConvHistory(conv);
        position = pos;
    }

    /** A saved convolution history: present only when the layer has that convolution, and then present after the first token. */
    private static Tensor history(String name, int[] historyShape, Map<String, Tensor> tensors, long pos, String source) {
        if (historyShape == null) {
            if (tensors.containsKey(name)) throw new IllegalArgumentException(source + ": field " + name + " is unexpected: this layer has no convolution");
            return null;
        }
        if (!tensors.containsKey(name) && pos == 0) return null;
        return CacheFields.tensor(tensors, name, historyShape, source);
    }
}
