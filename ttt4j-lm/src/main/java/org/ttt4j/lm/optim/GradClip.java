package org.ttt4j.lm.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.tensor.Tensor;

/**
 * Global-norm gradient clipping. The work is split into blocks of {@value #BLOCK} elements of each
 * gradient, run on the engine's threads; the norm sums each block in double and then the blocks in
 * map order, so its bits depend on the gradients only, not on the thread count.
 */
public final class GradClip {
    private GradClip() {}

    /** Elements per block of work. */
    static final int BLOCK = 1 << 16;

    /** One block: elements [from, to) of the tensor {@code g} named {@code name}. */
    record Block(String name, Tensor g, int from, int to) {}

    /** The tensors (gradients) cut into blocks, in map order. */
    static List<Block> blocks(Map<String, Tensor> tensors) {
        List<Block> blocks = new ArrayList<>();
        for (var e : tensors.entrySet()) {
            Tensor g = e.getValue();
            for (int i = 0, n = g.size(); i < n; i += BLOCK) blocks.add(new Block(e.getKey(), g, i, Math.min(n, i + BLOCK)));
        }
        return blocks;
    }

    /** The global L2 norm of all gradients: each block's sum of squares in double, then the blocks in map order. */
    public static double norm(Map<String, Tensor> grads) {
        List<Block> blocks = blocks(grads);
        double[] partial = new double[blocks.size()];
        Parallel.forRange(blocks.size(), 4, (from, to) -> {
            for (int b = from; b < to; b++) {
                Block k = blocks.get(b);
                float[] a = k.g().f32();
                double ss = 0;
                for (int i = k.g().offset() + k.from(), end = k.g().offset() + k.to(); i < end; i++) ss += (double) a[i] * a[i];
                partial[b] = ss;
            }
        });
        double ss = 0;
        for (double p : partial) ss += p;
        return Math.sqrt(ss);
    }

    /** The factor that brings a global norm {@code norm} down to at most {@code max} (1 when it is within, or {@code max <= 0}). */
    public static float scale(double norm, double max) {
        return max > 0 && norm > max ? (float) (max / (norm + 1e-6)) : 1f;
    }

    /** Scales the gradients in place so their global norm is at most {@code max}; returns the norm before. */
    public static double clip(Map<String, Tensor> grads, double max) {
        double n = norm(grads);
        float s = scale(n, max);
        if (s != 1f) {
            List<Block> blocks = blocks(grads);
            Parallel.forRange(blocks.size(), 4, (from, to) -> {
                for (int b = from; b < to; b++) {
                    Block k = blocks.get(b);
                    float[] a = k.g().f32();
                    for (int i = k.g().offset() + k.from(), end = k.g().offset() + k.to(); i < end; i++) a[i] *= s;
                }
            });
        }
        return n;
    }
}
