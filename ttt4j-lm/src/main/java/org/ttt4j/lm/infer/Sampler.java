package org.ttt4j.lm.infer;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks a token from a row of logits under {@link SamplingOptions}. Deterministic from the seed. */
public final class Sampler {
    private final SamplingOptions options;
    private final SplittableRandom rng;

    public Sampler(SamplingOptions options) {
        this.options = options;
        this.rng = new SplittableRandom(options.seed());
    }

    /** {@code logits} is modified in place; {@code seen} flags tokens already in the context. */
    public int pick(float[] logits, boolean[] seen) {
        int v = logits.length;
        if (options.repetitionPenalty() != 1 && seen != null) {
            float p = (float) options.repetitionPenalty();
            for (int i = 0; i < v; i++) if (seen[i]) logits[i] = logits[i] > 0 ? logits[i] / p : logits[i] * p;
        }
        if (options.temperature() == 0) return argmax(logits);
        int[] order = descending(logits);
        int keep = options.topK() > 0 ? Math.min(options.topK(), v) : v;
        double max = logits[order[0]];
        double[] prob = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            prob[i] = Math.exp((logits[order[i]] - max) / options.temperature());
            sum += prob[i];
        }
        // Nucleus: the smallest prefix whose mass reaches top-p.
        double mass = 0;
        int cut = keep;
        for (int i = 0; i < keep; i++) {
            mass += prob[i] / sum;
            if (mass >= options.topP()) {
                cut = i + 1;
                break;
            }
        }
        double total = 0;
        for (int i = 0; i < cut; i++) total += prob[i];
        double r = rng.nextDouble() * total;
        for (int i = 0; i < cut; i++) {
            r -= prob[i];
            if (r < 0) return order[i];
        }
        return order[cut - 1];
    }

    /**
     * Indices by descending value, equal values by ascending index (the order of
     * {@link Float#compare}): one primitive sort of keys that pack the value's order above the index.
     */
    static int[] descending(float[] x) {
        long[] keys = new long[x.length];
        for (int i = 0; i < x.length; i++) {
            int bits = Float.floatToIntBits(x[i]);
            int ascending = bits ^ ((bits >> 31) & 0x7fffffff); // signed order of these ints = Float.compare order
            keys[i] = ((long) ~ascending << 32) | i;             // ~ reverses it; the index breaks ties upward
        }
        Arrays.sort(keys);
        int[] order = new int[x.length];
        for (int i = 0; i < x.length; i++) order[i] = (int) keys[i];
        return order;
    }

    /** The index of the largest value (the first of equals): greedy decoding. */
    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
