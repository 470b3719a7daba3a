package org.ttt4j.lm.infer;

import java.util.Arrays;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.methods.MethodSession;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Mixer;

/**
 * One model reading one sequence, whatever its method: the interface every evaluation task and
 * the generator read through. The method comes from the model's config ({@link Methods#of}): a
 * TTT-E2E model learns while it reads; attention, hybrids and TTT layers carry their caches.
 * Callers must run it under {@code GradMode.disabled()}.
 */
public interface InferenceSession {
    /** Logits [1, n, V] for the next n tokens of the sequence (any n >= 1: long inputs are read in pieces). */
    Tensor feed(int[] ids);

    /**
     * Reads one token and returns the logits after it, in a buffer the session may reuse on its next
     * call (copy to keep): the decoding loop's path, allocation-free for attention models.
     */
    default float[] next(int token) {
        return lastRow(feed(new int[] {token}));
    }

    /** Tokens read so far. */
    long position();

    /** Floats of state the session holds now (caches, fast weights): its memory, whatever the model's own size. */
    long stateFloats();

    /**
     * A fresh session that reads at most {@code maxChunk} tokens per forward pass (a model of
     * sliding-window blocks only reads at most its window per pass, as TTT-E2E reads its chunks, so
     * its caches never hold more than two windows).
     */
    static InferenceSession open(Decoder model, int requestedChunk) {
        if (requestedChunk < 1) throw new IllegalArgumentException("maxChunk must be >= 1, got " + requestedChunk);
        MethodSession s = Methods.of(model.config()).openSession(model, maxChunk(model, requestedChunk));
        return new InferenceSession() {
            @Override public Tensor feed(int[] ids) { return s.feed(ids); }
            @Override public float[] next(int token) { return s.next(token); }
            @Override public float[] read(int[] ids) { return s.read(ids); }
            @Override public long position() { return s.position(); }
            @Override public long stateFloats() { return s.stateFloats(); }
            @Override public int maxChunk() { return s.maxChunk(); }
        };
    }

    /**
     * The most tokens a pass of {@code model} reads when {@code requested} are asked for: a model of
     * sliding-window blocks only reads at most its window per pass.
     */
    public static int maxChunk(Decoder model, int requested) {
        boolean windowed = model.config().blockMixers().stream().allMatch(Mixer::windowed);
        return windowed ? Math.min(requested, model.config().window()) : requested;
    }

    /** Most tokens one forward pass reads. */
    int maxChunk();

    /**
     * Reads {@code ids} in passes of at most {@link #maxChunk()} tokens and returns only the logits
     * after the last one: a long prompt never materialises a T x V logits matrix.
     */
    default float[] read(int[] ids) {
        if (ids.length == 0) throw new IllegalArgumentException("nothing to read: ids is empty");
        float[] last = null;
        for (int at = 0; at < ids.length; at += maxChunk()) last = lastRow(feed(Arrays.copyOfRange(ids, at, Math.min(ids.length, at + maxChunk()))));
        return last;
    }

    /** The last row of logits [1, n, V] (contiguous, as every model returns them). */
    static float[] lastRow(Tensor logits) {
        return MethodSession.lastRow(logits);
    }
}
