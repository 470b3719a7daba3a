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

    /** The options with the official defaults for the last three (see the class comment). */
    public TrainOptions(long steps, int batch, int context, int accumulate, double lr, double minLr, long warmup, double weightDecay,
                        double clip, int evalEvery, int evalBatches, int checkpointEvery, int keepLast, int logEvery, long seed) {
        this(steps, batch, context, accumulate, lr, minLr, warmup, weightDecay, clip, evalEvery, evalBatches, checkpointEvery, keepLast,
                logEvery, seed, 0.1, true, "all");
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
