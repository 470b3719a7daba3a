package org.ttt4j.lm.layers.ttt;

import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.kernel.SmallGemm;
import org.ttt4j.core.kernel.VectorMath;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;

/**
 * TTT-Linear's dual form as one fused op, forward and backward: the hot loop of TTT-Linear models.
 * Per (sequence, head) pair and mini-batch of b tokens, with K, Q, V [b, d], start weights W [d, d]
 * and bias w0 [d]:
 * <pre>
 *   Z = K W + w0;  G = dl/dZ (closed form through the inner LayerNorm, target V - K)
 *   A = tril(Q K^T);  P = eta o (A + 1),  eta_ij = s_i c_j for j <= i
 *   Zbar = Q W + w0 - P G;  out = Q + LN(Zbar)
 *   W' = W - K^T (e o G);  w0' = w0 - e^T G,  e = eta's last row
 * </pre>
 * Everything stays in L1 (d = 64: W is 16 KiB) and runs through {@link SmallGemm}. The backward
 * pass walks the mini-batches in reverse from the saved start weights, recomputing the rest, and
 * is written out by hand (including the derivative of the closed-form inner gradient). Under
 * {@code createGraph} (second order) the backward re-runs {@link InnerLoop#dual} op by op instead,
 * so higher derivatives stay exact; the fused route is first order only.
 *
 * <p>Tests hold it against {@link InnerLoop#dual}, forward and backward, with SIMD on and off.
 */
public final class TttLinearKernel {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();

    private TttLinearKernel() {}

    /** Row-wise work goes through the Vector API when SIMD is on and rows are whole vectors; else the scalar twins. */
    private static boolean vectorRows(int d) {
        return Simd.enabled() && d % L == 0;
    }

    public static boolean supports(InnerLoop.Inner in) {
        return in.kind() == InnerLoop.Kind.LINEAR && in.normed();
    }

    /** Same contract as {@link InnerLoop#dual}; fp32 only (other dtypes take the op-by-op route). */
    public static InnerLoop.Result dual(Tensor q, Tensor k, Tensor v, Tensor s, Tensor c, InnerLoop.State start, Tensor gamma, Tensor beta,
                                 InnerLoop.Inner in) {
        if (!supports(in)) throw new IllegalArgumentException("fused TTT kernel: only TTT-Linear with the inner norm");
        int n = q.dim(0), t = q.dim(1), d = q.dim(2), b = s.size();
        if (t % b != 0) throw new IllegalArgumentException("dual form: " + t + " tokens are not whole mini-batches of " + b);
        Tensor w0 = start.weights().get(0), b0 = start.weights().get(1);
        Tensor[] xs = {q, k, v, s, c, w0, b0, Reduce.broadcastTo(gamma, new int[] {n, 1, d}), Reduce.broadcastTo(beta, new int[] {n, 1, d})};
        for (Tensor x : xs) {
            if (x.dtype() != DType.FP32) return InnerLoop.dual(q, k, v, s, c, start, gamma, beta, in);
        }
        checkShape("k", k, n, t, d);
        checkShape("v", v, n, t, d);
        checkShape("c", c, n, t);
        checkShape("W1", w0, n, d, d);
        checkShape("b1", b0, n, 1, d);
        Tensor packed = op(xs, n, t, d, b, (float) in.eps());
        int o = t * d;
        Tensor out = Layout.reshape(Layout.slice(packed, 1, 0, o), n, t, d);
        Tensor w = Layout.reshape(Layout.slice(packed, 1, o, o + d * d), n, d, d);
        Tensor bias = Layout.reshape(Layout.slice(packed, 1, o + d * d, o + d * d + d), n, 1, d);
        return new InnerLoop.Result(out, InnerLoop.State.fresh(List.of(w, bias)));
    }

    /**
     * Multiply-adds x 2 of the forward pass over n pairs of t tokens: per mini-batch K W, Q W and the
     * state update (b d^2 each), Q K^T and P G (b^2 d each). Elementwise work is not counted.
     */
    public static double forwardFlops(int n, int t, int d, int b) {
        return 2.0 * n * (t / b) * (3.0 * b * d * d + 2.0 * b * b * d);
    }

    private static void checkShape(String name, Tensor x, int... shape) {
        if (!java.util.Arrays.equals(x.shape(), shape)) {
            throw new IllegalArgumentException("fused TTT kernel: " + name + " has shape " + java.util.Arrays.toString(x.shape())
                    + ", expected " + java.util.Arrays.toString(shape));
        }
    }

    /** The packed result [N, T·d + d·d + d]: outputs, final W, final bias. */
    private static Tensor op(Tensor[] xs, int n, int t, int d, int b, float eps) {
        boolean saveStates = GradMode.isEnabled() && java.util.Arrays.stream(xs).anyMatch(Tensor::requiresGrad);
        int m = t / b, per = t * d + d * d + d;
        Tensor packed = Tensor.zeros(DType.FP32, n, per);
        float[] states = saveStates ? new float[n * m * (d * d + d)] : null;
        Dims dims = new Dims(t, d, b, eps);
        Parallel.forRange(n, 1, (from, to) -> {
            Scratch w = new Scratch(dims);
            for (int i = from; i < to; i++) forward(dims, xs, i, packed.f32(), states, w);
        });
        return GradFn.record(packed, "ttt_linear_dual", g -> GradMode.isEnabled() ? composite(xs, g, b, eps)
                : backward(dims, xs, states, g, n), xs);
    }

    /** Second and higher order: the same computation op by op, differentiated with a graph. */
    private static Tensor[] composite(Tensor[] xs, Tensor g, int b, float eps) {
        var r = InnerLoop.dual(xs[0], xs[1], xs[2], xs[3], xs[4], InnerLoop.State.fresh(List.of(xs[5], xs[6])), xs[7], xs[8],
                new InnerLoop.Inner(InnerLoop.Kind.LINEAR, true, eps));
        int n = xs[0].dim(0);
        Tensor packed = Layout.concat(List.of(Layout.reshape(r.out(), n, -1), Layout.reshape(r.state().weights().get(0), n, -1),
                Layout.reshape(r.state().weights().get(1), n, -1)), 1);
        List<Integer> which = new ArrayList<>();
        for (int i = 0; i < xs.length; i++) if (xs[i].requiresGrad()) which.add(i);
        Tensor[] wrt = which.stream().map(i -> xs[i]).toArray(Tensor[]::new);
        Tensor[] gs = Autograd.grad(new Tensor[] {packed}, wrt, new Tensor[] {g}, true);
        Tensor[] out = new Tensor[xs.length];
        for (int i = 0; i < which.size(); i++) out[which.get(i)] = gs[i];
        return out;
    }

    private record Dims(int t, int d, int b, float eps) {}

    /** Per-thread work arrays (one set serves every pair a thread handles). */
    private static final class Scratch {
        final float[] w, bias, wt, z, g, kt, a, p, zbar, y, gl, tmp, tmp2, dw, db, dwt, dzbar, dg, dz, dp, de, dq, dk, dv, gt, el, del;
        final double[] dgam, dbet, dxh;

        Scratch(Dims x) {
            int b = x.b(), d = x.d();
            w = new float[d * d]; wt = new float[d * d]; dw = new float[d * d]; dwt = new float[d * d];
            bias = new float[d]; db = new float[d];
            z = new float[b * d]; g = new float[b * d]; zbar = new float[b * d]; y = new float[b * d]; gl = new float[b * d];
            tmp = new float[b * d]; tmp2 = new float[b * d]; dzbar = new float[b * d]; dg = new float[b * d]; dz = new float[b * d];
            dq = new float[b * d]; dk = new float[b * d]; dv = new float[b * d];
            kt = new float[d * b]; gt = new float[d * b];
            a = new float[b * b]; p = new float[b * b]; dp = new float[b * b]; de = new float[b * b];
            el = new float[b]; del = new float[b];
            dgam = new double[d]; dbet = new double[d]; dxh = new double[d];
        }
    }

    private static void forward(Dims x, Tensor[] xs, int pair, float[] packed, float[] states, Scratch w) {
        int t = x.t(), d = x.d(), b = x.b(), m = t / b;
        float[] q = xs[0].f32(), k = xs[1].f32(), v = xs[2].f32(), s = xs[3].f32(), c = xs[4].f32();
        int qo = xs[0].offset(), ko = xs[1].offset(), vo = xs[2].offset(), so = xs[3].offset(), co = xs[4].offset();
        float[] gam = xs[7].f32(), bet = xs[8].f32();
        int go = xs[7].offset() + pair * d, bo = xs[8].offset() + pair * d;
        System.arraycopy(xs[5].f32(), xs[5].offset() + pair * d * d, w.w, 0, d * d);
        System.arraycopy(xs[6].f32(), xs[6].offset() + pair * d, w.bias, 0, d);
        int outBase = pair * (t * d + d * d + d);
        for (int mb = 0; mb < m; mb++) {
            if (states != null) {
                int so2 = (pair * m + mb) * (d * d + d);
                System.arraycopy(w.w, 0, states, so2, d * d);
                System.arraycopy(w.bias, 0, states, so2 + d * d, d);
            }
            int row = pair * t + mb * b;
            int qb = qo + row * d, kb = ko + row * d, vb = vo + row * d, cb = co + row;
            miniBatchForward(x, q, qb, k, kb, v, vb, s, so, c, cb, gam, go, bet, bo, w);
            // out = Q + LN(Zbar)
            for (int i = 0; i < b; i++) {
                int zr = i * d, or = outBase + (mb * b + i) * d;
                if (vectorRows(d)) {
                    outputRowVector(w.zbar, zr, q, qb + i * d, d, gam, go, bet, bo, x.eps(), packed, or);
                    continue;
                }
                double mu = 0, var = 0;
                for (int f = 0; f < d; f++) mu += w.zbar[zr + f];
                mu /= d;
                for (int f = 0; f < d; f++) var += (w.zbar[zr + f] - mu) * (w.zbar[zr + f] - mu);
                float rs = (float) (1 / Math.sqrt(var / d + x.eps()));
                for (int f = 0; f < d; f++) {
                    packed[or + f] = q[qb + i * d + f] + ((float) (w.zbar[zr + f] - mu) * rs) * gam[go + f] + bet[bo + f];
                }
            }
            // W' = W - K^T (e o G), bias' = bias - e^T G
            if (vectorRows(d)) {
                for (int f = 0; f < d; f += L) {
                    FloatVector acc = FloatVector.fromArray(F, w.bias, f);
                    for (int j = 0; j < b; j++) {
                        FloatVector gl = FloatVector.fromArray(F, w.g, j * d + f).mul(w.el[j]);
                        gl.intoArray(w.gl, j * d + f);
                        acc = acc.sub(gl);
                    }
                    acc.intoArray(w.bias, f);
                }
            } else {
                for (int j = 0; j < b; j++) {
                    for (int f = 0; f < d; f++) {
                        w.gl[j * d + f] = w.el[j] * w.g[j * d + f];
                        w.bias[f] -= w.gl[j * d + f];
                    }
                }
            }
            SmallGemm.mm(true, k, kb, d, w.gl, 0, d, w.w, 0, d, d, b, d, -1f, true);
        }
        System.arraycopy(w.w, 0, packed, outBase + t * d, d * d);
        System.arraycopy(w.bias, 0, packed, outBase + t * d + d * d, d);
    }

    /** Z, G, A, P, eta's last row and Zbar of one mini-batch from the start weights in {@code w}. */
    private static void miniBatchForward(Dims x, float[] q, int qb, float[] k, int kb, float[] v, int vb, float[] s, int so, float[] c,
                                         int cb, float[] gam, int go, float[] bet, int bo, Scratch w) {
        int d = x.d(), b = x.b();
        for (int i = 0; i < b; i++) System.arraycopy(w.bias, 0, w.z, i * d, d);
        SmallGemm.mm(false, k, kb, d, w.w, 0, d, w.z, 0, d, b, d, d, 1f, true);
        for (int i = 0; i < b; i++) {
            if (vectorRows(d)) {
                lossGradientVector(w.z, w.y, i * d, v, vb + i * d, k, kb + i * d, d, gam, go, bet, bo, x.eps(), w.g);
                continue;
            }
            for (int f = 0; f < d; f++) w.y[i * d + f] = v[vb + i * d + f] - k[kb + i * d + f];
            lossGradient(w.z, w.y, i * d, d, gam, go, bet, bo, x.eps(), w.g);
        }
        transpose(k, kb, b, d, w.kt);
        SmallGemm.mm(false, q, qb, d, w.kt, 0, b, w.a, 0, b, b, d, b, 1f, false);
        float sLast = s[so + b - 1];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < b; j++) w.p[i * b + j] = j <= i ? s[so + i] * c[cb + j] * (w.a[i * b + j] + 1) : 0f;
            w.el[i] = sLast * c[cb + i];
        }
        for (int i = 0; i < b; i++) System.arraycopy(w.bias, 0, w.zbar, i * d, d);
        SmallGemm.mm(false, q, qb, d, w.w, 0, d, w.zbar, 0, d, b, d, d, 1f, true);
        SmallGemm.mm(false, w.p, 0, b, w.g, 0, d, w.zbar, 0, d, b, b, d, -1f, true);
    }

    /** dl/dz of 1/2 ||LN(z) - y||^2 for one row: (d delta - sum delta - xh sum(delta xh)) / (d sigma). */
    private static void lossGradient(float[] z, float[] y, int r, int d, float[] gam, int go, float[] bet, int bo, float eps, float[] g) {
        double mu = 0, var = 0;
        for (int f = 0; f < d; f++) mu += z[r + f];
        mu /= d;
        for (int f = 0; f < d; f++) var += (z[r + f] - mu) * (z[r + f] - mu);
        double sigma = Math.sqrt(var / d + eps), s1 = 0, s2 = 0;
        for (int f = 0; f < d; f++) {
            double xh = (z[r + f] - mu) / sigma;
            double delta = (gam[go + f] * xh + bet[bo + f] - y[r + f]) * gam[go + f];
            s1 += delta;
            s2 += delta * xh;
        }
        for (int f = 0; f < d; f++) {
            double xh = (z[r + f] - mu) / sigma;
            double delta = (gam[go + f] * xh + bet[bo + f] - y[r + f]) * gam[go + f];
            g[r + f] = (float) ((d * delta - s1 - xh * s2) / (d * sigma));
        }
    }

    /** {@link #lossGradient} with y = v - k formed on the way, one vector of features at a time. */
    private static void lossGradientVector(float[] z, float[] y, int r, float[] v, int vr, float[] k, int kr, int d, float[] gam, int go,
                                           float[] bet, int bo, float eps, float[] g) {
        FloatVector sum = FloatVector.zero(F);
        for (int f = 0; f < d; f += L) sum = sum.add(FloatVector.fromArray(F, z, r + f));
        float mu = VectorMath.sumLanes(sum) / d;
        FloatVector sq = FloatVector.zero(F);
        for (int f = 0; f < d; f += L) {
            FloatVector c = FloatVector.fromArray(F, z, r + f).sub(mu);
            sq = c.fma(c, sq);
        }
        float rs = (float) (1 / Math.sqrt(VectorMath.sumLanes(sq) / d + eps));
        FloatVector s1 = FloatVector.zero(F), s2 = FloatVector.zero(F);
        for (int f = 0; f < d; f += L) {
            FloatVector xh = FloatVector.fromArray(F, z, r + f).sub(mu).mul(rs);
            FloatVector yv = FloatVector.fromArray(F, v, vr + f).sub(FloatVector.fromArray(F, k, kr + f));
            yv.intoArray(y, r + f);
            FloatVector gm = FloatVector.fromArray(F, gam, go + f);
            FloatVector delta = gm.fma(xh, FloatVector.fromArray(F, bet, bo + f)).sub(yv).mul(gm);
            delta.intoArray(g, r + f);
            s1 = s1.add(delta);
            s2 = delta.fma(xh, s2);
        }
        float a = VectorMath.sumLanes(s1), c2 = VectorMath.sumLanes(s2), scale = rs / d;
        for (int f = 0; f < d; f += L) {
            FloatVector xh = FloatVector.fromArray(F, z, r + f).sub(mu).mul(rs);
            FloatVector delta = FloatVector.fromArray(F, g, r + f);
            delta.mul(d).sub(a).sub(xh.mul(c2)).mul(scale).intoArray(g, r + f);
        }
    }

    /** out = q + LN(zbar) for one row, one vector of features at a time. */
    private static void outputRowVector(float[] zbar, int r, float[] q, int qr, int d, float[] gam, int go, float[] bet, int bo, float eps,
                                        float[] out, int or) {
        FloatVector sum = FloatVector.zero(F);
        for (int f = 0; f < d; f += L) sum = sum.add(FloatVector.fromArray(F, zbar, r + f));
        float mu = VectorMath.sumLanes(sum) / d;
        FloatVector sq = FloatVector.zero(F);
        for (int f = 0; f < d; f += L) {
            FloatVector c = FloatVector.fromArray(F, zbar, r + f).sub(mu);
            sq = c.fma(c, sq);
        }
        float rs = (float) (1 / Math.sqrt(VectorMath.sumLanes(sq) / d + eps));
        for (int f = 0; f < d; f += L) {
            FloatVector xh = FloatVector.fromArray(F, zbar, r + f).sub(mu).mul(rs);
            xh.fma(FloatVector.fromArray(F, gam, go + f), FloatVector.fromArray(F, bet, bo + f)).add(FloatVector.fromArray(F, q, qr + f))
                    .intoArray(out, or + f);
        }
    }

    private static void transpose(float[] a, int ao, int rows, int cols, float[] out) {
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) out[j * rows + i] = a[ao + i * cols + j];
    }

    private static Tensor[] backward(Dims x, Tensor[] xs, float[] states, Tensor gPacked, int n) {
        if (states == null) throw new IllegalStateException("fused TTT kernel: backward without saved states");
        int t = x.t(), d = x.d(), b = x.b();
        Tensor dq = Tensor.zeros(DType.FP32, n, t, d), dk = Tensor.zeros(DType.FP32, n, t, d), dv = Tensor.zeros(DType.FP32, n, t, d);
        Tensor dc = Tensor.zeros(DType.FP32, n, t), dw0 = Tensor.zeros(DType.FP32, n, d, d), db0 = Tensor.zeros(DType.FP32, n, 1, d);
        Tensor dgam = Tensor.zeros(DType.FP32, n, 1, d), dbet = Tensor.zeros(DType.FP32, n, 1, d);
        float[] dsPer = new float[n * b];
        Tensor gp = gPacked.dtype() == DType.FP32 ? gPacked : gPacked.to(DType.FP32);
        Parallel.forRange(n, 1, (from, to) -> {
            Scratch w = new Scratch(x);
            for (int i = from; i < to; i++) {
                backwardOne(x, xs, states, gp, i, w, dq.f32(), dk.f32(), dv.f32(), dc.f32(), dsPer, dw0.f32(), db0.f32(), dgam.f32(), dbet.f32());
            }
        });
        float[] ds = new float[b];
        for (int i = 0; i < n; i++) for (int j = 0; j < b; j++) ds[j] += dsPer[i * b + j]; // fixed order: deterministic
        return new Tensor[] {dq, dk, dv, Tensor.of(ds, b), dc, dw0, db0, dgam, dbet};
    }

    private static void backwardOne(Dims x, Tensor[] xs, float[] states, Tensor gp, int pair, Scratch w, float[] dq, float[] dk, float[] dv,
                                    float[] dc, float[] ds, float[] dw0, float[] db0, float[] dgamOut, float[] dbetOut) {
        int t = x.t(), d = x.d(), b = x.b(), m = t / b;
        float[] q = xs[0].f32(), k = xs[1].f32(), v = xs[2].f32(), s = xs[3].f32(), c = xs[4].f32();
        int qo = xs[0].offset(), ko = xs[1].offset(), vo = xs[2].offset(), so = xs[3].offset(), co = xs[4].offset();
        float[] gam = xs[7].f32(), bet = xs[8].f32();
        int go = xs[7].offset() + pair * d, bo = xs[8].offset() + pair * d;
        float[] gout = gp.f32();
        int gBase = gp.offset() + pair * (t * d + d * d + d);
        // Gradients of the final state seed the carried dW, dbias.
        System.arraycopy(gout, gBase + t * d, w.dw, 0, d * d);
        System.arraycopy(gout, gBase + t * d + d * d, w.db, 0, d);
        java.util.Arrays.fill(w.dgam, 0);
        java.util.Arrays.fill(w.dbet, 0);
        float sLast = s[so + b - 1];
        for (int mb = m - 1; mb >= 0; mb--) {
            int so2 = (pair * m + mb) * (d * d + d);
            System.arraycopy(states, so2, w.w, 0, d * d);
            System.arraycopy(states, so2 + d * d, w.bias, 0, d);
            int row = pair * t + mb * b;
            int qb = qo + row * d, kb = ko + row * d, vb = vo + row * d, cb = co + row, gb = gBase + mb * b * d;
            miniBatchForward(x, q, qb, k, kb, v, vb, s, so, c, cb, gam, go, bet, bo, w);
            // out = Q + LN(Zbar): dQ = dOut; LayerNorm backward into dZbar; dgamma, dbeta.
            for (int i = 0; i < b; i++) {
                int r = i * d;
                double mu = 0, var = 0;
                for (int f = 0; f < d; f++) mu += w.zbar[r + f];
                mu /= d;
                for (int f = 0; f < d; f++) var += (w.zbar[r + f] - mu) * (w.zbar[r + f] - mu);
                double rs = 1 / Math.sqrt(var / d + x.eps()), mdx = 0, mdxx = 0;
                for (int f = 0; f < d; f++) {
                    double go2 = gout[gb + r + f], xh = (w.zbar[r + f] - mu) * rs;
                    w.dq[r + f] = (float) go2;
                    w.dgam[f] += go2 * xh;
                    w.dbet[f] += go2;
                    double dx = go2 * gam[go + f];
                    mdx += dx;
                    mdxx += dx * xh;
                }
                mdx /= d;
                mdxx /= d;
                for (int f = 0; f < d; f++) {
                    double xh = (w.zbar[r + f] - mu) * rs;
                    w.dzbar[r + f] = (float) (rs * (gout[gb + r + f] * gam[go + f] - mdx - xh * mdxx));
                }
            }
            // The state update W' = W - K^T (e o G), bias' = bias - e^T G, with dW', dbias' carried in w.dw, w.db.
            SmallGemm.mm(false, k, kb, d, w.dw, 0, d, w.tmp, 0, d, b, d, d, 1f, false);        // K dW'
            transpose(w.dw, 0, d, d, w.dwt);
            SmallGemm.mm(false, w.g, 0, d, w.dwt, 0, d, w.tmp2, 0, d, b, d, d, 1f, false);     // G dW'^T
            for (int j = 0; j < b; j++) {
                double de = 0;
                for (int f = 0; f < d; f++) {
                    int e = j * d + f;
                    de -= (w.tmp[e] + w.db[f]) * w.g[e];
                    w.dg[e] = -w.el[j] * (w.tmp[e] + w.db[f]);
                    w.dk[e] = -w.el[j] * w.tmp2[e];
                }
                w.del[j] = (float) de;
            }
            // Zbar = Q W + bias - P G.
            transpose(w.w, 0, d, d, w.wt);
            SmallGemm.mm(false, w.dzbar, 0, d, w.wt, 0, d, w.dq, 0, d, b, d, d, 1f, true);      // dQ += dZbar W^T
            SmallGemm.mm(true, q, qb, d, w.dzbar, 0, d, w.dw, 0, d, d, b, d, 1f, true);         // dW += Q^T dZbar
            for (int i = 0; i < b; i++) for (int f = 0; f < d; f++) w.db[f] += w.dzbar[i * d + f];
            transpose(w.g, 0, b, d, w.gt);
            SmallGemm.mm(false, w.dzbar, 0, d, w.gt, 0, b, w.dp, 0, b, b, d, b, -1f, false);    // dP = -dZbar G^T
            for (int i = 0; i < b; i++) for (int j = i + 1; j < b; j++) w.dp[i * b + j] = 0f;
            SmallGemm.mm(true, w.p, 0, b, w.dzbar, 0, d, w.dg, 0, d, b, b, d, -1f, true);       // dG -= P^T dZbar
            // P = eta o (A + 1): dEta = dP o (A + 1), dA = dP o eta; A = Q K^T.
            for (int i = 0; i < b; i++) {
                for (int j = 0; j <= i; j++) {
                    float eta = s[so + i] * c[cb + j], dp = w.dp[i * b + j];
                    w.de[i * b + j] = dp * (w.a[i * b + j] + 1);
                    w.dp[i * b + j] = dp * eta; // now dA
                }
            }
            SmallGemm.mm(false, w.dp, 0, b, k, kb, d, w.dq, 0, d, b, b, d, 1f, true);           // dQ += dA K
            SmallGemm.mm(true, w.dp, 0, b, q, qb, d, w.dk, 0, d, b, b, d, 1f, true);            // dK += dA^T Q
            // eta_ij = s_i c_j (j <= i), e_j = s_last c_j.
            for (int j = 0; j < b; j++) {
                double acc = w.del[j] * sLast, dsj = 0;
                for (int i = j; i < b; i++) acc += w.de[i * b + j] * s[so + i];
                for (int jj = 0; jj <= j; jj++) dsj += w.de[j * b + jj] * c[cb + jj];
                dc[row + j] += (float) acc;
                ds[pair * b + j] += (float) dsj;
            }
            double dsl = 0;
            for (int j = 0; j < b; j++) dsl += w.del[j] * c[cb + j];
            ds[pair * b + b - 1] += (float) dsl;
            // G = dl/dZ through the inner LayerNorm, target Y = V - K.
            for (int i = 0; i < b; i++) lossGradientBackward(w, i * d, d, gam, go, bet, bo, x.eps(), dv, dk, vb - vo + i * d);
            // Z = K W + bias.
            SmallGemm.mm(false, w.dz, 0, d, w.wt, 0, d, w.dk, 0, d, b, d, d, 1f, true);         // dK += dZ W^T
            SmallGemm.mm(true, k, kb, d, w.dz, 0, d, w.dw, 0, d, d, b, d, 1f, true);            // dW += K^T dZ
            for (int i = 0; i < b; i++) for (int f = 0; f < d; f++) w.db[f] += w.dz[i * d + f];
            int out = row * d;
            for (int e = 0; e < b * d; e++) {
                dq[out + e] = w.dq[e];
                dk[out + e] += w.dk[e];
            }
        }
        System.arraycopy(w.dw, 0, dw0, pair * d * d, d * d);
        System.arraycopy(w.db, 0, db0, pair * d, d);
        for (int f = 0; f < d; f++) {
            dgamOut[pair * d + f] = (float) w.dgam[f];
            dbetOut[pair * d + f] = (float) w.dbet[f];
        }
    }

    /**
     * Backward of the closed-form inner gradient g(z, y) for one row, given dg in {@code w.dg}:
     * writes dz into {@code w.dz}, adds dy to dV and -dy to dK (y = v - k), and the gamma/beta
     * terms to the running sums.
     */
    private static void lossGradientBackward(Scratch w, int r, int d, float[] gam, int go, float[] bet, int bo, float eps,
                                             float[] dv, float[] dk, int tokenRow) {
        double mu = 0, var = 0;
        for (int f = 0; f < d; f++) mu += w.z[r + f];
        mu /= d;
        for (int f = 0; f < d; f++) var += (w.z[r + f] - mu) * (w.z[r + f] - mu);
        double sigma = Math.sqrt(var / d + eps), s2 = 0, su = 0, sux = 0, sdgg = 0;
        for (int f = 0; f < d; f++) {
            double xh = (w.z[r + f] - mu) / sigma;
            s2 += (gam[go + f] * xh + bet[bo + f] - w.y[r + f]) * gam[go + f] * xh;
            double u = w.dg[r + f] / (d * sigma);
            su += u;
            sux += u * xh;
            sdgg += w.dg[r + f] * w.g[r + f];
        }
        // ddelta = d u - sum u - xh sum(u xh); dxh = -u s2 - delta sum(u xh) + ddelta gamma^2 (s2 = sum delta xh
        // depends on both); dsigma = -sum(dg g) / sigma.
        double dsigma = -sdgg / sigma, sdxc = 0;
        double[] dxh = w.dxh;
        for (int f = 0; f < d; f++) {
            double xh = (w.z[r + f] - mu) / sigma, u = w.dg[r + f] / (d * sigma), gm = gam[go + f];
            double dd = d * u - su - xh * sux;
            w.dgam[f] += dd * (2 * gm * xh + bet[bo + f] - w.y[r + f]);
            w.dbet[f] += dd * gm;
            double dy = -dd * gm;
            dv[tokenRow + f] += (float) dy;
            w.dk[r + f] -= (float) dy;
            double delta = (gm * xh + bet[bo + f] - w.y[r + f]) * gm;
            dxh[f] = -u * s2 - delta * sux + dd * gm * gm;
            sdxc += dxh[f] * (w.z[r + f] - mu);
        }
        // xh = (z - mu) / sigma, sigma = sqrt(mean((z - mu)^2) + eps).
        double dsTotal = dsigma - sdxc / (sigma * sigma), mean = 0;
        for (int f = 0; f < d; f++) {
            double dcf = dxh[f] / sigma + dsTotal * (w.z[r + f] - mu) / (d * sigma);
            dxh[f] = dcf;
            mean += dcf;
        }
        mean /= d;
        for (int f = 0; f < d; f++) w.dz[r + f] = (float) (dxh[f] - mean);
    }
}
