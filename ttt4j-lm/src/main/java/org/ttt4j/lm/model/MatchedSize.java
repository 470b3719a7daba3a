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
     * {@code c} with the MLP width whose model's parameter count is nearest {@code target}. The count
     * is linear in the width (3 d_model per unit in every MLP), so two counts give the line and the
     * widths either side of its solution are checked.
     */
    public static ModelConfig feedForwardFor(ModelConfig c, long target) {
        if (target < 1) throw new IllegalArgumentException("target parameter count must be >= 1, got " + target);
        long at1 = parameters(c.withFeedForward(1)), perUnit = parameters(c.withFeedForward(2)) - at1;
        long guess = Math.max(1, Math.round(1 + (double) (target - at1) / perUnit));
        if (guess > Integer.MAX_VALUE / 2) throw new IllegalArgumentException("no MLP width reaches " + target + " parameters");
        int best = (int) guess;
        for (int f = (int) Math.max(1, guess - 1); f <= guess + 1; f++) {
            if (Math.abs(parameters(c.withFeedForward(f)) - target) < Math.abs(parameters(c.withFeedForward(best)) - target)) best = f;
        }
        return c.withFeedForward(best);
    }
}
