package org.ttt4j.lm.methods;

import java.io.IOException;
import java.nio.file.Path;
import org.ttt4j.core.tensor.Tensor;

/**
 * One model reading one sequence the way its method reads (caches, fast weights): a value that can
 * be saved, loaded ({@link Method#loadSession}) and forked. Run under {@code GradMode.disabled()}.
 */
public interface MethodSession {
    /** Logits [1, n, V] for the next n tokens (longer inputs are read in passes of {@link #maxChunk()}). */
    Tensor feed(int[] ids);

    /**
     * Reads one token and returns the logits after it, in a buffer the session may reuse on its next
     * call (copy to keep): the decoding loop's path. Attention models run it as one packed step that
     * allocates nothing ({@code org.ttt4j.lm.decode.DecodeStep}).
     */
    default float[] next(int token) {
        return lastRow(feed(new int[] {token}));
    }

    /** The last row of logits [1, n, V] (contiguous, as every model returns them), copied. */
    static float[] lastRow(Tensor logits) {
        float[] row = new float[logits.dim(-1)];
        System.arraycopy(logits.f32(), logits.offset() + (logits.dim(-2) - 1) * row.length, row, 0, row.length);
        return row;
    }

    /**
     * Reads {@code ids} (in passes of at most {@link #maxChunk()}) and returns only the logits after
     * the last one (a copy): reading a prompt never materialises its logits matrix.
     */
    default float[] read(int[] ids) {
        if (ids.length == 0) throw new IllegalArgumentException("nothing to read: ids is empty");
        float[] last = null;
        for (int at = 0; at < ids.length; at += maxChunk()) last = lastRow(feed(java.util.Arrays.copyOfRange(ids, at, Math.min(ids.length, at + maxChunk()))));
        return last;
    }

    /** Tokens read so far. */
    long position();

    /** Floats of state held now (caches, fast weights). */
    long stateFloats();

    /** Most tokens one pass reads. */
    int maxChunk();

    /** The logits after the last token read (null before any): what decoding samples from next. */
    float[] lastLogits();

    /**
     * Saves the whole state to {@code file} (atomically, finite values only, with the model's config)
     * so that {@link Method#loadSession} continues it bit for bit.
     */
    void save(Path file) throws IOException;

    /** An independent session in this one's state: both continue alike, bit for bit. */
    MethodSession fork();
}
