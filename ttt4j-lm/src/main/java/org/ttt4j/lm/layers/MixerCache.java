package org.ttt4j.lm.layers;

import java.util.Map;
import org.ttt4j.core.tensor.Tensor;

/** What one block's sequence mixer carries from one decoding step to the next. */
public interface MixerCache {
    /** Total positions seen (the next token's position). */
    long position();

    /** Floats held (memory accounting for benchmarks). */
    long floats();

    /**
     * Adds this cache's whole state to {@code tensors} (copies) and its counters to {@code meta}, every
     * name starting with {@code prefix}: what {@link #loadState} needs to continue bit for bit.
     *
     * @param prefix the start of every name, e.g. {@code cache.3.}
     * @param tensors receives the tensors
     * @param meta receives the counters, as decimal strings
     */
    void saveState(String prefix, Map<String, Tensor> tensors, Map<String, String> meta);

    /**
     * Replaces this cache's state by the one {@link #saveState} wrote under {@code prefix} from a cache
     * of the same layer (same shapes, same chunk size); every field is checked first.
     *
     * @param prefix the start of every name, as given to {@link #saveState}
     * @param tensors the saved tensors
     * @param meta the saved counters
     * @param source what the state was read from (a file), named in errors
     * @throws IllegalArgumentException naming {@code source} and the field that is missing or does not fit this layer
     */
    void loadState(String prefix, Map<String, Tensor> tensors, Map<String, String> meta, String source);
}
