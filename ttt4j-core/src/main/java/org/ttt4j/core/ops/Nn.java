package org.ttt4j.core.ops;

import static org.ttt4j.core.ops.Arith.add;
import static org.ttt4j.core.ops.Arith.firstOrder;
import static org.ttt4j.core.ops.Arith.mul;
import static org.ttt4j.core.ops.Arith.sub;
import static org.ttt4j.core.ops.Maths.exp;
import static org.ttt4j.core.ops.Maths.rsqrt;
import static org.ttt4j.core.ops.Reduce.meanLast;
import static org.ttt4j.core.ops.Reduce.sumLast;

import org.ttt4j.core.kernel.Elementwise;
import org.ttt4j.core.kernel.IndexKernels;
import org.ttt4j.core.kernel.RowKernels;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.Shapes;
import org.ttt4j.core.tensor.Tensor;

/**
 * Neural-network ops: softmax, log-softmax, cross-entropy, RMSNorm, LayerNorm, embedding lookup
 * and its scatter-add gradient, rotary position embedding. All act on the last axis.
 */
public final class Nn {
    private Nn() {}

    /**
     * silu(gate) * up, SwiGLU's gating. On the SIMD path with FP32 operands of one shape it is one
     * pass forward and, when no graph is being built, one pass backward, with the same bits as
     * {@code mul(silu(gate), up)}; otherwise (second order, other dtypes, broadcasting) it is those
     * two ops.
     */
    public static Tensor swiglu(Tensor gate, Tensor up) {
        if (!Elementwise.fast(gate, up) || !java.util.Arrays.equals(gate.shape(), up.shape())) return mul(Maths.silu(gate), up);
        Tensor out = Tensor.zeros(gate.dtype(), gate.shape());
        Elementwise.swiglu(gate, up, out);
        return GradFn.record(out, "swiglu", g -> {
            if (!firstOrder() || !g.isFastPath()) {
                return new Tensor[] {
                        gate.requiresGrad() ? mul(mul(g, up), Maths.siluDerivative(gate)) : null,
                        up.requiresGrad() ? mul(g, Maths.silu(gate)) : null};
            }
            Tensor dGate = Tensor.zeros(gate.dtype(), gate.shape()), dUp = Tensor.zeros(up.dtype(), up.shape());
            Elementwise.swigluBackward(gate, up, g, dGate, dUp);
            return new Tensor[] {gate.requiresGrad() ? dGate : null, up.requiresGrad() ? dUp : null};
        }, gate, up);
    }

    /** Softmax over the last axis. */
    public static Tensor softmax(Tensor a) {
        Tensor out = rows(RowKernels.Kind.SOFTMAX, a, 0);
        // d softmax: y * (g - sum(g * y)).
        return GradFn.record(out, "softmax", g -> new Tensor[] {
                firstOrder() ? fusedBackward(RowKernels.Kind.SOFTMAX, out, g, 0) : mul(out, sub(g, sumLast(mul(g, out))))}, a);
    }

    /** Log-softmax over the last axis. */
    public static Tensor logSoftmax(Tensor a) {
        Tensor out = rows(RowKernels.Kind.LOG_SOFTMAX, a, 0);
        return GradFn.record(out, "log_softmax", g -> new Tensor[] {
                firstOrder() ? fusedBackward(RowKernels.Kind.LOG_SOFTMAX, out, g, 0) : sub(g, mul(exp(out), sumLast(g)))}, a);
    }

    /** The one-pass first-order gradient of a row op ({@code saved}: input for norms, output for softmaxes). */
    private static Tensor fusedBackward(RowKernels.Kind kind, Tensor saved, Tensor g, double eps) {
        Tensor dx = Tensor.zeros(saved.dtype(), saved.shape());
        RowKernels.backward(kind, saved, g, dx, saved.dim(-1), eps);
        return dx;
    }

    private static Tensor rows(RowKernels.Kind kind, Tensor a, double eps) {
        if (a.rank() == 0) throw new IllegalArgumentException(kind + ": needs at least one axis, got a 0-d tensor");
        Tensor out = Tensor.zeros(a.dtype(), a.shape());
        RowKernels.rows(kind, a, out, a.dim(-1), eps);
        return out;
    }

    /**
     * Per-token cross-entropy from logits [..., V] and integer targets (one per row, in row-major
     * order): logsumexp(logits) - logits[target]. Rows whose target is {@code ignoreIndex} give 0
     * and no gradient. Result shape: logits' shape without the last axis.
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex) {
        int[] shape = logits.shape();
        if (shape.length == 0) throw new IllegalArgumentException("crossEntropy: logits must have a vocabulary axis");
        int v = shape[shape.length - 1];
        checkTargets("crossEntropy", targets, v == 0 ? 0 : logits.size() / v, v, ignoreIndex, "logits " + Shapes.str(shape));
        int[] os = java.util.Arrays.copyOf(shape, shape.length - 1);
        Tensor out = Tensor.zeros(logits.dtype(), os);
        RowKernels.crossEntropy(logits, targets, ignoreIndex, out);
        return GradFn.record(out, "cross_entropy", g -> {
            if (firstOrder()) {
                Tensor d = Tensor.zeros(logits.dtype(), shape);
                RowKernels.crossEntropyBackward(logits, targets, ignoreIndex, g, d);
                return new Tensor[] {d};
            }
            return new Tensor[] {crossEntropyGradient(logits, targets, ignoreIndex, g)};
        }, logits);
    }

    /** One target per row, each in [0, v) or {@code ignoreIndex}; {@code what} names the rows' tensor in the message. */
    private static void checkTargets(String op, int[] targets, int rows, int v, int ignoreIndex, String what) {
        if (targets.length != rows) throw new IllegalArgumentException(op + ": " + targets.length + " targets for " + what + " (" + rows + " rows)");
        for (int i = 0; i < rows; i++) {
            if (targets[i] != ignoreIndex && (targets[i] < 0 || targets[i] >= v)) {
                throw new IllegalArgumentException(op + ": target " + targets[i] + " at row " + i + " outside vocabulary of " + v);
            }
        }
    }

    /** (softmax(logits) - onehot(target)) * g with ops (differentiable), rows of ignored targets zeroed. */
    private static Tensor crossEntropyGradient(Tensor logits, int[] targets, int ignoreIndex, Tensor g) {
        int[] shape = logits.shape();
        int v = shape[shape.length - 1], rows = targets.length;
        int[] os = java.util.Arrays.copyOf(shape, shape.length - 1);
        Tensor oneHot = Tensor.zeros(logits.dtype(), shape);
        Tensor keep = Tensor.zeros(logits.dtype(), os);
        for (int i = 0; i < rows; i++) {
            if (targets[i] == ignoreIndex) continue;
            oneHot.set(i * v + targets[i], 1);
            keep.set(i, 1);
        }
        Tensor gRow = Layout.reshape(mul(g, keep), append(os, 1));
        return mul(sub(softmax(logits), oneHot), gRow);
    }

    /** Rows per chunk of the fused head: about 2M logits (8 MiB) at a time (2^21 / V), at least 16 rows. */
    private static int headChunkRows(int vocab) {
        return Math.max(16, (1 << 21) / Math.max(1, vocab));
    }

    /**
     * Per-row cross-entropy of the logits {@code x w^T} (x [N, D], w [V, D], an LM head), the same
     * values as {@code crossEntropy(matmul(x, w, false, true), targets, ignoreIndex)} without ever
     * holding the N x V logits. While gradients are recorded, on the SIMD path, the rows go in
     * chunks of {@link #headChunkRows} (8 MiB of logits): each chunk's logits, losses, and the
     * gradients dx and dw for a unit gradient of every row are computed right away (the softmax is
     * known then), and backward scales them by the incoming gradient when it is the same for every
     * counted row (a mean, a sum) or redoes the chunks with it otherwise. When backward builds a
     * graph (second order), the gradient is written with ordinary ops. Without gradients, or off
     * the SIMD path, it is the two ops.
     */
    public static Tensor linearCrossEntropy(Tensor x, Tensor w, int[] targets, int ignoreIndex) {
        if (x.rank() != 2 || w.rank() != 2 || x.dim(1) != w.dim(1)) {
            throw new IllegalArgumentException("linearCrossEntropy: x " + Shapes.str(x.shape()) + " and w " + Shapes.str(w.shape())
                    + " do not fit [N, D] and [V, D]");
        }
        int n = x.dim(0), d = x.dim(1), v = w.dim(0);
        boolean fused = org.ttt4j.core.tensor.GradMode.isEnabled() && (x.requiresGrad() || w.requiresGrad())
                && Elementwise.fast(x, w) && x.dtype() == w.dtype();
        if (!fused) return crossEntropy(Linalg.matmul(x, w, false, true), targets, ignoreIndex);
        checkTargets("linearCrossEntropy", targets, n, v, ignoreIndex, "x " + Shapes.str(x.shape()));
        Tensor losses = Tensor.zeros(x.dtype(), n);
        Tensor dx = Tensor.zeros(x.dtype(), n, d), dw = Tensor.zeros(x.dtype(), v, d);
        headChunks(x, w, targets, ignoreIndex, null, losses, dx, dw);
        return GradFn.record(losses, "linear_cross_entropy", g -> {
            if (!firstOrder()) {
                Tensor dLogits = crossEntropyGradient(Linalg.matmul(x, w, false, true), targets, ignoreIndex, g);
                return new Tensor[] {x.requiresGrad() ? Linalg.matmul(dLogits, w) : null,
                        w.requiresGrad() ? Linalg.matmul(dLogits, x, true, false) : null};
            }
            Double c = commonValue(g, targets, ignoreIndex);
            if (c != null) return new Tensor[] {mul(dx, c), mul(dw, c)};
            Tensor gx = Tensor.zeros(x.dtype(), n, d), gw = Tensor.zeros(x.dtype(), v, d);
            headChunks(x, w, targets, ignoreIndex, g, null, gx, gw);
            return new Tensor[] {gx, gw};
        }, x, w);
    }

    /** The gradient's value if it is the same on every row whose target counts (0 when none does), else null. */
    private static Double commonValue(Tensor g, int[] targets, int ignoreIndex) {
        Double c = null;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] == ignoreIndex) continue;
            double gi = g.get(i);
            if (c == null) c = gi;
            else if (Double.doubleToLongBits(gi) != Double.doubleToLongBits(c)) return null;
        }
        return c == null ? 0.0 : c;
    }

    /**
     * The fused head's chunks: for rows r0.. of x, logits = x w^T, then the losses (when
     * {@code losses} is given), dLogits = (softmax - onehot) * g (g = 1 when null), dx rows =
     * dLogits w and dw += dLogits^T x.
     */
    private static void headChunks(Tensor x, Tensor w, int[] targets, int ignoreIndex, Tensor g, Tensor losses, Tensor dx, Tensor dw) {
        int n = x.dim(0), d = x.dim(1), v = w.dim(0);
        int rows = Math.min(n, headChunkRows(v));
        float[] xa = x.f32(), wa = w.f32();
        int xo = x.offset(), wo = w.offset();
        Tensor logits = Tensor.zeros(x.dtype(), rows, v), dLogits = Tensor.zeros(x.dtype(), rows, v);
        Tensor ones = Tensor.full(x.dtype(), 1, rows);
        for (int r0 = 0; r0 < n; r0 += rows) {
            int r = Math.min(rows, n - r0);
            int[] tc = java.util.Arrays.copyOfRange(targets, r0, r0 + r);
            Tensor lc = Tensor.wrap(logits.storage(), 0, r, v), dc = Tensor.wrap(dLogits.storage(), 0, r, v);
            org.ttt4j.core.kernel.Gemm.sgemm(false, true, r, v, d, xa, xo + r0 * d, d, wa, wo, d, logits.f32(), 0, v, false);
            if (losses != null) RowKernels.crossEntropy(lc, tc, ignoreIndex, Tensor.wrap(losses.storage(), losses.offset() + r0, r));
            Tensor gc = g == null ? Tensor.wrap(ones.storage(), 0, r) : Tensor.wrap(g.storage(), g.offset() + r0, r);
            RowKernels.crossEntropyBackward(lc, tc, ignoreIndex, gc, dc);
            org.ttt4j.core.kernel.Gemm.sgemm(false, false, r, d, v, dLogits.f32(), 0, v, wa, wo, d, dx.f32(), dx.offset() + r0 * d, d, false);
            org.ttt4j.core.kernel.Gemm.sgemm(true, false, v, d, r, dLogits.f32(), 0, v, xa, xo + r0 * d, d, dw.f32(), dw.offset(), d, r0 > 0);
        }
    }

    /** Mean cross-entropy over the rows whose target is not {@code ignoreIndex} (0 if there are none). */
    public static Tensor crossEntropyMean(Tensor logits, int[] targets, int ignoreIndex) {
        return meanOfCounted(crossEntropy(logits, targets, ignoreIndex), targets, ignoreIndex);
    }

    /** {@link #linearCrossEntropy}'s mean over the rows whose target is not {@code ignoreIndex} (0 if there are none). */
    public static Tensor linearCrossEntropyMean(Tensor x, Tensor w, int[] targets, int ignoreIndex) {
        return meanOfCounted(linearCrossEntropy(x, w, targets, ignoreIndex), targets, ignoreIndex);
    }

    private static Tensor meanOfCounted(Tensor losses, int[] targets, int ignoreIndex) {
        int counted = 0;
        for (int t : targets) if (t != ignoreIndex) counted++;
        return mul(Reduce.sum(losses), 1.0 / Math.max(1, counted));
    }

    /** x / sqrt(mean(x^2) + eps) over the last axis, times {@code weight} (broadcast; null for none). */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        Tensor y = rmsNormalize(x, eps);
        return weight == null ? y : mul(y, weight);
    }

    /** x / sqrt(mean(x^2) + eps) over the last axis. */
    public static Tensor rmsNormalize(Tensor x, double eps) {
        Tensor out = rows(RowKernels.Kind.RMS_NORMALIZE, x, eps);
        // dx = r (g - y mean(g y)), with r = rsqrt(mean(x^2) + eps) recomputed as ops (second order).
        return GradFn.record(out, "rms_normalize", g -> {
            if (firstOrder()) return new Tensor[] {fusedBackward(RowKernels.Kind.RMS_NORMALIZE, x, g, eps)};
            Tensor r = rsqrt(add(meanLast(mul(x, x)), eps));
            return new Tensor[] {mul(r, sub(g, mul(out, meanLast(mul(g, out)))))};
        }, x);
    }

    /** (x - mean) / sqrt(var + eps) over the last axis, times weight plus bias (broadcast; null for none). */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        Tensor y = layerNormalize(x, eps);
        if (weight != null) y = mul(y, weight);
        return bias == null ? y : add(y, bias);
    }

    /** (x - mean) / sqrt(var + eps) over the last axis (biased variance). */
    public static Tensor layerNormalize(Tensor x, double eps) {
        Tensor out = rows(RowKernels.Kind.LAYER_NORMALIZE, x, eps);
        // dx = r (g - mean(g) - y mean(g y)).
        return GradFn.record(out, "layer_normalize", g -> {
            if (firstOrder()) return new Tensor[] {fusedBackward(RowKernels.Kind.LAYER_NORMALIZE, x, g, eps)};
            Tensor centred = sub(x, meanLast(x));
            Tensor r = rsqrt(add(meanLast(mul(centred, centred)), eps));
            return new Tensor[] {mul(r, sub(sub(g, meanLast(g)), mul(out, meanLast(mul(g, out)))))};
        }, x);
    }

    /**
     * Rows of {@code table} [V, D] picked by {@code ids} (shape {@code idsShape}); result
     * idsShape + [D]. An id outside [0, V) throws naming it. Gradient: {@link #scatterAdd}.
     */
    public static Tensor embedding(Tensor table, int[] ids, int... idsShape) {
        if (table.rank() != 2) throw new IllegalArgumentException("embedding: table must be [V, D], got " + Shapes.str(table.shape()));
        if (Shapes.size(idsShape) != ids.length) {
            throw new IllegalArgumentException("embedding: " + ids.length + " ids do not fill shape " + Shapes.str(idsShape));
        }
        int v = table.dim(0), d = table.dim(1);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= v) {
                throw new IllegalArgumentException("embedding: token id " + ids[i] + " at position " + i
                        + " outside vocabulary of " + v);
            }
        }
        Tensor out = Tensor.zeros(table.dtype(), append(idsShape, d));
        IndexKernels.gather(table, ids, d, out);
        return GradFn.record(out, "embedding", g -> new Tensor[] {scatterAdd(g, ids, v)}, table);
    }

    /** out[ids[i]] += src[i] for rows of src [..., D]: result [rows, D]. Gradient: {@link #embedding}. */
    public static Tensor scatterAdd(Tensor src, int[] ids, int rows) {
        int d = src.dim(-1);
        if (src.size() != ids.length * d) {
            throw new IllegalArgumentException("scatterAdd: source " + Shapes.str(src.shape()) + " does not hold " + ids.length + " rows");
        }
        Tensor out = Tensor.zeros(src.dtype(), rows, d);
        IndexKernels.scatterAdd(src, ids, d, out);
        int[] srcShape = src.shape();
        return GradFn.record(out, "scatter_add", g -> new Tensor[] {
                Layout.reshape(embedding(g, ids, ids.length), srcShape)}, src);
    }

    /**
     * Rotary position embedding of x [..., T, d] (d even): pairs of dims turn by
     * positions[t] * theta^(-2f/d). {@code interleaved} pairs (2f, 2f+1) as in the TTT reference,
     * otherwise (f, f + d/2) as in Hugging Face Llama. Its gradient is the inverse rotation.
     */
    public static Tensor rope(Tensor x, int[] positions, double theta, boolean interleaved) {
        int[] s = x.shape();
        return rope(x, positions, IndexKernels.inverseFrequencies(theta, s.length == 0 ? 0 : s[s.length - 1]), interleaved);
    }

    /** {@link #rope(Tensor, int[], double, boolean)} with given rotation speeds per pair ({@code d / 2} of them: scaled RoPE). */
    public static Tensor rope(Tensor x, int[] positions, double[] invFreq, boolean interleaved) {
        return rotate(x, positions, invFreq, interleaved, 1);
    }

    private static Tensor rotate(Tensor x, int[] positions, double[] invFreq, boolean interleaved, int sign) {
        int[] s = x.shape();
        if (s.length < 2 || s[s.length - 1] % 2 != 0) {
            throw new IllegalArgumentException("rope: needs [..., T, d] with even d, got " + Shapes.str(s));
        }
        if (positions.length != s[s.length - 2]) {
            throw new IllegalArgumentException("rope: " + positions.length + " positions for " + s[s.length - 2] + " tokens");
        }
        Tensor out = Tensor.zeros(x.dtype(), s);
        IndexKernels.rope(x, positions, invFreq, interleaved, sign, out);
        return GradFn.record(out, "rope", g -> new Tensor[] {rotate(g, positions, invFreq, interleaved, -sign)}, x);
    }

    static int[] append(int[] shape, int last) {
        int[] r = java.util.Arrays.copyOf(shape, shape.length + 1);
        r[shape.length] = last;
        return r;
    }
}
