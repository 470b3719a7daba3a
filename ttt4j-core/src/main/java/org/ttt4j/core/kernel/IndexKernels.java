package org.ttt4j.core.kernel;

import org.ttt4j.core.tensor.Storage;
import org.ttt4j.core.tensor.Tensor;

/** Row gathers and scatter-adds (embedding lookup and its gradient), and rotary embeddings. */
public final class IndexKernels {
    private IndexKernels() {}

    /** out[i, :] = table[ids[i], :]; rows of width w. Ids are validated by the caller. */
    public static void gather(Tensor table, int[] ids, int w, Tensor out) {
        if (Elementwise.fast(table, out)) {
            float[] t = table.f32(), o = out.f32();
            for (int i = 0; i < ids.length; i++) System.arraycopy(t, table.offset() + ids[i] * w, o, out.offset() + i * w, w);
            return;
        }
        Storage t = table.storage(), o = out.storage();
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < w; j++) o.set(out.offset() + i * w + j, t.get(table.offset() + ids[i] * w + j));
        }
    }

    /** out[ids[i], :] += src[i, :] over i in order (deterministic); out must start zeroed. */
    public static void scatterAdd(Tensor src, int[] ids, int w, Tensor out) {
        Storage s = src.storage(), o = out.storage();
        if (Elementwise.fast(src, out)) {
            float[] a = src.f32(), r = out.f32();
            for (int i = 0; i < ids.length; i++) {
                int dst = out.offset() + ids[i] * w, from = src.offset() + i * w;
                for (int j = 0; j < w; j++) r[dst + j] += a[from + j];
            }
            return;
        }
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < w; j++) {
                int d = out.offset() + ids[i] * w + j;
                o.set(d, o.get(d) + s.get(src.offset() + i * w + j));
            }
        }
    }

    /** The rotation speeds of RoPE with base {@code theta} over pairs of a d-wide head: {@code theta^(-2f/d), f < d/2}. */
    public static double[] inverseFrequencies(double theta, int d) {
        double[] inv = new double[d / 2];
        for (int f = 0; f < inv.length; f++) inv[f] = Math.pow(theta, -2.0 * f / d);
        return inv;
    }

    /**
     * Rotary position embedding over rows [.., T, d]: the pair (x_a, x_b) of frequency f at
     * position p turns by angle {@code sign * p * invFreq[f]} ({@link #inverseFrequencies} for plain
     * RoPE; scaled variants change these speeds). Interleaved pairs are (2f, 2f+1) (the TTT/EasyLM
     * convention); otherwise (f, f + d/2) (the Hugging Face Llama convention). {@code sign = -1}
     * applies the inverse rotation, which is also the gradient.
     */
    public static void rope(Tensor in, int[] positions, double[] invFreq, boolean interleaved, int sign, Tensor out) {
        int[] shape = in.shape();
        int d = shape[shape.length - 1], t = shape[shape.length - 2], half = d / 2;
        if (invFreq.length != half) throw new IllegalArgumentException("rope: " + invFreq.length + " frequencies for head width " + d);
        int rows = in.size() / d;
        double[] cos = new double[t * half], sin = new double[t * half];
        for (int p = 0; p < t; p++) {
            for (int f = 0; f < half; f++) {
                double angle = positions[p] * invFreq[f];
                cos[p * half + f] = Math.cos(angle);
                sin[p * half + f] = sign * Math.sin(angle);
            }
        }
        Storage a = in.storage(), o = out.storage();
        if (Elementwise.fast(in, out)) {
            // Rows on the engine's threads: each element is computed alone, so the bits do not depend on the split.
            float[] af = in.f32(), of = out.f32();
            int io = in.offset(), oo = out.offset();
            Parallel.forRange(rows, Math.max(1, (1 << 14) / Math.max(1, d)), (from, to) -> {
                for (int r = from; r < to; r++) {
                    int p = r % t, base = r * d;
                    for (int f = 0; f < half; f++) {
                        int ia = interleaved ? 2 * f : f, ib = interleaved ? 2 * f + 1 : f + half;
                        double c = cos[p * half + f], s = sin[p * half + f];
                        float xa = af[io + base + ia], xb = af[io + base + ib];
                        of[oo + base + ia] = (float) (xa * c - xb * s);
                        of[oo + base + ib] = (float) (xa * s + xb * c);
                    }
                }
            });
            return;
        }
        for (int r = 0; r < rows; r++) {
            int p = r % t, base = r * d;
            for (int f = 0; f < half; f++) {
                int ia = interleaved ? 2 * f : f, ib = interleaved ? 2 * f + 1 : f + half;
                double c = cos[p * half + f], s = sin[p * half + f];
                double xa = a.get(in.offset() + base + ia), xb = a.get(in.offset() + base + ib);
                o.set(out.offset() + base + ia, xa * c - xb * s);
                o.set(out.offset() + base + ib, xa * s + xb * c);
            }
        }
    }
}
