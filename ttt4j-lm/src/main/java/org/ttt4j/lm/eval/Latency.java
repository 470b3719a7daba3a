package org.ttt4j.lm.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.infer.InferenceSession;
import org.ttt4j.lm.model.Decoder;

/**
 * Inference cost against context length, for a model of any method: a context of random tokens read
 * from scratch (prefill tokens/s), then tokens decoded one at a time continuing it (ms/token; a
 * TTT-E2E mean includes the inner step taken at each completed chunk), and the state the session
 * holds. Speed does not depend on the tokens, so they are random (seeded).
 */
public final class Latency {
    private Latency() {}

    /** One context's figures. */
    public record Point(@JsonProperty("context") int context,
                        @JsonProperty("prefill_tokens_per_s") double prefillTokensPerS,
                        @JsonProperty("prefill_ms_per_token") double prefillMsPerToken,
                        @JsonProperty("decode_ms_per_token") double decodeMsPerToken,
                        @JsonProperty("decode_median_ms_per_step") double decodeMedianMs,
                        @JsonProperty("state_mib") double stateMib) {}

    /** Reads {@code context} random tokens in passes of {@code piece}, then decodes {@code decode} more. */
    public static Point measure(Decoder model, int context, int decode, int piece, SplittableRandom rng) {
        if (context < 1) throw new IllegalArgumentException("context must be >= 1, got " + context);
        if (decode < 0) throw new IllegalArgumentException("decoded tokens must be >= 0, got " + decode);
        int v = model.config().vocabSize();
        try (var off = GradMode.disabled()) {
            InferenceSession s = InferenceSession.open(model, piece);
            long t0 = System.nanoTime();
            for (int at = 0; at < context; at += piece) s.read(randomIds(rng, Math.min(piece, context - at), v));
            double prefillS = (System.nanoTime() - t0) / 1e9;
            double[] steps = new double[decode];
            long t1 = System.nanoTime();
            for (int i = 0; i < decode; i++) {
                long s0 = System.nanoTime();
                s.feed(randomIds(rng, 1, v));
                steps[i] = (System.nanoTime() - s0) / 1e6;
            }
            double mean = decode == 0 ? 0 : (System.nanoTime() - t1) / 1e6 / decode;
            Arrays.sort(steps);
            return new Point(context, context / prefillS, prefillS * 1e3 / context, mean, decode == 0 ? 0 : steps[decode / 2],
                    s.stateFloats() * 4.0 / (1 << 20));
        }
    }

    /** {@code n} uniform token ids below {@code vocab}. */
    public static int[] randomIds(SplittableRandom rng, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        return ids;
    }
}
