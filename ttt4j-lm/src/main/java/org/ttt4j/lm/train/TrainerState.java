package org.ttt4j.lm.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * What a checkpoint stores besides tensors: the step reached, the data position (the sampler's
 * own state), the options the run was started with, and facts for {@code inspect}.
 */
public record TrainerState(
        @JsonProperty("step") long step,
        @JsonProperty("optimizer_step") long optimizerStep,
        @JsonProperty("data") Map<String, Object> data,
        @JsonProperty("options") TrainOptions options,
        @JsonProperty("parameters") long parameters,
        @JsonProperty("tokenizer") String tokenizer,
        @JsonProperty("tokens_seen") long tokensSeen,
        @JsonProperty("last_loss") double lastLoss) {}
