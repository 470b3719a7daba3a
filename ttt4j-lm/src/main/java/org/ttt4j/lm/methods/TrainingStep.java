package org.ttt4j.lm.methods;

/**
 * Where training stands when a method is asked for a loss: optimizer step {@code step} of
 * {@code steps}; {@code innerLrWarmup}, the fraction of the steps over which a method's inner
 * learning rate ramps from 0.1x to 1x (0: no ramp).
 */
public record TrainingStep(long step, long steps, double innerLrWarmup) {
    /** After training (validation, scoring): every ramp finished. */
    public static final TrainingStep FINISHED = new TrainingStep(1, 1, 0);

    public TrainingStep {
        if (!(innerLrWarmup >= 0 && innerLrWarmup <= 1)) throw new IllegalArgumentException("innerLrWarmup must be in [0, 1], got " + innerLrWarmup);
    }

    /** The inner learning rate's multiplier: from 0.1 to 1.0 over the first {@code innerLrWarmup} of the steps. */
    public double innerLrMultiplier() {
        if (innerLrWarmup == 0) return 1.0;
        double warm = Math.max(1, innerLrWarmup * steps);
        return Math.min(1.0, 0.1 + 0.9 * step / warm);
    }
}
