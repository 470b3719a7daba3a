package org.ttt4j.lm.data;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Training batches of random windows from the train split. Batch number {@code step} takes its
 * window starts from a {@link SplittableRandom} seeded by a mix of (seed, step), uniformly over
 * every position where a whole window fits (windows may cross document boundaries; the boundary
 * token marks them). Nothing else is remembered, so {@link #state()} is tiny and
 * {@link #restore(SamplerState)} after a kill reproduces exactly the batches a continuous run
 * would have seen.
 */
public final class BatchSampler {
    private final TokenShards shards;
    private final int batchSize;
    private final int contextLength;
    private final String fingerprint;
    private long seed;
    private long step;

    public BatchSampler(TokenShards shards, int batchSize, int contextLength, long seed, String fingerprint) {
        if (batchSize <= 0 || contextLength <= 0) {
            throw new IllegalArgumentException("batch size and context length must be positive, got "
                    + batchSize + " and " + contextLength);
        }
        if (shards.tokens() < contextLength + 1L) {
            throw new IllegalArgumentException("the train split has " + shards.tokens()
                    + " tokens, fewer than one window of " + (contextLength + 1));
        }
        this.shards = shards;
        this.batchSize = batchSize;
        this.contextLength = contextLength;
        this.seed = seed;
        this.fingerprint = fingerprint;
    }

    /** Returns the batch for the current step and advances the step. */
    public Batch next() {
        return batchAt(step++);
    }

    /** The batch for a given step; a pure function of (seed, step). */
    public Batch batchAt(long step) {
        int columns = contextLength + 1;
        long positions = shards.tokens() - columns + 1;
        SplittableRandom random = new SplittableRandom(mix64(mix64(seed) + step));
        int[] tokens = new int[batchSize * columns];
        int[] lengths = new int[batchSize];
        for (int r = 0; r < batchSize; r++) {
            long start = random.nextLong(positions);
            shards.read(start, tokens, r * columns, columns);
            lengths[r] = columns;
        }
        return new Batch(batchSize, columns, tokens, lengths);
    }

    public long step() {
        return step;
    }

    public SamplerState state() {
        return new SamplerState(seed, step, batchSize, contextLength, shards.tokens(), fingerprint);
    }

    /** Continues from a saved state; refuses a state taken with another shape or token cache. */
    public void restore(SamplerState state) {
        if (state.batchSize() != batchSize || state.contextLength() != contextLength) {
            throw new IllegalArgumentException("sampler state is for batch " + state.batchSize() + " x context "
                    + state.contextLength() + ", this sampler is " + batchSize + " x " + contextLength);
        }
        if (state.trainTokens() != shards.tokens()
                || (state.fingerprint() != null && fingerprint != null && !Objects.equals(state.fingerprint(), fingerprint))) {
            throw new IllegalArgumentException("sampler state was taken on another token cache (fingerprint "
                    + state.fingerprint() + ", " + state.trainTokens() + " tokens; this one is " + fingerprint + ", "
                    + shards.tokens() + " tokens)");
        }
        this.seed = state.seed();
        this.step = state.step();
    }

    static long mix64(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }
}
