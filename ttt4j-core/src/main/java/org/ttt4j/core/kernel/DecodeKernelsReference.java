package org.ttt4j.core.kernel;

/** The scalar twins of {@link DecodeKernels}: the same formulas as plain loops. */
public final class DecodeKernelsReference {
    private DecodeKernelsReference() {}

    public static void rmsNorm(float[] x, int xo, float[] weight, float[] out, int oo, int n, float eps) {
        float ss = 0;
        for (int i = 0; i < n; i++) ss += x[xo + i] * x[xo + i];
        float r = (float) (1 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) out[oo + i] = weight == null ? x[xo + i] * r : x[xo + i] * r * weight[i];
    }

    static float silu(float g) {
        return g * (1f / (1f + (float) Math.exp(-g)));
    }

    public static void siluMul(float[] g, float[] u, float[] out, int from, int to) {
        for (int i = from; i < to; i++) out[i] = silu(g[i]) * u[i];
    }

    public static void rope(float[] x, int xo, int d, double[] cos, double[] sin) {
        int half = d / 2;
        for (int f = 0; f < half; f++) {
            float a = x[xo + f], b = x[xo + f + half];
            x[xo + f] = (float) (a * cos[f] - b * sin[f]);
            x[xo + f + half] = (float) (a * sin[f] + b * cos[f]);
        }
    }

    public static void attend(float[] q, int qo, float[] keys, float[] values, int base, int d, long from, long to, int ring,
                              float scale, float[] scores, float[] out, int oo) {
        attend(q, qo, i -> keys[i], i -> values[i], base, d, from, to, ring, scale, scores, out, oo);
    }

    /** {@link #attend} over bfloat16 keys and values, widened exactly (the scalar twin of the fast bf16 kernel). */
    public static void attend(float[] q, int qo, short[] keys, short[] values, int base, int d, long from, long to, int ring,
                              float scale, float[] scores, float[] out, int oo) {
        attend(q, qo, i -> PackedMatrix.fromBf16(keys[i]), i -> PackedMatrix.fromBf16(values[i]), base, d, from, to, ring, scale, scores, out, oo);
    }

    /** Element i of a cached buffer as fp32. */
    private interface Cached {
        float at(int i);
    }

    private static void attend(float[] q, int qo, Cached keys, Cached values, int base, int d, long from, long to, int ring,
                               float scale, float[] scores, float[] out, int oo) {
        int n = (int) (to - from + 1);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            int ko = base + slot(from + j, ring) * d;
            float s = 0;
            for (int i = 0; i < d; i++) s += q[qo + i] * keys.at(ko + i);
            scores[j] = s * scale;
            max = Math.max(max, scores[j]);
        }
        float sum = 0;
        for (int j = 0; j < n; j++) sum += scores[j] = (float) Math.exp(scores[j] - max); // the fast twin uses VectorMath.exp
        for (int i = 0; i < d; i++) out[oo + i] = 0;
        for (int j = 0; j < n; j++) {
            int vo = base + slot(from + j, ring) * d;
            float p = scores[j] / sum;
            for (int i = 0; i < d; i++) out[oo + i] += p * values.at(vo + i);
        }
    }

    private static int slot(long pos, int ring) {
        return ring == 0 ? (int) pos : (int) (pos % ring);
    }
}
