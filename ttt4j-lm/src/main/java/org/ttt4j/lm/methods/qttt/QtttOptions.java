package org.ttt4j.lm.methods.qttt;

/**
 * qTTT's settings (docs/methods.md, section 4): {@code steps} AdamW steps (weight decay
 * {@code weightDecay}, global-norm clip {@code clip}, learning rate {@code lr}) on spans of
 * {@code span} tokens drawn uniformly from the context with {@code seed}.
 */
public record QtttOptions(int steps, int span, double lr, double weightDecay, double clip, long seed) {
    public static final int DEFAULT_STEPS = 32, DEFAULT_SPAN = 128;
    /** At this library's model sizes (millions of parameters); the paper's 1e-6..1e-5 is for billions. */
    public static final double DEFAULT_LR = 1e-3;

    public static QtttOptions defaults() {
        return new QtttOptions(DEFAULT_STEPS, DEFAULT_SPAN, DEFAULT_LR, 0.01, 1.0, 0);
    }

    public QtttOptions withSteps(int n) {
        return new QtttOptions(n, span, lr, weightDecay, clip, seed);
    }

    public QtttOptions withLr(double newLr) {
        return new QtttOptions(steps, span, newLr, weightDecay, clip, seed);
    }

    /** Checks every field; returns this. */
    public QtttOptions validate() {
        if (steps < 0 || steps > 1_000_000) throw new IllegalArgumentException("qTTT steps must be in 0..1000000, got " + steps);
        if (span < 1) throw new IllegalArgumentException("qTTT span must be >= 1 token, got " + span);
        if (!(lr >= 0 && lr < 10)) throw new IllegalArgumentException("qTTT lr must be in [0, 10), got " + lr);
        if (!(weightDecay >= 0 && weightDecay < 1)) throw new IllegalArgumentException("qTTT weight decay must be in [0, 1), got " + weightDecay);
        if (!(clip > 0)) throw new IllegalArgumentException("qTTT clip must be > 0, got " + clip);
        return this;
    }
}
