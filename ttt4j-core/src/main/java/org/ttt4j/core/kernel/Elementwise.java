package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.core.tensor.Shapes;
import org.ttt4j.core.tensor.Storage;
import org.ttt4j.core.tensor.Tensor;

/**
 * Element-wise kernels: unary maps, binary maps with numpy broadcasting, and select. Each has a
 * scalar reference (double arithmetic through {@link Storage}) and, for FP32 with SIMD on, a
 * Vector API path for the shapes that matter (same shape, a row broadcast, a scalar).
 */
public final class Elementwise {
    private static final VectorSpecies<Float> S = Simd.F;
    /** Elements per parallel task: below this the fork costs more than the work. */
    private static final int GRAIN = 1 << 15;

    private Elementwise() {}

    /** Whether the tensors take the Vector API path: SIMD on and every one FP32 and contiguous. */
    public static boolean fast(Tensor... ts) {
        if (!Simd.enabled()) return false;
        for (Tensor t : ts) if (!t.isFastPath()) return false;
        return true;
    }

    /** Sets every element of {@code a} to +0, large arrays on the engine's threads (an arena's zeroing). */
    public static void zero(float[] a) {
        Parallel.forRange(a.length, 4 * GRAIN, (from, to) -> java.util.Arrays.fill(a, from, to, 0f));
    }

    // ---- unary -----------------------------------------------------------------------------

    /** Unary maps; {@code p} is the parameter of the scalar forms (constant, exponent). */
    public enum Unary {
        NEG, EXP, LOG, SQRT, RSQRT, TANH, SIGMOID, RELU, SILU, GELU,
        ADD_SCALAR, MUL_SCALAR, POW, STEP /* 1 where x > 0: relu's derivative */,
        DSILU /* silu'(x) */, DGELU /* gelu'(x) */;

        /** sqrt(2/pi), the constant of the tanh approximation of gelu. */
        static final double GELU_C = 0.7978845608028654;
        static final double GELU_A = 0.044715;

        public double apply(double x, double p) {
            return switch (this) {
                case NEG -> -x;
                case EXP -> Math.exp(x);
                case LOG -> Math.log(x);
                case SQRT -> Math.sqrt(x);
                case RSQRT -> 1 / Math.sqrt(x);
                case TANH -> Math.tanh(x);
                case SIGMOID -> 1 / (1 + Math.exp(-x));
                case RELU -> x > 0 ? x : 0;
                case SILU -> x / (1 + Math.exp(-x));
                case GELU -> 0.5 * x * (1 + Math.tanh(GELU_C * (x + GELU_A * x * x * x)));
                case ADD_SCALAR -> x + p;
                case MUL_SCALAR -> x * p;
                case POW -> Math.pow(x, p);
                case STEP -> x > 0 ? 1 : 0;
                case DSILU -> {
                    double sg = 1 / (1 + Math.exp(-x));
                    yield sg * (1 + x * (1 - sg));
                }
                case DGELU -> {
                    double th = Math.tanh(GELU_C * (x + GELU_A * x * x * x));
                    yield 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_C * (1 + 3 * GELU_A * x * x);
                }
            };
        }

        FloatVector apply(FloatVector x, float p) {
            return switch (this) {
                case NEG -> x.neg();
                case EXP -> VectorMath.exp(x);
                case LOG, POW -> throw new AssertionError("scalar only");
                case SQRT -> x.sqrt();
                case RSQRT -> x.broadcast(1f).div(x.sqrt());
                case TANH -> VectorMath.tanh(x);
                case SIGMOID -> VectorMath.sigmoid(x);
                case RELU -> x.max(0f);
                case SILU -> x.mul(VectorMath.sigmoid(x));
                case GELU -> {
                    var inner = x.mul(x).mul((float) GELU_A).add(1f).mul(x).mul((float) GELU_C);
                    yield VectorMath.tanh(inner).add(1f).mul(x).mul(0.5f);
                }
                case ADD_SCALAR -> x.add(p);
                case MUL_SCALAR -> x.mul(p);
                case STEP -> x.broadcast(0f).blend(1f, x.compare(VectorOperators.GT, 0f));
                case DSILU -> {
                    var sg = VectorMath.sigmoid(x);
                    yield sg.neg().add(1f).mul(x).add(1f).mul(sg);
                }
                case DGELU -> {
                    var x2 = x.mul(x);
                    var th = VectorMath.tanh(x2.mul((float) GELU_A).add(1f).mul(x).mul((float) GELU_C));
                    var du = x2.mul((float) (3 * GELU_A)).add(1f).mul((float) GELU_C);
                    yield th.add(1f).mul(0.5f).add(th.mul(th).neg().add(1f).mul(du).mul(x).mul(0.5f));
                }
            };
        }
    }

    /** out[i] = f(in[i]); out has in's shape. */
    public static void unary(Unary f, double p, Tensor in, Tensor out) {
        int n = in.size();
        // log and pow have no JIT-independent vector form here; Math.log/pow per element are exact to spec.
        if (fast(in, out) && (f == Unary.LOG || f == Unary.POW)) {
            float[] a = in.f32(), o = out.f32();
            int ao = in.offset(), oo = out.offset();
            Parallel.forRange(n, GRAIN, (from, to) -> {
                for (int i = from; i < to; i++) o[oo + i] = (float) f.apply(a[ao + i], p);
            });
            return;
        }
        if (fast(in, out)) {
            float[] a = in.f32(), o = out.f32();
            int ao = in.offset(), oo = out.offset();
            float pf = (float) p;
            Parallel.forRange(n, GRAIN, (from, to) -> {
                int i = from;
                for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
                    f.apply(FloatVector.fromArray(S, a, ao + i), pf).intoArray(o, oo + i);
                }
                for (; i < to; i++) o[oo + i] = (float) f.apply(a[ao + i], p);
            });
            return;
        }
        Storage a = in.storage(), o = out.storage();
        for (int i = 0; i < n; i++) o.set(out.offset() + i, f.apply(a.get(in.offset() + i), p));
    }

    // ---- SwiGLU ----------------------------------------------------------------------------

    /**
     * out = silu(gate) * up in one pass, for FP32 tensors of one shape with SIMD on (the caller
     * checks; otherwise it runs the two ops, which are the reference): the same bits as
     * {@link Unary#SILU} then {@link Binary#MUL} (the same chunks, the same vector and scalar
     * forms), without the intermediate tensor.
     */
    public static void swiglu(Tensor gate, Tensor up, Tensor out) {
        int n = out.size();
        if (!fast(gate, up, out)) throw new IllegalArgumentException("swiglu: FP32 tensors on the SIMD path expected");
        float[] a = gate.f32(), b = up.f32(), o = out.f32();
        int ao = gate.offset(), bo = up.offset(), oo = out.offset();
        Parallel.forRange(n, GRAIN, (from, to) -> {
            int i = from;
            for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
                var x = FloatVector.fromArray(S, a, ao + i);
                x.mul(VectorMath.sigmoid(x)).mul(FloatVector.fromArray(S, b, bo + i)).intoArray(o, oo + i);
            }
            for (; i < to; i++) o[oo + i] = (float) ((float) Unary.SILU.apply(a[ao + i], 0) * (double) b[bo + i]);
        });
    }

    /**
     * The first-order gradients of {@link #swiglu} in one pass: dGate = (dy * up) * silu'(gate),
     * dUp = dy * silu(gate), the same bits as the backward of SILU and MUL run one after the other.
     */
    public static void swigluBackward(Tensor gate, Tensor up, Tensor dy, Tensor dGate, Tensor dUp) {
        int n = dy.size();
        if (!fast(gate, up, dy, dGate, dUp)) throw new IllegalArgumentException("swiglu: FP32 tensors on the SIMD path expected");
        float[] a = gate.f32(), b = up.f32(), g = dy.f32(), da = dGate.f32(), db = dUp.f32();
        int ao = gate.offset(), bo = up.offset(), go = dy.offset(), dao = dGate.offset(), dbo = dUp.offset();
        Parallel.forRange(n, GRAIN, (from, to) -> {
            int i = from;
            for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
                var x = FloatVector.fromArray(S, a, ao + i);
                var gv = FloatVector.fromArray(S, g, go + i);
                var sg = VectorMath.sigmoid(x);
                gv.mul(x.mul(sg)).intoArray(db, dbo + i);
                gv.mul(FloatVector.fromArray(S, b, bo + i)).mul(sg.neg().add(1f).mul(x).add(1f).mul(sg)).intoArray(da, dao + i);
            }
            for (; i < to; i++) {
                double x = a[ao + i];
                db[dbo + i] = (float) (g[go + i] * (double) (float) Unary.SILU.apply(x, 0));
                da[dao + i] = (float) ((float) (g[go + i] * (double) b[bo + i]) * (double) (float) Unary.DSILU.apply(x, 0));
            }
        });
    }

    // ---- binary ----------------------------------------------------------------------------

    public enum Binary {
        ADD, SUB, MUL, DIV, GT /* 1 where a > b, else 0 */;

        public double apply(double a, double b) {
            return switch (this) {
                case ADD -> a + b;
                case SUB -> a - b;
                case MUL -> a * b;
                case DIV -> a / b;
                case GT -> a > b ? 1 : 0;
            };
        }

        FloatVector apply(FloatVector a, FloatVector b) {
            return switch (this) {
                case ADD -> a.add(b);
                case SUB -> a.sub(b);
                case MUL -> a.mul(b);
                case DIV -> a.div(b);
                case GT -> a.broadcast(0f).blend(1f, a.compare(VectorOperators.GT, b));
            };
        }
    }

    /** out = f(a, b) with a and b broadcast to out's shape (numpy rules, checked by the caller). */
    public static void binary(Binary f, Tensor a, Tensor b, Tensor out) {
        int[] os = out.shape();
        if (fast(a, b, out)) {
            int n = out.size();
            if (a.size() == n && b.size() == n) {
                sameShape(f, a.f32(), a.offset(), b.f32(), b.offset(), out.f32(), out.offset(), n);
                return;
            }
            if (a.size() == n && isTrailing(b.shape(), os)) {
                rowBroadcast(f, a, b, out, false);
                return;
            }
            if (b.size() == n && isTrailing(a.shape(), os)) {
                rowBroadcast(f, b, a, out, true);
                return;
            }
            if (a.size() == n && isPerRow(b.shape(), os)) {
                columnBroadcast(f, a, b, out, false);
                return;
            }
            if (b.size() == n && isPerRow(a.shape(), os)) {
                columnBroadcast(f, b, a, out, true);
                return;
            }
        }
        binaryReference(f, a, b, out);
    }

    /** True when {@code small} equals the trailing dims of {@code full} after dropping leading 1s. */
    private static boolean isTrailing(int[] small, int[] full) {
        int lead = 0;
        while (lead < small.length && small[lead] == 1) lead++;
        int r = small.length - lead;
        if (r > full.length) return false;
        for (int i = 0; i < r; i++) if (small[lead + i] != full[full.length - r + i]) return false;
        return true;
    }

    /** True when {@code small} is {@code full} with the last dim 1: one value per row (norm statistics). */
    private static boolean isPerRow(int[] small, int[] full) {
        if (full.length == 0 || small.length != full.length || small[small.length - 1] != 1) return false;
        for (int i = 0; i < full.length - 1; i++) if (small[i] != full[i]) return false;
        return true;
    }

    /** {@code full} has out's size; {@code col} holds one value per row of width w. */
    private static void columnBroadcast(Binary f, Tensor full, Tensor col, Tensor out, boolean swapped) {
        float[] a = full.f32(), c = col.f32(), o = out.f32();
        int ao = full.offset(), co = col.offset(), oo = out.offset();
        int w = out.shape()[out.rank() - 1], rows = col.size();
        if (w == 0) return;
        Parallel.forRange(rows, Math.max(1, GRAIN / w), (from, to) -> {
            for (int r = from; r < to; r++) {
                int base = r * w, j = 0;
                float sv = c[co + r];
                var y = FloatVector.broadcast(S, sv);
                for (int upper = S.loopBound(w); j < upper; j += S.length()) {
                    var x = FloatVector.fromArray(S, a, ao + base + j);
                    (swapped ? f.apply(y, x) : f.apply(x, y)).intoArray(o, oo + base + j);
                }
                for (; j < w; j++) {
                    double x = a[ao + base + j];
                    o[oo + base + j] = (float) (swapped ? f.apply(sv, x) : f.apply(x, sv));
                }
            }
        });
    }

    private static void sameShape(Binary f, float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        Parallel.forRange(n, GRAIN, (from, to) -> {
            int i = from;
            for (int upper = from + S.loopBound(to - from); i < upper; i += S.length()) {
                f.apply(FloatVector.fromArray(S, a, ao + i), FloatVector.fromArray(S, b, bo + i))
                        .intoArray(o, oo + i);
            }
            for (; i < to; i++) o[oo + i] = (float) f.apply(a[ao + i], b[bo + i]);
        });
    }

    /** {@code full} has out's size; {@code row} repeats along the leading axes. */
    private static void rowBroadcast(Binary f, Tensor full, Tensor row, Tensor out, boolean swapped) {
        float[] a = full.f32(), r = row.f32(), o = out.f32();
        int ao = full.offset(), ro = row.offset(), oo = out.offset();
        int w = row.size(), rows = out.size() / Math.max(1, w);
        if (w == 0) return;
        Parallel.forRange(rows, Math.max(1, GRAIN / w), (from, to) -> {
            for (int rIdx = from; rIdx < to; rIdx++) {
                int base = rIdx * w;
                int j = 0;
                if (w == 1) {
                    float s = r[ro];
                    o[oo + base] = (float) (swapped ? f.apply(s, a[ao + base]) : f.apply(a[ao + base], s));
                    continue;
                }
                for (int upper = S.loopBound(w); j < upper; j += S.length()) {
                    var x = FloatVector.fromArray(S, a, ao + base + j);
                    var y = FloatVector.fromArray(S, r, ro + j);
                    (swapped ? f.apply(y, x) : f.apply(x, y)).intoArray(o, oo + base + j);
                }
                for (; j < w; j++) {
                    double x = a[ao + base + j], y = r[ro + j];
                    o[oo + base + j] = (float) (swapped ? f.apply(y, x) : f.apply(x, y));
                }
            }
        });
    }

    public static void binaryReference(Binary f, Tensor a, Tensor b, Tensor out) {
        int[] os = out.shape();
        int[] sa = Shapes.broadcastStrides(a.shape(), os), sb = Shapes.broadcastStrides(b.shape(), os);
        Storage x = a.storage(), y = b.storage(), o = out.storage();
        int n = out.size(), rank = os.length;
        int[] idx = new int[rank];
        int ia = a.offset(), ib = b.offset();
        for (int i = 0; i < n; i++) {
            o.set(out.offset() + i, f.apply(x.get(ia), y.get(ib)));
            for (int d = rank - 1; d >= 0; d--) {
                ia += sa[d];
                ib += sb[d];
                if (++idx[d] < os[d]) break;
                ia -= sa[d] * os[d];
                ib -= sb[d] * os[d];
                idx[d] = 0;
            }
        }
    }

    /** out = cond != 0 ? a : b, all three broadcast to out's shape. */
    public static void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        int[] os = out.shape();
        int[] sc = Shapes.broadcastStrides(cond.shape(), os);
        int[] sa = Shapes.broadcastStrides(a.shape(), os), sb = Shapes.broadcastStrides(b.shape(), os);
        Storage c = cond.storage(), x = a.storage(), y = b.storage(), o = out.storage();
        int n = out.size(), rank = os.length;
        int[] idx = new int[rank];
        int ic = cond.offset(), ia = a.offset(), ib = b.offset();
        for (int i = 0; i < n; i++) {
            o.set(out.offset() + i, c.get(ic) != 0 ? x.get(ia) : y.get(ib));
            for (int d = rank - 1; d >= 0; d--) {
                ic += sc[d];
                ia += sa[d];
                ib += sb[d];
                if (++idx[d] < os[d]) break;
                ic -= sc[d] * os[d];
                ia -= sa[d] * os[d];
                ib -= sb[d] * os[d];
                idx[d] = 0;
            }
        }
    }

    /** Copies {@code in} (of shape {@code in.shape()}) permuted by {@code perm} into {@code out}. */
    public static void permute(Tensor in, int[] perm, Tensor out) {
        int[] is = in.shape(), st = Shapes.strides(is), os = out.shape();
        int rank = is.length;
        int[] step = new int[rank];
        for (int d = 0; d < rank; d++) step[d] = st[perm[d]];
        int n = out.size();
        // The last output axis often is the last input axis (head split): copy runs.
        if (rank > 0 && perm[rank - 1] == rank - 1 && in.isFastPath() && out.isFastPath()) {
            int w = os[rank - 1];
            if (w == 0) return;
            float[] a = in.f32(), o = out.f32();
            // Runs of w floats, split over the engine's threads; each range finds its first source run.
            Parallel.forRange(n / w, Math.max(1, GRAIN / w), (from, to) -> {
                int[] idx = new int[rank];
                int src = in.offset();
                for (int d = rank - 2, rest = from; d >= 0; d--) {
                    idx[d] = rest % os[d];
                    rest /= os[d];
                    src += idx[d] * step[d];
                }
                for (int run = from; run < to; run++) {
                    System.arraycopy(a, src, o, out.offset() + run * w, w);
                    for (int d = rank - 2; d >= 0; d--) {
                        src += step[d];
                        if (++idx[d] < os[d]) break;
                        src -= step[d] * os[d];
                        idx[d] = 0;
                    }
                }
            });
            return;
        }
        Storage a = in.storage(), o = out.storage();
        int[] idx = new int[rank];
        int src = in.offset();
        for (int i = 0; i < n; i++) {
            o.set(out.offset() + i, a.get(src));
            for (int d = rank - 1; d >= 0; d--) {
                src += step[d];
                if (++idx[d] < os[d]) break;
                src -= step[d] * os[d];
                idx[d] = 0;
            }
        }
    }
}
