package org.ttt4j.lm.train;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Training hyper-parameters and bookkeeping. Defaults follow the recipe of docs/methods.md
 * (sections 1 and 3) and the official TTT-E2E code: AdamW (0.9, 0.95), weight decay 0.1 on every
 * parameter, 10% warmup then cosine to 10% of peak, clip 1.0, targets that are the document
 * boundary left out of the loss, TTT-E2E's inner-LR multiplier ramped from 0.1 to 1 over the first
 * 10% of steps.
 *
 * <p>The last three fields are optional in JSON: a run saved before they existed reads them as
 * null, which means what training did then (boundary targets scored, decay on matrices only, a
 * 10% ramp), so it resumes unchanged.
 *
 * @param e2eInnerLrWarmup    fraction of the steps over which TTT-E2E's inner-LR multiplier ramps
 *                            from 0.1 to 1 (0: 1 from the first step, the official choice when
 *                            fine-tuning a TTT-E2E model)
 * @param maskBoundaryTargets leave targets that are the document-boundary id out of the loss
 * @param weightDecayOn       {@code all} parameters or {@code matrices} only (rank >= 2)
 */
public record TrainOptions(
        @JsonProperty("steps") long steps,
        @JsonProperty("batch") int batch,
        @JsonProperty("context") int context,
        @JsonProperty("accumulate") int accumulate,
        @JsonProperty("lr") double lr,
        @JsonProperty("min_lr") double minLr,
        @JsonProperty("warmup") long warmup,
        @JsonProperty("weight_decay") double weightDecay,
        @JsonProperty("clip") double clip,
        @JsonProperty("eval_every") int evalEvery,
        @JsonProperty("eval_batches") int evalBatches,
        @JsonProperty("checkpoint_every") int checkpointEvery,
        @JsonProperty("keep_last") int keepLast,
        @JsonProperty("log_every") int logEvery,
        @JsonProperty("seed") long seed,
        @JsonProperty("e2e_inner_lr_warmup") Double e2eInnerLrWarmup,
        @JsonProperty("mask_boundary_targets") Boolean maskBoundaryTargets,
        @JsonProperty("weight_decay_on") String weightDecayOn) {

    /** A builder with the defaults of {@code ttt4j train} (shown on each setter). */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds {@link TrainOptions}. Defaults: 2000 steps of 8 x 256 tokens, lr 3e-3 to lr / 10 after
     * steps / 10 of warmup, weight decay 0.1 on all parameters, clip 1.0, validation and a checkpoint
     * every steps / 10 on 8 batches, 3 checkpoints kept, a log line every 10 steps, seed 1234,
     * boundary targets masked, TTT-E2E's inner-LR ramp over 10% of the steps.
     */
    public static final class Builder {
        private long steps = 2000, seed = 1234;
        private Long warmup;
        private int batch = 8, context = 256, accumulate = 1, evalBatches = 8, keepLast = 3, logEvery = 10;
        private Integer evalEvery, checkpointEvery;
        private double lr = 3e-3, weightDecay = 0.1, clip = 1.0;
        private Double minLr;
        private double innerLrWarmup = 0.1;
        private boolean maskBoundaryTargets = true;
        private String weightDecayOn = "all";

        private Builder() {}

        public Builder steps(long v) { steps = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        /** Tokens per sequence (default 256). */
        public Builder context(int v) { context = v; return this; }
        /** Micro-batches per optimizer step (default 1). */
        public Builder accumulate(int v) { accumulate = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        /** Final learning rate (default lr / 10). */
        public Builder minLr(double v) { minLr = v; return this; }
        /** Warmup steps (default steps / 10, at least 1). */
        public Builder warmup(long v) { warmup = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        /** {@code all} parameters decay, or {@code matrices} only (default all). */
        public Builder weightDecayOn(String v) { weightDecayOn = v; return this; }
        /** Global gradient-norm clip, 0 to disable (default 1.0). */
        public Builder clip(double v) { clip = v; return this; }
        /** Steps between validations (default steps / 10, at least 1). */
        public Builder evalEvery(int v) { evalEvery = v; return this; }
        public Builder evalBatches(int v) { evalBatches = v; return this; }
        /** Steps between checkpoints (default steps / 10, at least 1). */
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder keepLast(int v) { keepLast = v; return this; }
        public Builder logEvery(int v) { logEvery = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        /** Fraction of the steps over which TTT-E2E's inner-LR multiplier ramps (default 0.1). */
        public Builder innerLrWarmup(double v) { innerLrWarmup = v; return this; }
        public Builder maskBoundaryTargets(boolean v) { maskBoundaryTargets = v; return this; }

        public TrainOptions build() {
            int tenth = (int) Math.max(1, steps / 10);
            return new TrainOptions(steps, batch, context, accumulate, lr, minLr != null ? minLr : lr / 10,
                    warmup != null ? warmup : tenth, weightDecay, clip, evalEvery != null ? evalEvery : tenth, evalBatches,
                    checkpointEvery != null ? checkpointEvery : tenth, keepLast, logEvery, seed, innerLrWarmup, maskBoundaryTargets,
                    weightDecayOn);
        }
    }

    /** The inner-LR warm-up fraction (null, from an older run: 0.1). */
    public double innerLrWarmupFraction() {
        return e2eInnerLrWarmup == null ? 0.1 : e2eInnerLrWarmup;
    }

    /** Whether boundary targets are left out (null, from an older run: no). */
    public boolean masksBoundaryTargets() {
        return maskBoundaryTargets != null && maskBoundaryTargets;
    }

    /** Whether weight decay applies to every parameter (null, from an older run: matrices only). */
    public boolean decaysEveryParameter() {
        return "all".equals(weightDecayOn);
    }

    public TrainOptions validate() {
        check(steps >= 1, "steps", "must be >= 1");
        check(batch >= 1, "batch", "must be >= 1");
        check(context >= 2, "context", "must be >= 2");
        check(accumulate >= 1, "accumulate", "must be >= 1");
        check(lr > 0 && lr < 10, "lr", "must be in (0, 10)");
        check(minLr >= 0 && minLr <= lr, "min_lr", "must be in [0, lr]");
        check(warmup >= 0, "warmup", "must be >= 0");
        check(weightDecay >= 0 && Double.isFinite(weightDecay), "weight_decay", "must be a finite number >= 0, got " + weightDecay);
        check(clip >= 0 && Double.isFinite(clip), "clip", "must be a finite number >= 0 (0 disables clipping), got " + clip);
        check(evalEvery >= 0 && evalBatches >= 0, "eval_every", "must be >= 0");
        check(checkpointEvery >= 0, "checkpoint_every", "must be >= 0");
        check(keepLast >= 1, "keep_last", "must be >= 1");
        check(logEvery >= 1, "log_every", "must be >= 1");
        check(e2eInnerLrWarmup == null || (e2eInnerLrWarmup >= 0 && e2eInnerLrWarmup <= 1), "e2e_inner_lr_warmup",
                "must be a fraction of the steps in [0, 1], got " + e2eInnerLrWarmup);
        check(weightDecayOn == null || weightDecayOn.equals("all") || weightDecayOn.equals("matrices"), "weight_decay_on",
                "must be all or matrices, got \"" + weightDecayOn + "\"");
        return this;
    }

    private static void check(boolean ok, String field, String reason) {
        if (!ok) throw new IllegalArgumentException("training option " + field + ": " + reason);
    }
}
