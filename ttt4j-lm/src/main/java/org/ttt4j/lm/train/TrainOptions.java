package org.ttt4j.lm.train;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Training hyper-parameters and bookkeeping. Defaults follow the recipe of ttt-methods.md:
 * AdamW (0.9, 0.95), weight decay 0.1, 10% warmup then cosine to 10% of peak, clip 1.0.
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
        @JsonProperty("seed") long seed) {

    public TrainOptions validate() {
        check(steps >= 1, "steps", "must be >= 1");
        check(batch >= 1, "batch", "must be >= 1");
        check(context >= 2, "context", "must be >= 2");
        check(accumulate >= 1, "accumulate", "must be >= 1");
        check(lr > 0 && lr < 10, "lr", "must be in (0, 10)");
        check(minLr >= 0 && minLr <= lr, "min_lr", "must be in [0, lr]");
        check(warmup >= 0, "warmup", "must be >= 0");
        check(weightDecay >= 0, "weight_decay", "must be >= 0");
        check(clip >= 0, "clip", "must be >= 0 (0 disables clipping)");
        check(evalEvery >= 0 && evalBatches >= 0, "eval_every", "must be >= 0");
        check(checkpointEvery >= 0, "checkpoint_every", "must be >= 0");
        check(keepLast >= 1, "keep_last", "must be >= 1");
        check(logEvery >= 1, "log_every", "must be >= 1");
        return this;
    }

    private static void check(boolean ok, String field, String reason) {
        if (!ok) throw new IllegalArgumentException("training option " + field + ": " + reason);
    }
}
