package org.ttt4j.lm.layers.ttt;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.kernel.SmallGemm;
import org.ttt4j.core.kernel.Transpose;
import org.ttt4j.core.kernel.VectorMath;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;

/**
 * The dual form of TTT-Linear and TTT-MLP (with the inner norm) as one fused op, forward and
 * backward: the hot loop of these models. Per (sequence, head) pair and mini-batch of b tokens,
 * with K, Q, V [b, d] and the layers' start weights W_l, b_l (l = 0 for TTT-Linear; 0, 1 with a
 * tanh-GELU between for TTT-MLP):
 * <pre>
 *   X_0 = K;  Z_l = X_l W_l + b_l;  X_{l+1} = gelu(Z_l)
 *   G_last = dl/dZ_last (closed form through the inner LayerNorm, target V - K)
 *   G_{l-1} = (G_l W_l^T) o gelu'(Z_{l-1})
 *   Xbar_0 = Q;  P_l = eta o (tril(Xbar_l X_l^T) + 1);  Zbar_l = Xbar_l W_l + b_l - P_l G_l;  Xbar_{l+1} = gelu(Zbar_l)
 *   out = Q + LN(Zbar_last)
 *   W_l -= X_l^T (e o G_l);  b_l -= e^T G_l        (e: eta's last row, eta_ij = s_i c_j for j &lt;= i)
 * </pre>
 * Each pair's weights stay in L1/L2 (TTT-Linear d = 64: 16 KiB) and every product runs through
 * {@link SmallGemm}. The backward pass walks the mini-batches in reverse from the saved start
 * weights, recomputing the rest, with every derivative written out (including those of the
 * closed-form inner gradient and of gelu'). Under {@code createGraph} (second order) the backward
 * re-runs {@link InnerLoop#dual} op by op instead, so higher derivatives stay exact.
 *
 * <p>Tests hold it against {@link InnerLoop#dual}, forward and backward, with SIMD on and off.
 */
public final class TttFusedKernel {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();
    private static final float GELU_C = 0.7978845608028654f, GELU_A = 0.044715f;

    private TttFusedKernel() {}

    public static boolean supports(InnerLoop.Inner in) {
        return in.normed();
    }

    /** Same contract as {@link InnerLoop#dual}; fp32 only (other dtypes take the op-by-op route). */
    public static InnerLoop.Result dual(Tensor q, Tensor k, Tensor v, Tensor s, Tensor c, InnerLoop.State start, Tensor gamma, Tensor beta,
                                        InnerLoop.Inner in) {
        if (!supports(in)) throw new IllegalArgumentException("fused TTT kernel: needs the inner norm");
        int n = q.dim(0), t = q.dim(1), d = q.dim(2), b = s.size(), layers = in.kind().layers;
        if (t % b != 0) throw new IllegalArgumentException("dual form: " + t + " tokens are not whole mini-batches of " + b);
        List<Tensor> ws = start.weights();
        if (ws.size() != 2 * layers) throw new IllegalArgumentException("fused TTT kernel: " + ws.size() + " weights for " + layers + " layers");
        int[] width = new int[layers + 1];
        width[0] = d;
        for (int l = 0; l < layers; l++) width[l + 1] = ws.get(2 * l).dim(-1);
        if (width[layers] != d) throw new IllegalArgumentException("fused TTT kernel: the last layer has " + width[layers] + " outputs for width " + d);
        Tensor[] xs = new Tensor[7 + 2 * layers];
        xs[0] = q;
        xs[1] = k;
        xs[2] = v;
        xs[3] = s;
        xs[4] = c;
        xs[5] = Reduce.broadcastTo(gamma, new int[] {n, 1, d});
        xs[6] = Reduce.broadcastTo(beta, new int[] {n, 1, d});
        for (int i = 0; i < 2 * layers; i++) xs[7 + i] = ws.get(i);
        for (Tensor x : xs) if (x.dtype() != DType.FP32) return InnerLoop.dual(q, k, v, s, c, start, gamma, beta, in);
        checkShape("k", k, n, t, d);
        checkShape("v", v, n, t, d);
        checkShape("s", s, b);
        checkShape("c", c, n, t);
        for (int l = 0; l < layers; l++) {
            checkShape("W" + (l + 1), xs[7 + 2 * l], n, width[l], width[l + 1]);
            checkShape("b" + (l + 1), xs[8 + 2 * l], n, 1, width[l + 1]);
        }
        Dims dims = new Dims(t, d, b, layers, width, in.eps());
        if (!(GradMode.isEnabled() && Arrays.stream(xs).anyMatch(Tensor::requiresGrad))) return direct(xs, n, dims);
        Tensor packed = op(xs, n, dims);
        List<Tensor> weights = new ArrayList<>();
        int o = t * d;
        for (int l = 0; l < layers; l++) {
            int wi = width[l] * width[l + 1], wo = width[l + 1];
            weights.add(Layout.reshape(Layout.slice(packed, 1, o, o + wi), n, width[l], wo));
            weights.add(Layout.reshape(Layout.slice(packed, 1, o + wi, o + wi + wo), n, 1, wo));
            o += wi + wo;
        }
        return new InnerLoop.Result(Layout.reshape(Layout.slice(packed, 1, 0, t * d), n, t, d), InnerLoop.State.fresh(weights));
    }

    /**
     * Without a graph to record (inference, prefill): the outputs and final weights are written
     * straight into their own tensors, skipping the packed tensor and the copies that slice it.
     */
    private static InnerLoop.Result direct(Tensor[] xs, int n, Dims x) {
        int t = x.t(), d = x.d(), state = x.stateSize();
        Tensor out = Tensor.zeros(DType.FP32, n, t, d);
        float[] finals = new float[n * state];
        Parallel.forRange(n, 1, (from, to) -> {
            Pair w = new Pair(x);
            for (int i = from; i < to; i++) forward(x, xs, i, out.f32(), i * t * d, finals, i * state, null, w);
        });
        List<Tensor> weights = new ArrayList<>();
        int o = 0;
        for (int l = 0; l < x.layers(); l++) {
            int in = x.width()[l], wo = x.width()[l + 1];
            Tensor wl = Tensor.zeros(DType.FP32, n, in, wo), bl = Tensor.zeros(DType.FP32, n, 1, wo);
            for (int i = 0; i < n; i++) {
                System.arraycopy(finals, i * state + o, wl.f32(), i * in * wo, in * wo);
                System.arraycopy(finals, i * state + o + in * wo, bl.f32(), i * wo, wo);
            }
            weights.add(wl);
            weights.add(bl);
            o += in * wo + wo;
        }
        return new InnerLoop.Result(out, InnerLoop.State.fresh(weights));
    }

    /**
     * Multiply-adds x 2 that the dual form needs over n pairs of t tokens, for layer widths
     * d -> widths[1] -> ... -> d: per mini-batch and layer X W, Xbar W and the update (b in out
     * each), Xbar X^T and P G (b^2 in and b^2 out), and for layers after the first the gradient
     * G_l W_l^T (b in out). Elementwise work, and this kernel's own extra (keeping W^T), are not
     * counted.
     */
    public static double forwardFlops(int n, int t, int b, int... widths) {
        double perMiniBatch = 0;
        for (int l = 0; l + 1 < widths.length; l++) {
            perMiniBatch += (l > 0 ? 4.0 : 3.0) * b * widths[l] * widths[l + 1] + (double) b * b * (widths[l] + widths[l + 1]);
        }
        return 2.0 * n * (t / b) * perMiniBatch;
    }

    private static void checkShape(String name, Tensor x, int... shape) {
        if (!Arrays.equals(x.shape(), shape)) {
            throw new IllegalArgumentException("fused TTT kernel: " + name + " has shape " + Arrays.toString(x.shape()) + ", expected "
                    + Arrays.toString(shape));
        }
    }

    /** Sizes of one problem; {@code width[l]} is layer l's input width, width[layers] = d. */
    private record Dims(int t, int d, int b, int layers, int[] width, double eps) {
        int weights(int l) {
            return width[l] * width[l + 1] + width[l + 1];
        }

        int stateSize() {
            int n = 0;
            for (int l = 0; l < layers; l++) n += weights(l);
            return n;
        }

        int packedSize() {
            return t * d + stateSize();
        }
    }

    /** The packed result [N, T·d + sum_l (in_l out_l + out_l)]: outputs, then each layer's final W and bias. */
    private static Tensor op(Tensor[] xs, int n, Dims x) {
        boolean save = GradMode.isEnabled() && Arrays.stream(xs).anyMatch(Tensor::requiresGrad);
        int m = x.t() / x.b();
        Tensor packed = Tensor.zeros(DType.FP32, n, x.packedSize());
        float[] states = save ? new float[n * m * x.stateSize()] : null;
        Parallel.forRange(n, 1, (from, to) -> {
            Pair w = new Pair(x);
            for (int i = from; i < to; i++) {
                int at = i * x.packedSize();
                forward(x, xs, i, packed.f32(), at, packed.f32(), at + x.t() * x.d(), states, w);
            }
        });
        return GradFn.record(packed, "ttt_dual", g -> GradMode.isEnabled() ? composite(xs, g, x) : backward(x, xs, states, g, n), xs);
    }

    /** Second and higher order: the same computation op by op, differentiated with a graph. */
    private static Tensor[] composite(Tensor[] xs, Tensor g, Dims x) {
        List<Tensor> w = Arrays.asList(xs).subList(7, xs.length);
        var kind = x.layers() == 1 ? InnerLoop.Kind.LINEAR : InnerLoop.Kind.MLP;
        var r = InnerLoop.dual(xs[0], xs[1], xs[2], xs[3], xs[4], InnerLoop.State.fresh(w), xs[5], xs[6], new InnerLoop.Inner(kind, true, x.eps()));
        int n = xs[0].dim(0);
        List<Tensor> parts = new ArrayList<>(List.of(Layout.reshape(r.out(), n, -1)));
        for (Tensor t : r.state().weights()) parts.add(Layout.reshape(t, n, -1));
        Tensor packed = Layout.concat(parts, 1);
        List<Integer> which = new ArrayList<>();
        for (int i = 0; i < xs.length; i++) if (xs[i].requiresGrad()) which.add(i);
        Tensor[] gs = Autograd.grad(new Tensor[] {packed}, which.stream().map(i -> xs[i]).toArray(Tensor[]::new), new Tensor[] {g}, true);
        Tensor[] out = new Tensor[xs.length];
        for (int i = 0; i < which.size(); i++) out[which.get(i)] = gs[i];
        return out;
    }

    /** Work arrays of one thread; one set serves every pair the thread handles. Index l is the inner layer. */
    private static final class Pair {
        final float[][] w, bias, wt, x, z, g, xbar, zbar, dz, a, p, gl, act, actd, dx, dxbar, dzbar, dg, tmp, dw, db, dwt;
        final float[] y, xt, gt, el, del, de, dp, dq, dk, lanes = lanes();
        final double[] dgam, dbet, rowTmp;

        Pair(Dims d) {
            int n = d.layers(), b = d.b(), maxW = 0;
            for (int v : d.width()) maxW = Math.max(maxW, v);
            w = new float[n][]; bias = new float[n][]; wt = new float[n][]; dw = new float[n][]; db = new float[n][]; dwt = new float[n][];
            x = new float[n][]; z = new float[n][]; g = new float[n][]; xbar = new float[n][]; zbar = new float[n][]; dz = new float[n][];
            a = new float[n][]; p = new float[n][]; gl = new float[n][]; act = new float[n][]; actd = new float[n][];
            dx = new float[n][]; dxbar = new float[n][]; dzbar = new float[n][]; dg = new float[n][]; tmp = new float[n][];
            for (int l = 0; l < n; l++) {
                int in = d.width()[l], out = d.width()[l + 1];
                w[l] = new float[in * out]; wt[l] = new float[in * out]; dw[l] = new float[in * out]; dwt[l] = new float[in * out];
                bias[l] = new float[out]; db[l] = new float[out];
                x[l] = new float[b * in]; xbar[l] = new float[b * in]; dx[l] = new float[b * in]; dxbar[l] = new float[b * in];
                z[l] = new float[b * out]; g[l] = new float[b * out]; zbar[l] = new float[b * out]; dz[l] = new float[b * out];
                gl[l] = new float[b * out]; act[l] = new float[b * out]; actd[l] = new float[b * out]; dzbar[l] = new float[b * out];
                dg[l] = new float[b * out]; tmp[l] = new float[b * Math.max(in, out)];
                a[l] = new float[b * b]; p[l] = new float[b * b];
            }
            y = new float[b * d.d()]; xt = new float[maxW * b]; gt = new float[maxW * b];
            el = new float[b]; del = new float[b]; de = new float[b * b]; dp = new float[b * b];
            dq = new float[b * d.d()]; dk = new float[b * d.d()];
            dgam = new double[d.d()]; dbet = new double[d.d()]; rowTmp = new double[maxW];
        }
    }

    private static boolean vectorRows(int width) {
        return Simd.enabled() && width % L == 0;
    }

    // ---- forward ----------------------------------------------------------------------------

    /** One pair: its outputs go to {@code out} from {@code outAt}, its final weights (packed) to {@code fin} from {@code finAt}. */
    private static void forward(Dims x, Tensor[] xs, int pair, float[] out, int outAt, float[] fin, int finAt, float[] states, Pair w) {
        int t = x.t(), d = x.d(), b = x.b(), m = t / b;
        for (int l = 0; l < x.layers(); l++) {
            int in = x.width()[l], wo = x.width()[l + 1];
            System.arraycopy(xs[7 + 2 * l].f32(), xs[7 + 2 * l].offset() + pair * in * wo, w.w[l], 0, in * wo);
            System.arraycopy(xs[8 + 2 * l].f32(), xs[8 + 2 * l].offset() + pair * wo, w.bias[l], 0, wo);
            if (l > 0) transpose(w.w[l], in, wo, w.wt[l]);
        }
        for (int mb = 0; mb < m; mb++) {
            if (states != null) saveState(x, w, states, (pair * m + mb) * x.stateSize());
            int row = pair * t + mb * b;
            miniBatch(x, xs, pair, row, w);
            float[] q = xs[0].f32(), gam = xs[5].f32(), bet = xs[6].f32();
            int qb = xs[0].offset() + row * d, go = xs[5].offset() + pair * d, bo = xs[6].offset() + pair * d;
            int last = x.layers() - 1;
            int i = 0;
            if (vectorRows(d)) {
                for (; i + 4 <= b; i += 4) {
                    outputRows4(w.zbar[last], i * d, q, qb + i * d, d, gam, go, bet, bo, (float) x.eps(), out, outAt + (mb * b + i) * d, w.lanes);
                }
            }
            for (; i < b; i++) {
                outputRow(w.zbar[last], i * d, q, qb + i * d, d, gam, go, bet, bo, (float) x.eps(), out, outAt + (mb * b + i) * d, w.lanes);
            }
            update(x, w, xs[1].f32(), xs[1].offset() + row * d);
        }
        saveState(x, w, fin, finAt);
    }

    private static void saveState(Dims x, Pair w, float[] states, int at) {
        for (int l = 0; l < x.layers(); l++) {
            int in = x.width()[l], out = x.width()[l + 1];
            System.arraycopy(w.w[l], 0, states, at, in * out);
            System.arraycopy(w.bias[l], 0, states, at + in * out, out);
            at += in * out + out;
        }
    }

    private static void loadState(Dims x, Pair w, float[] states, int at) {
        for (int l = 0; l < x.layers(); l++) {
            int in = x.width()[l], out = x.width()[l + 1];
            System.arraycopy(states, at, w.w[l], 0, in * out);
            System.arraycopy(states, at + in * out, w.bias[l], 0, out);
            if (l > 0) transpose(w.w[l], in, out, w.wt[l]);
            at += in * out + out;
        }
    }

    /** Everything of one mini-batch up to Zbar_last, from the start weights in {@code w}; rows start at token {@code row}. */
    private static void miniBatch(Dims x, Tensor[] xs, int pair, int row, Pair w) {
        int d = x.d(), b = x.b(), layers = x.layers();
        float[] q = xs[0].f32(), k = xs[1].f32(), v = xs[2].f32(), s = xs[3].f32(), c = xs[4].f32(), gam = xs[5].f32(), bet = xs[6].f32();
        int qb = xs[0].offset() + row * d, kb = xs[1].offset() + row * d, vb = xs[2].offset() + row * d;
        int so = xs[3].offset(), cb = xs[4].offset() + row, go = xs[5].offset() + pair * d, bo = xs[6].offset() + pair * d;
        // The inner model on the keys: Z_l = X_l W_l + b_l, X_{l+1} = gelu(Z_l). X_0 (the keys) and Xbar_0
        // (the queries) are read where they lie: the products take offsets, so no copies.
        for (int l = 0; l < layers; l++) {
            affine(l == 0 ? k : w.x[l], l == 0 ? kb : 0, w.w[l], w.bias[l], w.z[l], b, x.width()[l], x.width()[l + 1]);
            if (l + 1 < layers) gelu(w.z[l], w.x[l + 1], w.actd[l], b * x.width()[l + 1]);
        }
        // Gradients at the start weights: through the inner LayerNorm, then back layer by layer.
        int last = layers - 1;
        int i = 0;
        if (vectorRows(d)) { // the target V - K formed on the fly, four rows at a time
            for (; i + 4 <= b; i += 4) lossGradientRows4(w.z[last], v, vb, k, kb, i * d, d, gam, go, bet, bo, (float) x.eps(), w.g[last], w.lanes);
        }
        if (i < b) difference(v, vb, k, kb, w.y, i * d, b * d);
        for (; i < b; i++) lossGradient(w.z[last], w.y, i * d, d, gam, go, bet, bo, (float) x.eps(), w.g[last], w.lanes);
        for (int l = last; l > 0; l--) { // W_l^T (l > 0) is kept up to date by update() and loadState()
            int in = x.width()[l], out = x.width()[l + 1];
            SmallGemm.mm(false, w.g[l], 0, out, w.wt[l], 0, in, w.g[l - 1], 0, in, b, out, in, 1f, false);
            for (int e = 0; e < b * in; e++) w.g[l - 1][e] *= w.actd[l - 1][e];
        }
        // Learning rates of this mini-batch.
        float sLast = s[so + b - 1];
        for (int j = 0; j < b; j++) w.el[j] = sLast * c[cb + j];
        // The dual form on the queries.
        for (int l = 0; l < layers; l++) {
            int in = x.width()[l], out = x.width()[l + 1];
            float[] xl = l == 0 ? k : w.x[l], xbar = l == 0 ? q : w.xbar[l];
            int xo = l == 0 ? kb : 0, xbaro = l == 0 ? qb : 0;
            Transpose.transpose(xl, xo, in, w.xt, 0, b, b, in);
            SmallGemm.mm(false, xbar, xbaro, in, w.xt, 0, b, w.a[l], 0, b, b, in, b, 1f, false);
            rates(w.a[l], s, so, c, cb, b, w.p[l]);
            affine(xbar, xbaro, w.w[l], w.bias[l], w.zbar[l], b, in, out);
            SmallGemm.mm(false, w.p[l], 0, b, w.g[l], 0, out, w.zbar[l], 0, out, b, b, out, -1f, true);
            if (l + 1 < layers) gelu(w.zbar[l], w.xbar[l + 1], w.act[l], b * out);
        }
    }

    /** y[e] = v[vb + e] - k[kb + e] for from <= e < to. */
    private static void difference(float[] v, int vb, float[] k, int kb, float[] y, int from, int to) {
        int e = from;
        if (Simd.enabled()) {
            for (; e + L <= to; e += L) FloatVector.fromArray(F, v, vb + e).sub(FloatVector.fromArray(F, k, kb + e)).intoArray(y, e);
        }
        for (; e < to; e++) y[e] = v[vb + e] - k[kb + e];
    }

    /** P = eta o (A + 1) with eta_ij = s_i c_j on and below the diagonal, 0 above; rows of one vector when b = L. */
    private static void rates(float[] a, float[] s, int so, float[] c, int cb, int b, float[] p) {
        if (Simd.enabled() && b == L) {
            // Each row is computed whole, then its upper part zeroed by plain stores (at most 15).
            FloatVector cv = FloatVector.fromArray(F, c, cb);
            for (int i = 0; i < b; i++) {
                cv.mul(s[so + i]).mul(FloatVector.fromArray(F, a, i * b).add(1f)).intoArray(p, i * b);
                for (int j = i + 1; j < b; j++) p[i * b + j] = 0f;
            }
            return;
        }
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < b; j++) p[i * b + j] = j <= i ? s[so + i] * c[cb + j] * (a[i * b + j] + 1) : 0f;
        }
    }

    /** z = x W + bias (b rows of x from xOff). */
    private static void affine(float[] x, int xOff, float[] wt, float[] bias, float[] z, int b, int in, int out) {
        if (vectorRows(out)) { // each bias vector loaded once and stored b times: no arraycopy call per row
            for (int f = 0; f < out; f += L) {
                FloatVector bv = FloatVector.fromArray(F, bias, f);
                for (int i = 0; i < b; i++) bv.intoArray(z, i * out + f);
            }
        } else {
            for (int i = 0; i < b; i++) System.arraycopy(bias, 0, z, i * out, out);
        }
        SmallGemm.mm(false, x, xOff, in, wt, 0, out, z, 0, out, b, in, out, 1f, true);
    }

    /** W_l -= X_l^T (e o G_l), b_l -= e^T G_l; X_0 is the mini-batch's keys, k from kb. */
    private static void update(Dims x, Pair w, float[] k, int kb) {
        int b = x.b();
        for (int l = 0; l < x.layers(); l++) {
            int in = x.width()[l], out = x.width()[l + 1];
            float[] g = w.g[l], gl = w.gl[l], bias = w.bias[l];
            if (vectorRows(out)) {
                for (int f = 0; f < out; f += L) {
                    FloatVector acc = FloatVector.fromArray(F, bias, f);
                    for (int j = 0; j < b; j++) {
                        FloatVector v = FloatVector.fromArray(F, g, j * out + f).mul(w.el[j]);
                        v.intoArray(gl, j * out + f);
                        acc = acc.sub(v);
                    }
                    acc.intoArray(bias, f);
                }
            } else {
                for (int j = 0; j < b; j++) {
                    float e = w.el[j];
                    for (int f = 0; f < out; f++) {
                        gl[j * out + f] = e * g[j * out + f];
                        bias[f] -= gl[j * out + f];
                    }
                }
            }
            SmallGemm.mm(true, l == 0 ? k : w.x[l], l == 0 ? kb : 0, in, gl, 0, out, w.w[l], 0, out, in, b, out, -1f, true);
            // The next mini-batch's G chain needs W_l^T. Transposing the updated W_l (register tiles) gives the
            // same bits as updating W_l^T by its own product (each sum has the same terms in the same order)
            // and costs a fraction of it: a 64 x 256 transpose against 256 x 16 x 64 multiply-adds.
            if (l > 0) transpose(w.w[l], in, out, w.wt[l]);
        }
    }

    /** y = gelu(z) and dy = gelu'(z) (tanh form) over n elements. */
    static void gelu(float[] z, float[] y, float[] dy, int n) {
        int i = 0;
        if (Simd.enabled()) {
            for (; i + L <= n; i += L) {
                FloatVector xv = FloatVector.fromArray(F, z, i), x2 = xv.mul(xv);
                FloatVector th = VectorMath.tanh(x2.fma(GELU_A, 1f).mul(xv).mul(GELU_C));
                FloatVector half = th.add(1f).mul(0.5f);
                half.mul(xv).intoArray(y, i);
                FloatVector du = x2.fma(3 * GELU_A, 1f).mul(GELU_C);
                th.fma(th.neg(), FloatVector.broadcast(F, 1f)).mul(du).mul(xv).fma(FloatVector.broadcast(F, 0.5f), half).intoArray(dy, i);
            }
        }
        for (; i < n; i++) {
            float xv = z[i], th = (float) Math.tanh(GELU_C * (xv + GELU_A * xv * xv * xv));
            y[i] = 0.5f * xv * (1 + th);
            dy[i] = 0.5f * (1 + th) + 0.5f * xv * (1 - th * th) * GELU_C * (1 + 3 * GELU_A * xv * xv);
        }
    }

    /** gelu''(z) = (1 - t^2) (u' + z/2 (u'' - 2 t u'^2)), u = c (z + a z^3), t = tanh(u). */
    private static double geluSecond(double z) {
        double u1 = GELU_C * (1 + 3 * GELU_A * z * z), u2 = 6 * GELU_A * GELU_C * z;
        double th = Math.tanh(GELU_C * (z + GELU_A * z * z * z));
        return (1 - th * th) * (u1 + 0.5 * z * (u2 - 2 * th * u1 * u1));
    }

    /** dl/dz of 1/2 ||LN(z) - y||^2 for one row: (d delta - sum delta - xh sum(delta xh)) / (d sigma). */
    static void lossGradient(float[] z, float[] y, int r, int d, float[] gam, int go, float[] bet, int bo, float eps, float[] g,
                                     float[] lanes) {
        if (vectorRows(d)) {
            lossGradientVector(z, y, r, d, gam, go, bet, bo, eps, g, lanes);
            return;
        }
        double mu = 0, var = 0;
        for (int f = 0; f < d; f++) mu += z[r + f];
        mu /= d;
        for (int f = 0; f < d; f++) var += (z[r + f] - mu) * (z[r + f] - mu);
        double sigma = Math.sqrt(var / d + eps), s1 = 0, s2 = 0;
        for (int f = 0; f < d; f++) {
            double xh = (z[r + f] - mu) / sigma, delta = (gam[go + f] * xh + bet[bo + f] - y[r + f]) * gam[go + f];
            s1 += delta;
            s2 += delta * xh;
        }
        for (int f = 0; f < d; f++) {
            double xh = (z[r + f] - mu) / sigma, delta = (gam[go + f] * xh + bet[bo + f] - y[r + f]) * gam[go + f];
            g[r + f] = (float) ((d * delta - s1 - xh * s2) / (d * sigma));
        }
    }

    private static void lossGradientVector(float[] z, float[] y, int r, int d, float[] gam, int go, float[] bet, int bo, float eps, float[] g,
                                           float[] lanes) {
        rowStats(z, r, d, eps, lanes);
        float mu = lanes[L], rs = lanes[L + 1];
        FloatVector s1 = FloatVector.zero(F), s2 = FloatVector.zero(F);
        for (int f = 0; f < d; f += L) {
            FloatVector xh = FloatVector.fromArray(F, z, r + f).sub(mu).mul(rs), gm = FloatVector.fromArray(F, gam, go + f);
            FloatVector delta = gm.fma(xh, FloatVector.fromArray(F, bet, bo + f)).sub(FloatVector.fromArray(F, y, r + f)).mul(gm);
            delta.intoArray(g, r + f);
            s1 = s1.add(delta);
            s2 = delta.fma(xh, s2);
        }
        s1.intoArray(lanes, 0);
        float a = sumLanes(lanes);
        s2.intoArray(lanes, 0);
        float c2 = sumLanes(lanes), scale = rs / d;
        for (int f = 0; f < d; f += L) {
            FloatVector xh = FloatVector.fromArray(F, z, r + f).sub(mu).mul(rs);
            FloatVector.fromArray(F, g, r + f).mul(d).sub(a).sub(xh.mul(c2)).mul(scale).intoArray(g, r + f);
        }
    }

    /**
     * Mean and 1 / sqrt(variance + eps) of one row of whole vectors, left in {@code lanes[L]} and
     * {@code lanes[L + 1]}: the per-row statistics of the hot loop allocate nothing.
     */
    private static void rowStats(float[] a, int r, int d, float eps, float[] lanes) {
        FloatVector sum = FloatVector.zero(F);
        for (int f = 0; f < d; f += L) sum = sum.add(FloatVector.fromArray(F, a, r + f));
        sum.intoArray(lanes, 0);
        float mu = sumLanes(lanes) / d;
        FloatVector sq = FloatVector.zero(F);
        for (int f = 0; f < d; f += L) {
            FloatVector cv = FloatVector.fromArray(F, a, r + f).sub(mu);
            sq = cv.fma(cv, sq);
        }
        lanes[L] = mu;
        sq.intoArray(lanes, 0);
        lanes[L + 1] = (float) (1 / Math.sqrt(sumLanes(lanes) / d + eps));
    }

    /**
     * {@link VectorMath#sumLanes} (lane 0 first, the same rounding) of a vector the caller stored in
     * {@code lanes}: no new array, and no vector passed to a method C2 may leave out of line (it
     * would be boxed).
     */
    private static float sumLanes(float[] lanes) {
        float s = 0;
        for (int i = 0; i < L; i++) s += lanes[i];
        return s;
    }

    /** Scratch for the row statistics: one vector's lanes and two statistics, or four vectors' and eight. */
    static float[] lanes() {
        return new float[4 * L + 8];
    }

    // ---- four rows at a time ------------------------------------------------------------------
    //
    // Each row's statistics end in a sum of lanes taken lane by lane (the rounding of VectorMath.sumLanes),
    // a chain of 16 dependent additions. Four rows interleaved run four chains side by side: the inner
    // loss's gradient for a mini-batch of 16 rows of 64 took 0.63 us instead of 1.0 (in isolation, one
    // thread). The arithmetic of every row is exactly that of the one-row versions above.

    /** Mean and 1 / sqrt(variance + eps) of rows r, r + d, r + 2d, r + 3d, left in lanes[4L .. 4L + 8): four means, then four scales. */
    private static void rowStats4(float[] a, int r, int d, float eps, float[] lanes) {
        int r1 = r + d, r2 = r1 + d, r3 = r2 + d;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int f = 0; f < d; f += L) {
            s0 = s0.add(FloatVector.fromArray(F, a, r + f));
            s1 = s1.add(FloatVector.fromArray(F, a, r1 + f));
            s2 = s2.add(FloatVector.fromArray(F, a, r2 + f));
            s3 = s3.add(FloatVector.fromArray(F, a, r3 + f));
        }
        s0.intoArray(lanes, 0);
        s1.intoArray(lanes, L);
        s2.intoArray(lanes, 2 * L);
        s3.intoArray(lanes, 3 * L);
        sumLanes4(lanes);
        float m0 = lanes[4 * L] / d, m1 = lanes[4 * L + 1] / d, m2 = lanes[4 * L + 2] / d, m3 = lanes[4 * L + 3] / d;
        FloatVector v0 = FloatVector.zero(F), v1 = v0, v2 = v0, v3 = v0;
        for (int f = 0; f < d; f += L) {
            FloatVector c0 = FloatVector.fromArray(F, a, r + f).sub(m0), c1 = FloatVector.fromArray(F, a, r1 + f).sub(m1);
            FloatVector c2 = FloatVector.fromArray(F, a, r2 + f).sub(m2), c3 = FloatVector.fromArray(F, a, r3 + f).sub(m3);
            v0 = c0.fma(c0, v0);
            v1 = c1.fma(c1, v1);
            v2 = c2.fma(c2, v2);
            v3 = c3.fma(c3, v3);
        }
        v0.intoArray(lanes, 0);
        v1.intoArray(lanes, L);
        v2.intoArray(lanes, 2 * L);
        v3.intoArray(lanes, 3 * L);
        sumLanes4(lanes);
        for (int i = 0; i < 4; i++) lanes[4 * L + 4 + i] = (float) (1 / Math.sqrt(lanes[4 * L + i] / d + eps));
        lanes[4 * L] = m0;
        lanes[4 * L + 1] = m1;
        lanes[4 * L + 2] = m2;
        lanes[4 * L + 3] = m3;
    }

    /** The lane sums of the four vectors stored in lanes[0 .. 4L), each from lane 0 up, into lanes[4L .. 4L + 4). */
    private static void sumLanes4(float[] lanes) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < L; i++) {
            s0 += lanes[i];
            s1 += lanes[L + i];
            s2 += lanes[2 * L + i];
            s3 += lanes[3 * L + i];
        }
        lanes[4 * L] = s0;
        lanes[4 * L + 1] = s1;
        lanes[4 * L + 2] = s2;
        lanes[4 * L + 3] = s3;
    }

    /**
     * {@link #lossGradientVector} for rows r, r + d, r + 2d, r + 3d, the target row r being
     * {@code v[vb + r ..] - k[kb + r ..]}, formed here as {@link #difference} forms it (one pass and
     * one array fewer than writing it out first).
     */
    private static void lossGradientRows4(float[] z, float[] v, int vb, float[] k, int kb, int r, int d, float[] gam, int go, float[] bet, int bo,
                                          float eps, float[] g, float[] lanes) {
        rowStats4(z, r, d, eps, lanes);
        int r1 = r + d, r2 = r1 + d, r3 = r2 + d, st = 4 * L;
        float m0 = lanes[st], m1 = lanes[st + 1], m2 = lanes[st + 2], m3 = lanes[st + 3];
        float k0 = lanes[st + 4], k1 = lanes[st + 5], k2 = lanes[st + 6], k3 = lanes[st + 7];
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int f = 0; f < d; f += L) {
            FloatVector gm = FloatVector.fromArray(F, gam, go + f), bt = FloatVector.fromArray(F, bet, bo + f);
            FloatVector x0 = FloatVector.fromArray(F, z, r + f).sub(m0).mul(k0), x1 = FloatVector.fromArray(F, z, r1 + f).sub(m1).mul(k1);
            FloatVector x2 = FloatVector.fromArray(F, z, r2 + f).sub(m2).mul(k2), x3 = FloatVector.fromArray(F, z, r3 + f).sub(m3).mul(k3);
            FloatVector y0 = FloatVector.fromArray(F, v, vb + r + f).sub(FloatVector.fromArray(F, k, kb + r + f));
            FloatVector y1 = FloatVector.fromArray(F, v, vb + r1 + f).sub(FloatVector.fromArray(F, k, kb + r1 + f));
            FloatVector y2 = FloatVector.fromArray(F, v, vb + r2 + f).sub(FloatVector.fromArray(F, k, kb + r2 + f));
            FloatVector y3 = FloatVector.fromArray(F, v, vb + r3 + f).sub(FloatVector.fromArray(F, k, kb + r3 + f));
            FloatVector d0 = gm.fma(x0, bt).sub(y0).mul(gm);
            FloatVector d1 = gm.fma(x1, bt).sub(y1).mul(gm);
            FloatVector d2 = gm.fma(x2, bt).sub(y2).mul(gm);
            FloatVector d3 = gm.fma(x3, bt).sub(y3).mul(gm);
            d0.intoArray(g, r + f);
            d1.intoArray(g, r1 + f);
            d2.intoArray(g, r2 + f);
            d3.intoArray(g, r3 + f);
            a0 = a0.add(d0);
            a1 = a1.add(d1);
            a2 = a2.add(d2);
            a3 = a3.add(d3);
            b0 = d0.fma(x0, b0);
            b1 = d1.fma(x1, b1);
            b2 = d2.fma(x2, b2);
            b3 = d3.fma(x3, b3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, L);
        a2.intoArray(lanes, 2 * L);
        a3.intoArray(lanes, 3 * L);
        sumLanes4(lanes);
        float s0 = lanes[st], s1 = lanes[st + 1], s2 = lanes[st + 2], s3 = lanes[st + 3];
        b0.intoArray(lanes, 0);
        b1.intoArray(lanes, L);
        b2.intoArray(lanes, 2 * L);
        b3.intoArray(lanes, 3 * L);
        sumLanes4(lanes);
        float c0 = lanes[st], c1 = lanes[st + 1], c2 = lanes[st + 2], c3 = lanes[st + 3];
        float e0 = k0 / d, e1 = k1 / d, e2 = k2 / d, e3 = k3 / d;
        for (int f = 0; f < d; f += L) {
            FloatVector x0 = FloatVector.fromArray(F, z, r + f).sub(m0).mul(k0), x1 = FloatVector.fromArray(F, z, r1 + f).sub(m1).mul(k1);
            FloatVector x2 = FloatVector.fromArray(F, z, r2 + f).sub(m2).mul(k2), x3 = FloatVector.fromArray(F, z, r3 + f).sub(m3).mul(k3);
            FloatVector.fromArray(F, g, r + f).mul(d).sub(s0).sub(x0.mul(c0)).mul(e0).intoArray(g, r + f);
            FloatVector.fromArray(F, g, r1 + f).mul(d).sub(s1).sub(x1.mul(c1)).mul(e1).intoArray(g, r1 + f);
            FloatVector.fromArray(F, g, r2 + f).mul(d).sub(s2).sub(x2.mul(c2)).mul(e2).intoArray(g, r2 + f);
            FloatVector.fromArray(F, g, r3 + f).mul(d).sub(s3).sub(x3.mul(c3)).mul(e3).intoArray(g, r3 + f);
        }
    }

    /** {@link #outputRow} for rows r, r + d, r + 2d, r + 3d of zbar, q rows from qr and out rows from or, the same strides. */
    private static void outputRows4(float[] zbar, int r, float[] q, int qr, int d, float[] gam, int go, float[] bet, int bo, float eps,
                                    float[] out, int or, float[] lanes) {
        rowStats4(zbar, r, d, eps, lanes);
        int st = 4 * L;
        float m0 = lanes[st], m1 = lanes[st + 1], m2 = lanes[st + 2], m3 = lanes[st + 3];
        float k0 = lanes[st + 4], k1 = lanes[st + 5], k2 = lanes[st + 6], k3 = lanes[st + 7];
        for (int f = 0; f < d; f += L) {
            FloatVector gm = FloatVector.fromArray(F, gam, go + f), bt = FloatVector.fromArray(F, bet, bo + f);
            FloatVector x0 = FloatVector.fromArray(F, zbar, r + f).sub(m0).mul(k0), x1 = FloatVector.fromArray(F, zbar, r + d + f).sub(m1).mul(k1);
            FloatVector x2 = FloatVector.fromArray(F, zbar, r + 2 * d + f).sub(m2).mul(k2);
            FloatVector x3 = FloatVector.fromArray(F, zbar, r + 3 * d + f).sub(m3).mul(k3);
            x0.fma(gm, bt).add(FloatVector.fromArray(F, q, qr + f)).intoArray(out, or + f);
            x1.fma(gm, bt).add(FloatVector.fromArray(F, q, qr + d + f)).intoArray(out, or + d + f);
            x2.fma(gm, bt).add(FloatVector.fromArray(F, q, qr + 2 * d + f)).intoArray(out, or + 2 * d + f);
            x3.fma(gm, bt).add(FloatVector.fromArray(F, q, qr + 3 * d + f)).intoArray(out, or + 3 * d + f);
        }
    }

    /** out = q + LN(zbar) for one row. */
    static void outputRow(float[] zbar, int r, float[] q, int qr, int d, float[] gam, int go, float[] bet, int bo, float eps,
                                  float[] out, int or, float[] lanes) {
        if (vectorRows(d)) {
            rowStats(zbar, r, d, eps, lanes);
            float mu = lanes[L], rs = lanes[L + 1];
            for (int f = 0; f < d; f += L) {
                FloatVector xh = FloatVector.fromArray(F, zbar, r + f).sub(mu).mul(rs);
                xh.fma(FloatVector.fromArray(F, gam, go + f), FloatVector.fromArray(F, bet, bo + f))
                        .add(FloatVector.fromArray(F, q, qr + f)).intoArray(out, or + f);
            }
            return;
        }
        double mu = 0, var = 0;
        for (int f = 0; f < d; f++) mu += zbar[r + f];
        mu /= d;
        for (int f = 0; f < d; f++) var += (zbar[r + f] - mu) * (zbar[r + f] - mu);
        float rs = (float) (1 / Math.sqrt(var / d + eps));
        for (int f = 0; f < d; f++) out[or + f] = q[qr + f] + ((float) (zbar[r + f] - mu) * rs) * gam[go + f] + bet[bo + f];
    }

    private static void transpose(float[] a, int rows, int cols, float[] out) {
        Transpose.transpose(a, 0, cols, out, 0, rows, rows, cols);
    }

    // ---- one decoding step (primal form, no gradient) ---------------------------------------

    /**
     * The primal form for one token without recording a gradient (decoding): per pair, the
     * token's inner gradients at the mini-batch's start weights are added to the state's sums,
     * and the query goes through {@code W0 - s * sums} without materialising it:
     * {@code zbar = xbar W0 + b0 - s (xbar S_W + S_b)}. Same contract as {@link InnerLoop#primal}
     * for t = 1; fp32, inner norm on.
     *
     * @param s [1] the token's index scale; c [N, 1] its rate
     */
    public static InnerLoop.Result step(Tensor q, Tensor k, Tensor v, Tensor s, Tensor c, InnerLoop.State state, Tensor gamma, Tensor beta,
                                        InnerLoop.Inner in) {
        if (GradMode.isEnabled() || !supports(in)) throw new IllegalStateException("fused TTT step: only without gradients, with the inner norm");
        int n = q.dim(0), d = q.dim(2), layers = in.kind().layers;
        if (q.dim(1) != 1) throw new IllegalArgumentException("fused TTT step: one token, got " + q.dim(1));
        int[] width = new int[layers + 1];
        width[0] = d;
        for (int l = 0; l < layers; l++) width[l + 1] = state.weights().get(2 * l).dim(-1);
        Tensor gm = Reduce.broadcastTo(gamma, new int[] {n, 1, d}), bt = Reduce.broadcastTo(beta, new int[] {n, 1, d});
        Tensor out = Tensor.zeros(DType.FP32, n, 1, d);
        List<Tensor> sums = new ArrayList<>();
        for (Tensor t : state.sums()) sums.add(t.copy());
        float sv = (float) s.get(0);
        Parallel.forRange(n, 1, (from, to) -> {
            int maxW = Arrays.stream(width).max().orElse(d);
            float[][] x = new float[layers + 1][maxW], z = new float[layers][maxW], g = new float[layers][maxW], dact = new float[layers][maxW];
            float[] y = new float[d], xb = new float[maxW], zb = new float[maxW], tmp = new float[maxW], lanes = lanes();
            for (int p = from; p < to; p++) {
                System.arraycopy(k.f32(), k.offset() + p * d, x[0], 0, d);
                for (int l = 0; l < layers; l++) {
                    Tensor w = state.weights().get(2 * l), bias = state.weights().get(2 * l + 1);
                    int wi = width[l], wo = width[l + 1];
                    System.arraycopy(bias.f32(), bias.offset() + p * wo, z[l], 0, wo);
                    SmallGemm.mm(false, x[l], 0, wi, w.f32(), w.offset() + p * wi * wo, wo, z[l], 0, wo, 1, wi, wo, 1f, true);
                    if (l + 1 < layers) gelu(z[l], x[l + 1], dact[l], wo);
                }
                difference(v.f32(), v.offset() + p * d, k.f32(), k.offset() + p * d, y, 0, d);
                int last = layers - 1, go = gm.offset() + p * d, bo = bt.offset() + p * d;
                lossGradient(z[last], y, 0, d, gm.f32(), go, bt.f32(), bo, (float) in.eps(), g[last], lanes);
                for (int l = last; l > 0; l--) { // G_{l-1} = (G_l W_l^T) o gelu'(Z_{l-1}), row by row of W_l
                    Tensor w = state.weights().get(2 * l);
                    int wi = width[l], wo = width[l + 1];
                    float[] wa = w.f32();
                    for (int i = 0; i < wi; i++) {
                        int r = w.offset() + p * wi * wo + i * wo;
                        float acc = 0;
                        for (int o = 0; o < wo; o++) acc += wa[r + o] * g[l][o];
                        g[l - 1][i] = acc * dact[l - 1][i];
                    }
                }
                float cp = c.f32()[c.offset() + p];
                // S_W += c x^T g (rank one), S_b += c g; then the query through W0 - s S.
                System.arraycopy(q.f32(), q.offset() + p * d, xb, 0, d);
                for (int l = 0; l < layers; l++) {
                    int wi = width[l], wo = width[l + 1];
                    float[] sw = sums.get(2 * l).f32(), sb = sums.get(2 * l + 1).f32();
                    int swo = sums.get(2 * l).offset() + p * wi * wo, sbo = sums.get(2 * l + 1).offset() + p * wo;
                    for (int i = 0; i < wi; i++) x[l][i] *= cp;
                    SmallGemm.mm(true, x[l], 0, 1, g[l], 0, wo, sw, swo, wo, wi, 1, wo, 1f, true);
                    for (int o = 0; o < wo; o++) sb[sbo + o] += cp * g[l][o];
                    Tensor w = state.weights().get(2 * l), bias = state.weights().get(2 * l + 1);
                    System.arraycopy(bias.f32(), bias.offset() + p * wo, zb, 0, wo);
                    SmallGemm.mm(false, xb, 0, wi, w.f32(), w.offset() + p * wi * wo, wo, zb, 0, wo, 1, wi, wo, 1f, true);
                    System.arraycopy(sb, sbo, tmp, 0, wo);
                    SmallGemm.mm(false, xb, 0, wi, sw, swo, wo, tmp, 0, wo, 1, wi, wo, 1f, true);
                    for (int o = 0; o < wo; o++) zb[o] -= sv * tmp[o];
                    if (l + 1 < layers) gelu(zb, xb, tmp, wo);
                }
                outputRow(zb, 0, q.f32(), q.offset() + p * d, d, gm.f32(), go, bt.f32(), bo, (float) in.eps(), out.f32(), p * d, lanes);
            }
        });
        return new InnerLoop.Result(out, new InnerLoop.State(state.weights(), sums));
    }

    // ---- backward ---------------------------------------------------------------------------

    private static Tensor[] backward(Dims x, Tensor[] xs, float[] states, Tensor gPacked, int n) {
        if (states == null) throw new IllegalStateException("fused TTT kernel: backward without saved states");
        int t = x.t(), d = x.d(), b = x.b();
        Tensor[] grads = new Tensor[xs.length];
        grads[0] = Tensor.zeros(DType.FP32, n, t, d);
        grads[1] = Tensor.zeros(DType.FP32, n, t, d);
        grads[2] = Tensor.zeros(DType.FP32, n, t, d);
        grads[4] = Tensor.zeros(DType.FP32, n, t);
        grads[5] = Tensor.zeros(DType.FP32, n, 1, d);
        grads[6] = Tensor.zeros(DType.FP32, n, 1, d);
        for (int i = 7; i < xs.length; i++) grads[i] = Tensor.zeros(DType.FP32, xs[i].shape());
        float[] dsPer = new float[n * b];
        Tensor gp = gPacked.dtype() == DType.FP32 ? gPacked : gPacked.to(DType.FP32);
        Parallel.forRange(n, 1, (from, to) -> {
            Pair w = new Pair(x);
            for (int i = from; i < to; i++) backwardPair(x, xs, states, gp, i, w, grads, dsPer);
        });
        float[] ds = new float[b];
        for (int i = 0; i < n; i++) for (int j = 0; j < b; j++) ds[j] += dsPer[i * b + j]; // fixed order: deterministic
        grads[3] = Tensor.of(ds, b);
        return grads;
    }

    private static void backwardPair(Dims x, Tensor[] xs, float[] states, Tensor gp, int pair, Pair w, Tensor[] grads, float[] ds) {
        int t = x.t(), d = x.d(), b = x.b(), m = t / b, layers = x.layers(), last = layers - 1;
        float[] q = xs[0].f32(), k = xs[1].f32(), s = xs[3].f32(), c = xs[4].f32(), gam = xs[5].f32(), bet = xs[6].f32();
        int so = xs[3].offset(), go = xs[5].offset() + pair * d, bo = xs[6].offset() + pair * d;
        float[] gout = gp.f32();
        int gBase = gp.offset() + pair * x.packedSize();
        // The final state's gradients seed the carried dW_l, db_l.
        int o = gBase + t * d;
        for (int l = 0; l < layers; l++) {
            int in = x.width()[l], out = x.width()[l + 1];
            System.arraycopy(gout, o, w.dw[l], 0, in * out);
            System.arraycopy(gout, o + in * out, w.db[l], 0, out);
            o += in * out + out;
        }
        Arrays.fill(w.dgam, 0);
        Arrays.fill(w.dbet, 0);
        float sLast = s[so + b - 1];
        for (int mb = m - 1; mb >= 0; mb--) {
            loadState(x, w, states, (pair * m + mb) * x.stateSize());
            int row = pair * t + mb * b, cb = xs[4].offset() + row, qb = xs[0].offset() + row * d, kb = xs[1].offset() + row * d;
            miniBatch(x, xs, pair, row, w);
            // The forward reads the keys, queries and target where they lie; the backward works on copies.
            System.arraycopy(k, kb, w.x[0], 0, b * d);
            System.arraycopy(q, qb, w.xbar[0], 0, b * d);
            difference(xs[2].f32(), xs[2].offset() + row * d, k, kb, w.y, 0, b * d);
            Arrays.fill(w.de, 0f);
            Arrays.fill(w.del, 0f);
            Arrays.fill(w.dk, 0f);
            // out = Q + LN(Zbar_last).
            for (int i = 0; i < b; i++) outputRowBackward(w, i * d, d, gout, gBase + (mb * b + i) * d, gam, go, x.eps());
            // The state update, with dW', db' carried in w.dw, w.db.
            for (int l = 0; l < layers; l++) {
                int in = x.width()[l], out = x.width()[l + 1];
                SmallGemm.mm(false, w.x[l], 0, in, w.dw[l], 0, out, w.tmp[l], 0, out, b, in, out, 1f, false);      // X dW'
                for (int j = 0; j < b; j++) {
                    double de = 0;
                    for (int f = 0; f < out; f++) {
                        int e = j * out + f;
                        float u = w.tmp[l][e] + w.db[l][f];
                        de -= u * w.g[l][e];
                        w.dg[l][e] = -w.el[j] * u;
                    }
                    w.del[j] += (float) de;
                }
                transpose(w.dw[l], in, out, w.dwt[l]);
                SmallGemm.mm(false, w.g[l], 0, out, w.dwt[l], 0, in, w.dx[l], 0, in, b, out, in, 1f, false);      // G dW'^T
                for (int j = 0; j < b; j++) for (int f = 0; f < in; f++) w.dx[l][j * in + f] *= -w.el[j];
            }
            // The dual form, last layer first: Zbar_l = Xbar_l W_l + b_l - P_l G_l, Xbar_{l+1} = gelu(Zbar_l).
            for (int l = last; l >= 0; l--) {
                int in = x.width()[l], out = x.width()[l + 1];
                transpose(w.w[l], in, out, w.wt[l]);
                SmallGemm.mm(false, w.dzbar[l], 0, out, w.wt[l], 0, in, w.dxbar[l], 0, in, b, out, in, 1f, false); // dXbar = dZbar W^T
                SmallGemm.mm(true, w.xbar[l], 0, in, w.dzbar[l], 0, out, w.dw[l], 0, out, in, b, out, 1f, true);    // dW += Xbar^T dZbar
                for (int i = 0; i < b; i++) for (int f = 0; f < out; f++) w.db[l][f] += w.dzbar[l][i * out + f];
                transpose(w.g[l], b, out, w.gt);
                float[] dp = w.dp;
                SmallGemm.mm(false, w.dzbar[l], 0, out, w.gt, 0, b, dp, 0, b, b, out, b, -1f, false);              // dP = -dZbar G^T
                SmallGemm.mm(true, w.p[l], 0, b, w.dzbar[l], 0, out, w.dg[l], 0, out, b, b, out, -1f, true);       // dG -= P^T dZbar
                for (int i = 0; i < b; i++) {
                    for (int j = 0; j < b; j++) {
                        if (j > i) {
                            dp[i * b + j] = 0f;
                            continue;
                        }
                        float pij = dp[i * b + j];
                        w.de[i * b + j] += pij * (w.a[l][i * b + j] + 1);
                        dp[i * b + j] = pij * s[so + i] * c[cb + j];                                              // now dA
                    }
                }
                SmallGemm.mm(false, dp, 0, b, w.x[l], 0, in, w.dxbar[l], 0, in, b, b, in, 1f, true);              // dXbar += dA X
                SmallGemm.mm(true, dp, 0, b, w.xbar[l], 0, in, w.dx[l], 0, in, b, b, in, 1f, true);               // dX += dA^T Xbar
                if (l > 0) for (int e = 0; e < b * in; e++) w.dzbar[l - 1][e] = w.dxbar[l][e] * w.act[l - 1][e];
            }
            for (int e = 0; e < b * d; e++) w.dq[e] += w.dxbar[0][e];
            // eta_ij = s_i c_j (j <= i), e_j = s_last c_j.
            float[] dc = grads[4].f32();
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
            // G_{l-1} = (G_l W_l^T) o gelu'(Z_{l-1}), first layers first (the reverse of their creation).
            for (int l = 0; l < last; l++) {
                int out = x.width()[l + 1], next = x.width()[l + 2];
                // H = G_{l+1} W_{l+1}^T is G_l / gelu'(Z_l); recompute it rather than divide.
                float[] h = w.tmp[l];
                SmallGemm.mm(false, w.g[l + 1], 0, next, w.wt[l + 1], 0, out, h, 0, out, b, next, out, 1f, false);
                float[] dh = w.gl[l];
                for (int e = 0; e < b * out; e++) {
                    dh[e] = w.dg[l][e] * w.actd[l][e];
                    w.dz[l][e] = (float) (w.dg[l][e] * h[e] * geluSecond(w.z[l][e]));
                }
                SmallGemm.mm(false, dh, 0, out, w.w[l + 1], 0, next, w.dg[l + 1], 0, next, b, out, next, 1f, true); // dG_{l+1} += dH W
                SmallGemm.mm(true, dh, 0, out, w.g[l + 1], 0, next, w.dw[l + 1], 0, next, out, b, next, 1f, true); // dW += dH^T G
            }
            Arrays.fill(w.dz[last], 0f);
            // G_last = dl/dZ_last through the inner LayerNorm, target Y = V - K: dY goes to dV and -dK.
            float[] dv = grads[2].f32();
            for (int i = 0; i < b; i++) lossGradientBackward(w, last, i * d, d, gam, go, bet, bo, x.eps(), dv, row * d + i * d);
            // The inner model on the keys, last layer first: Z_l = X_l W_l + b_l, X_{l+1} = gelu(Z_l).
            for (int l = last; l >= 0; l--) {
                int in = x.width()[l], out = x.width()[l + 1];
                SmallGemm.mm(false, w.dz[l], 0, out, w.wt[l], 0, in, w.dx[l], 0, in, b, out, in, 1f, true);        // dX += dZ W^T
                SmallGemm.mm(true, w.x[l], 0, in, w.dz[l], 0, out, w.dw[l], 0, out, in, b, out, 1f, true);         // dW += X^T dZ
                for (int i = 0; i < b; i++) for (int f = 0; f < out; f++) w.db[l][f] += w.dz[l][i * out + f];
                if (l > 0) for (int e = 0; e < b * in; e++) w.dz[l - 1][e] += w.dx[l][e] * w.actd[l - 1][e];
            }
            float[] dq = grads[0].f32(), dk = grads[1].f32();
            for (int e = 0; e < b * d; e++) {
                dq[row * d + e] = w.dq[e];
                dk[row * d + e] += w.dx[0][e] + w.dk[e];
            }
        }
        for (int l = 0; l < layers; l++) {
            int in = x.width()[l], out = x.width()[l + 1];
            System.arraycopy(w.dw[l], 0, grads[7 + 2 * l].f32(), pair * in * out, in * out);
            System.arraycopy(w.db[l], 0, grads[8 + 2 * l].f32(), pair * out, out);
        }
        float[] dgam = grads[5].f32(), dbet = grads[6].f32();
        for (int f = 0; f < d; f++) {
            dgam[pair * d + f] = (float) w.dgam[f];
            dbet[pair * d + f] = (float) w.dbet[f];
        }
    }

    /** out = Q + LN(Zbar_last) backward for one row: dQ = dOut, dZbar_last, and the norm's gamma/beta sums. */
    private static void outputRowBackward(Pair w, int r, int d, float[] gout, int go2, float[] gam, int go, double eps) {
        float[] zbar = w.zbar[w.zbar.length - 1], dzbar = w.dzbar[w.dzbar.length - 1];
        double mu = 0, var = 0;
        for (int f = 0; f < d; f++) mu += zbar[r + f];
        mu /= d;
        for (int f = 0; f < d; f++) var += (zbar[r + f] - mu) * (zbar[r + f] - mu);
        double rs = 1 / Math.sqrt(var / d + eps), mdx = 0, mdxx = 0;
        for (int f = 0; f < d; f++) {
            double gy = gout[go2 + f], xh = (zbar[r + f] - mu) * rs;
            w.dq[r + f] = (float) gy;
            w.dgam[f] += gy * xh;
            w.dbet[f] += gy;
            double dx = gy * gam[go + f];
            mdx += dx;
            mdxx += dx * xh;
        }
        mdx /= d;
        mdxx /= d;
        for (int f = 0; f < d; f++) {
            double xh = (zbar[r + f] - mu) * rs;
            dzbar[r + f] = (float) (rs * (gout[go2 + f] * gam[go + f] - mdx - xh * mdxx));
        }
    }

    /**
     * Backward of the closed-form inner gradient g(z, y) of one row of the last layer, given dg in
     * {@code w.dg[l]}: adds dz to {@code w.dz[l]}, dy to dV and -dy to {@code w.dk} (y = v - k), and
     * the gamma/beta terms to the running sums.
     */
    private static void lossGradientBackward(Pair w, int l, int r, int d, float[] gam, int go, float[] bet, int bo, double eps, float[] dv,
                                             int vr) {
        float[] z = w.z[l], g = w.g[l], dg = w.dg[l], y = w.y;
        double mu = 0, var = 0;
        for (int f = 0; f < d; f++) mu += z[r + f];
        mu /= d;
        for (int f = 0; f < d; f++) var += (z[r + f] - mu) * (z[r + f] - mu);
        double sigma = Math.sqrt(var / d + eps), s2 = 0, su = 0, sux = 0, sdgg = 0;
        for (int f = 0; f < d; f++) {
            double xh = (z[r + f] - mu) / sigma;
            s2 += (gam[go + f] * xh + bet[bo + f] - y[r + f]) * gam[go + f] * xh;
            double u = dg[r + f] / (d * sigma);
            su += u;
            sux += u * xh;
            sdgg += dg[r + f] * g[r + f];
        }
        // ddelta = d u - sum u - xh sum(u xh); dxh = -u s2 - delta sum(u xh) + ddelta gamma^2 (s2 = sum delta xh
        // depends on both); dsigma = -sum(dg g) / sigma.
        double dsigma = -sdgg / sigma, sdxc = 0;
        double[] dxh = w.rowTmp;
        for (int f = 0; f < d; f++) {
            double xh = (z[r + f] - mu) / sigma, u = dg[r + f] / (d * sigma), gm = gam[go + f];
            double dd = d * u - su - xh * sux;
            w.dgam[f] += dd * (2 * gm * xh + bet[bo + f] - y[r + f]);
            w.dbet[f] += dd * gm;
            double dy = -dd * gm;
            dv[vr + f] += (float) dy;
            w.dk[r + f] -= (float) dy;
            double delta = (gm * xh + bet[bo + f] - y[r + f]) * gm;
            dxh[f] = -u * s2 - delta * sux + dd * gm * gm;
            sdxc += dxh[f] * (z[r + f] - mu);
        }
        // xh = (z - mu) / sigma, sigma = sqrt(mean((z - mu)^2) + eps).
        double dsTotal = dsigma - sdxc / (sigma * sigma), mean = 0;
        for (int f = 0; f < d; f++) {
            dxh[f] = dxh[f] / sigma + dsTotal * (z[r + f] - mu) / (d * sigma);
            mean += dxh[f];
        }
        mean /= d;
        for (int f = 0; f < d; f++) w.dz[l][r + f] += (float) (dxh[f] - mean);
    }
}
