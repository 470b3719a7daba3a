package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.core.tensor.Storage;
import org.ttt4j.core.tensor.Tensor;

/**
 * Kernels that work on independent rows of the last axis: softmax, log-softmax, RMS and layer
 * normalisation, and cross-entropy. Scalar references accumulate in double; the fast paths are
 * vectorised along the row and parallel over rows.
 */
public final class RowKernels {
    private static final VectorSpecies<Float> S = Simd.F;

    private RowKernels() {}

    public enum Kind { SOFTMAX, LOG_SOFTMAX, RMS_NORMALIZE, LAYER_NORMALIZE }

    /** Applies {@code kind} to each of the rows of width {@code w}; {@code eps} is for the norms. */
    public static void rows(Kind kind, Tensor in, Tensor out, int w, double eps) {
        int rows = w == 0 ? 0 : in.size() / w;
        if (Elementwise.fast(in, out)) {
            float[] a = in.f32(), o = out.f32();
            int ao = in.offset(), oo = out.offset();
            Parallel.forRange(rows, Math.max(1, 4096 / Math.max(1, w)), (from, to) -> {
                for (int r = from; r < to; r++) rowFast(kind, a, ao + r * w, o, oo + r * w, w, (float) eps);
            });
            return;
        }
        for (int r = 0; r < rows; r++) rowReference(kind, in.storage(), in.offset() + r * w, out.storage(), out.offset() + r * w, w, eps);
    }

    static void rowReference(Kind kind, Storage a, int ao, Storage o, int oo, int w, double eps) {
        switch (kind) {
            case SOFTMAX, LOG_SOFTMAX -> {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < w; j++) max = Math.max(max, a.get(ao + j));
                double sum = 0;
                for (int j = 0; j < w; j++) sum += Math.exp(a.get(ao + j) - max);
                double lse = max + Math.log(sum);
                for (int j = 0; j < w; j++) {
                    double x = a.get(ao + j);
                    o.set(oo + j, kind == Kind.SOFTMAX ? Math.exp(x - lse) : x - lse);
                }
            }
            case RMS_NORMALIZE -> {
                double ss = 0;
                for (int j = 0; j < w; j++) ss += a.get(ao + j) * a.get(ao + j);
                double r = 1 / Math.sqrt(ss / w + eps);
                for (int j = 0; j < w; j++) o.set(oo + j, a.get(ao + j) * r);
            }
            case LAYER_NORMALIZE -> {
                double mu = 0;
                for (int j = 0; j < w; j++) mu += a.get(ao + j);
                mu /= w;
                double var = 0;
                for (int j = 0; j < w; j++) var += (a.get(ao + j) - mu) * (a.get(ao + j) - mu);
                double r = 1 / Math.sqrt(var / w + eps);
                for (int j = 0; j < w; j++) o.set(oo + j, (a.get(ao + j) - mu) * r);
            }
        }
    }

    private static void rowFast(Kind kind, float[] a, int ao, float[] o, int oo, int w, float eps) {
        switch (kind) {
            case SOFTMAX -> {
                // exp(x - max) written once, then scaled by 1 / sum: one exp per element.
                float max = Reductions.rowMax(a, ao, w);
                scale(o, oo, o, oo, w, 0f, 1f / expInto(a, ao, o, oo, w, max));
            }
            case LOG_SOFTMAX -> {
                float max = Reductions.rowMax(a, ao, w);
                scale(a, ao, o, oo, w, max + (float) Math.log(sumExp(a, ao, w, max)), 1f);
            }
            case RMS_NORMALIZE -> {
                float ss = Reductions.dot(a, ao, a, ao, w);
                float r = (float) (1 / Math.sqrt(ss / w + eps));
                scale(a, ao, o, oo, w, 0f, r);
            }
            case LAYER_NORMALIZE -> {
                float mu = Reductions.rowSum(a, ao, w) / w;
                var vmu = FloatVector.broadcast(S, mu);
                var acc = FloatVector.zero(S);
                int i = 0;
                for (int upper = S.loopBound(w); i < upper; i += S.length()) {
                    var d = FloatVector.fromArray(S, a, ao + i).sub(vmu);
                    acc = d.fma(d, acc);
                }
                float var = VectorMath.sumLanes(acc);
                for (; i < w; i++) var += (a[ao + i] - mu) * (a[ao + i] - mu);
                float r = (float) (1 / Math.sqrt(var / w + eps));
                scale(a, ao, o, oo, w, mu, r);
            }
        }
    }

    /** Writes exp(a - max) into o and returns its sum (lanes summed in a fixed order). */
    private static float expInto(float[] a, int ao, float[] o, int oo, int w, float max) {
        var vmax = FloatVector.broadcast(S, max);
        var acc = FloatVector.zero(S);
        int i = 0;
        for (int upper = S.loopBound(w); i < upper; i += S.length()) {
            var e = VectorMath.exp(FloatVector.fromArray(S, a, ao + i).sub(vmax));
            e.intoArray(o, oo + i);
            acc = acc.add(e);
        }
        float sum = VectorMath.sumLanes(acc);
        for (; i < w; i++) {
            o[oo + i] = (float) Math.exp(a[ao + i] - max);
            sum += o[oo + i];
        }
        return sum;
    }

    /** The sum of exp(a - max) over a row, without storing the terms. */
    private static float sumExp(float[] a, int ao, int w, float max) {
        var vmax = FloatVector.broadcast(S, max);
        var acc = FloatVector.zero(S);
        int i = 0;
        for (int upper = S.loopBound(w); i < upper; i += S.length()) {
            acc = acc.add(VectorMath.exp(FloatVector.fromArray(S, a, ao + i).sub(vmax)));
        }
        float sum = VectorMath.sumLanes(acc);
        for (; i < w; i++) sum += (float) Math.exp(a[ao + i] - max);
        return sum;
    }

    /** o = (a - shift) * r. */
    private static void scale(float[] a, int ao, float[] o, int oo, int w, float shift, float r) {
        int i = 0;
        for (int upper = S.loopBound(w); i < upper; i += S.length()) {
            FloatVector.fromArray(S, a, ao + i).sub(shift).mul(r).intoArray(o, oo + i);
        }
        for (; i < w; i++) o[oo + i] = (a[ao + i] - shift) * r;
    }

    /**
     * Per-row cross-entropy: loss[r] = logsumexp(logits[r]) - logits[r][target[r]], or 0 where the
     * target equals {@code ignoreIndex}. Targets are validated by the caller.
     */
    public static void crossEntropy(Tensor logits, int[] targets, int ignoreIndex, Tensor losses) {
        int v = logits.dim(-1), rows = targets.length;
        if (Elementwise.fast(logits, losses)) {
            float[] a = logits.f32(), o = losses.f32();
            int ao = logits.offset(), oo = losses.offset();
            Parallel.forRange(rows, Math.max(1, 4096 / Math.max(1, v)), (from, to) -> {
                for (int r = from; r < to; r++) {
                    if (targets[r] == ignoreIndex) {
                        o[oo + r] = 0;
                        continue;
                    }
                    int row = ao + r * v;
                    float max = Reductions.rowMax(a, row, v);
                    float sum = sumExp(a, row, v, max);
                    o[oo + r] = max + (float) Math.log(sum) - a[row + targets[r]];
                }
            });
            return;
        }
        Storage a = logits.storage(), o = losses.storage();
        for (int r = 0; r < rows; r++) {
            if (targets[r] == ignoreIndex) {
                o.set(losses.offset() + r, 0);
                continue;
            }
            int row = logits.offset() + r * v;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) max = Math.max(max, a.get(row + j));
            double sum = 0;
            for (int j = 0; j < v; j++) sum += Math.exp(a.get(row + j) - max);
            o.set(losses.offset() + r, max + Math.log(sum) - a.get(row + targets[r]));
        }
    }

    // ---- fused first-order backward rules ---------------------------------------------------

    /**
     * The gradient of {@link #rows} for one kind, in one pass per row, for first-order backward
     * (the differentiable route composes ops instead). {@code saved} is the op's input x for the
     * norms and its output y for softmax / log-softmax; {@code g} the output gradient.
     * <ul>
     *   <li>softmax: dx = y (g - sum(g y));  log-softmax: dx = g - exp(y) sum(g)</li>
     *   <li>RMS: y = x r, dx = r (g - y mean(g y)) with r = 1 / sqrt(mean(x^2) + eps)</li>
     *   <li>layer: y = (x - mu) r, dx = r (g - mean(g) - y mean(g y))</li>
     * </ul>
     */
    public static void backward(Kind kind, Tensor saved, Tensor g, Tensor dx, int w, double eps) {
        int rows = w == 0 ? 0 : saved.size() / w;
        if (Elementwise.fast(saved, g, dx)) {
            float[] a = saved.f32(), gg = g.f32(), o = dx.f32();
            int ao = saved.offset(), go = g.offset(), oo = dx.offset();
            Parallel.forRange(rows, Math.max(1, 4096 / Math.max(1, w)), (from, to) -> {
                for (int r = from; r < to; r++) backwardRowFast(kind, a, ao + r * w, gg, go + r * w, o, oo + r * w, w, (float) eps);
            });
            return;
        }
        Storage a = saved.storage(), gg = g.storage(), o = dx.storage();
        for (int r = 0; r < rows; r++) {
            int ai = saved.offset() + r * w, gi = g.offset() + r * w, oi = dx.offset() + r * w;
            switch (kind) {
                case SOFTMAX -> {
                    double dot = 0;
                    for (int j = 0; j < w; j++) dot += gg.get(gi + j) * a.get(ai + j);
                    for (int j = 0; j < w; j++) o.set(oi + j, a.get(ai + j) * (gg.get(gi + j) - dot));
                }
                case LOG_SOFTMAX -> {
                    double sum = 0;
                    for (int j = 0; j < w; j++) sum += gg.get(gi + j);
                    for (int j = 0; j < w; j++) o.set(oi + j, gg.get(gi + j) - Math.exp(a.get(ai + j)) * sum);
                }
                case RMS_NORMALIZE, LAYER_NORMALIZE -> {
                    boolean layer = kind == Kind.LAYER_NORMALIZE;
                    double mu = 0;
                    if (layer) {
                        for (int j = 0; j < w; j++) mu += a.get(ai + j);
                        mu /= w;
                    }
                    double ss = 0;
                    for (int j = 0; j < w; j++) ss += (a.get(ai + j) - mu) * (a.get(ai + j) - mu);
                    double rs = 1 / Math.sqrt(ss / w + eps);
                    double gy = 0, gm = 0;
                    for (int j = 0; j < w; j++) {
                        gy += gg.get(gi + j) * (a.get(ai + j) - mu) * rs;
                        gm += gg.get(gi + j);
                    }
                    gy /= w;
                    gm = layer ? gm / w : 0;
                    for (int j = 0; j < w; j++) {
                        double y = (a.get(ai + j) - mu) * rs;
                        o.set(oi + j, rs * (gg.get(gi + j) - gm - y * gy));
                    }
                }
            }
        }
    }

    private static void backwardRowFast(Kind kind, float[] a, int ao, float[] g, int go, float[] o, int oo, int w, float eps) {
        int i;
        switch (kind) {
            case SOFTMAX -> {
                float dot = Reductions.dot(g, go, a, ao, w);
                i = 0;
                for (int upper = S.loopBound(w); i < upper; i += S.length()) {
                    var y = FloatVector.fromArray(S, a, ao + i);
                    y.mul(FloatVector.fromArray(S, g, go + i).sub(dot)).intoArray(o, oo + i);
                }
                for (; i < w; i++) o[oo + i] = a[ao + i] * (g[go + i] - dot);
            }
            case LOG_SOFTMAX -> {
                float sum = Reductions.rowSum(g, go, w);
                i = 0;
                for (int upper = S.loopBound(w); i < upper; i += S.length()) {
                    var e = VectorMath.exp(FloatVector.fromArray(S, a, ao + i));
                    FloatVector.fromArray(S, g, go + i).sub(e.mul(sum)).intoArray(o, oo + i);
                }
                for (; i < w; i++) o[oo + i] = g[go + i] - (float) Math.exp(a[ao + i]) * sum;
            }
            case RMS_NORMALIZE, LAYER_NORMALIZE -> {
                boolean layer = kind == Kind.LAYER_NORMALIZE;
                float mu = layer ? Reductions.rowSum(a, ao, w) / w : 0f;
                var vmu = FloatVector.broadcast(S, mu);
                var ss = FloatVector.zero(S);
                var gx = FloatVector.zero(S);
                var gs = FloatVector.zero(S);
                i = 0;
                for (int upper = S.loopBound(w); i < upper; i += S.length()) {
                    var c = FloatVector.fromArray(S, a, ao + i).sub(vmu);
                    var gv = FloatVector.fromArray(S, g, go + i);
                    ss = c.fma(c, ss);
                    gx = gv.fma(c, gx);
                    gs = gs.add(gv);
                }
                float sss = VectorMath.sumLanes(ss), sgx = VectorMath.sumLanes(gx), sgs = VectorMath.sumLanes(gs);
                for (int j = i; j < w; j++) {
                    float c = a[ao + j] - mu;
                    sss += c * c;
                    sgx += g[go + j] * c;
                    sgs += g[go + j];
                }
                float rs = (float) (1 / Math.sqrt(sss / w + eps));
                float gy = sgx * rs / w, gm = layer ? sgs / w : 0f;
                // dx = rs * (g - gm - (x - mu) * rs * gy)
                float k = rs * gy;
                i = 0;
                for (int upper = S.loopBound(w); i < upper; i += S.length()) {
                    var c = FloatVector.fromArray(S, a, ao + i).sub(vmu);
                    FloatVector.fromArray(S, g, go + i).sub(gm).sub(c.mul(k)).mul(rs).intoArray(o, oo + i);
                }
                for (; i < w; i++) o[oo + i] = rs * (g[go + i] - gm - (a[ao + i] - mu) * k);
            }
        }
    }

    /**
     * The gradient of {@link #crossEntropy} in one pass per row: dlogits = g[r] (softmax - onehot),
     * zero rows for ignored targets. First-order only.
     */
    public static void crossEntropyBackward(Tensor logits, int[] targets, int ignoreIndex, Tensor g, Tensor dlogits) {
        int v = logits.dim(-1), rows = targets.length;
        if (Elementwise.fast(logits, g, dlogits)) {
            float[] a = logits.f32(), gg = g.f32(), o = dlogits.f32();
            int ao = logits.offset(), go = g.offset(), oo = dlogits.offset();
            Parallel.forRange(rows, Math.max(1, 4096 / Math.max(1, v)), (from, to) -> {
                for (int r = from; r < to; r++) {
                    int row = ao + r * v, out = oo + r * v;
                    if (targets[r] == ignoreIndex) {
                        java.util.Arrays.fill(o, out, out + v, 0f);
                        continue;
                    }
                    float max = Reductions.rowMax(a, row, v);
                    float sum = expInto(a, row, o, out, v, max);
                    float scale = gg[go + r] / sum;
                    int i = 0;
                    for (int upper = S.loopBound(v); i < upper; i += S.length()) {
                        FloatVector.fromArray(S, o, out + i).mul(scale).intoArray(o, out + i);
                    }
                    for (; i < v; i++) o[out + i] *= scale;
                    o[out + targets[r]] -= gg[go + r];
                }
            });
            return;
        }
        Storage a = logits.storage(), gg = g.storage(), o = dlogits.storage();
        for (int r = 0; r < rows; r++) {
            int row = logits.offset() + r * v, out = dlogits.offset() + r * v;
            if (targets[r] == ignoreIndex) {
                for (int j = 0; j < v; j++) o.set(out + j, 0);
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) max = Math.max(max, a.get(row + j));
            double sum = 0;
            for (int j = 0; j < v; j++) sum += Math.exp(a.get(row + j) - max);
            double gr = gg.get(g.offset() + r);
            for (int j = 0; j < v; j++) {
                double p = Math.exp(a.get(row + j) - max) / sum;
                o.set(out + j, gr * (p - (j == targets[r] ? 1 : 0)));
            }
        }
    }
}
