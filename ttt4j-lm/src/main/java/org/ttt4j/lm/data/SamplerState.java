package org.ttt4j.lm.data;

/**
 * Everything needed to resume a {@link BatchSampler} exactly: the next batch is a pure function of
 * (seed, step). The other fields guard against resuming on a different cache or shape, where the
 * same step would give different batches. A record, so Jackson serialises it as JSON directly.
 *
 * @param seed          sampling seed
 * @param step          index of the next batch to be returned
 * @param batchSize     rows per batch
 * @param contextLength tokens of context (windows have contextLength + 1 tokens)
 * @param trainTokens   number of tokens in the train split sampled from
 * @param fingerprint   fingerprint of the token cache
 */
public record SamplerState(long seed, long step, int batchSize, int contextLength, long trainTokens,
                           String fingerprint) {}
