package org.ttt4j.lm.model;

/**
 * Parameter-count matching across methods: a TTT layer holds more (or fewer) parameters than the
 * attention it replaces, so comparisons "at the same size" shrink or widen every block's MLP until
 * the whole model's count is as close as it gets to the baseline's (the TTT-E2E paper's recipe).
 */
public final class MatchedSize {
    private MatchedSize() {}

    /** Parameters of a model with this config (built and counted: every layer knows its own shapes). */
    public static long parameters(ModelConfig c) {
        return new Decoder(c.validate(), 0).params().count();
    }

    /**
     * {@code c} with the MLP width whose model's parameter count is nearest {@code target}; the
     * count grows by 3 d_model per unit of width in every block, so a bisection finds it.
     */
    public static ModelConfig feedForwardFor(ModelConfig c, long target) {
        if (target < 1) throw new IllegalArgumentException("target parameter count must be >= 1, got " + target);
        int lo = 1, hi = Math.max(2, c.dFf() * 4);
        while (parameters(c.withFeedForward(hi)) < target && hi < (1 << 24)) hi *= 2;
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (parameters(c.withFeedForward(mid)) <= target) lo = mid;
            else hi = mid;
        }
        long below = Math.abs(parameters(c.withFeedForward(lo)) - target), above = Math.abs(parameters(c.withFeedForward(hi)) - target);
        return c.withFeedForward(below <= above ? lo : hi);
    }
}
