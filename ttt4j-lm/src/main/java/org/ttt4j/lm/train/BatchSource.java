package org.ttt4j.lm.train;

import java.util.Map;

/**
 * Training batches: windows of {@code context + 1} tokens ({@code batch} of them, row-major), so
 * inputs are the first {@code context} and targets the last {@code context}. The state is a small
 * JSON-friendly map; restoring it replays exactly the batches that would have come next, which
 * is what makes a resumed run reproduce the uninterrupted one.
 */
public interface BatchSource {
    int[] next();

    Map<String, Object> state();

    void restore(Map<String, Object> state);

    /** The id written between documents, whose targets the trainer may leave out of the loss; -1: none. */
    default int documentBoundary() {
        return -1;
    }
}
