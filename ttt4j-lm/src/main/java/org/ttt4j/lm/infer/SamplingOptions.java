package org.ttt4j.lm.infer;

import java.util.List;

/**
 * How the next token is chosen. Temperature 0 is greedy. top-k 0 and top-p 1 disable those
 * filters; a repetition penalty of 1 disables it (CTRL-style: logits of tokens already in the
 * context are divided by the penalty when positive and multiplied when negative).
 */
public record SamplingOptions(double temperature, int topK, double topP, double repetitionPenalty, long seed,
                              int maxTokens, List<String> stop) {
    public SamplingOptions {
        if (!(temperature >= 0 && temperature < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(repetitionPenalty >= 1 && repetitionPenalty < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("repetition penalty must be a finite number >= 1, got " + repetitionPenalty);
        }
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    public static SamplingOptions greedy(int maxTokens) {
        return new SamplingOptions(0, 0, 1, 1, 0, maxTokens, List.of());
    }
}
