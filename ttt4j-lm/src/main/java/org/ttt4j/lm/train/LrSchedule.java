package org.ttt4j.lm.train;

/** Linear warmup from 0 to {@code peak} over {@code warmup} steps, then cosine decay to {@code min}. */
public record LrSchedule(double peak, double min, long warmup, long total) {
    public LrSchedule {
        if (!(peak > 0)) throw new IllegalArgumentException("learning rate must be > 0, got " + peak);
        if (min < 0 || min > peak) throw new IllegalArgumentException("min learning rate must be in [0, peak], got " + min);
        if (warmup < 0 || total < 1) throw new IllegalArgumentException("need warmup >= 0 and total steps >= 1");
    }

    /** Rate for 0-based step {@code step}. */
    public double at(long step) {
        if (step < warmup) return peak * (step + 1) / warmup;
        if (total <= warmup) return peak;
        double progress = Math.min(1, (double) (step - warmup) / Math.max(1, total - warmup));
        return min + 0.5 * (peak - min) * (1 + Math.cos(Math.PI * progress));
    }
}
