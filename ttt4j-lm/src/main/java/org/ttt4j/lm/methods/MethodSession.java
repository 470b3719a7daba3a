package org.ttt4j.lm.methods;

import org.ttt4j.core.tensor.Tensor;

/** One model reading one sequence the way its method reads (caches, fast weights). Run under {@code GradMode.disabled()}. */
public interface MethodSession {
    /** Logits [1, n, V] for the next n tokens, n at most {@link #maxChunk()}. */
    Tensor feed(int[] ids);

    /** Tokens read so far. */
    long position();

    /** Floats of state held now (caches, fast weights). */
    long stateFloats();

    /** Most tokens one pass reads. */
    int maxChunk();
}
