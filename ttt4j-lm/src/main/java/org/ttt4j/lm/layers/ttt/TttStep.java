package org.ttt4j.lm.layers.ttt;

import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.core.kernel.IndexKernels;
import org.ttt4j.core.kernel.MatVec;
import org.ttt4j.core.kernel.PackedMatrix;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.kernel.Team;
import org.ttt4j.core.kernel.VectorMath;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.CausalConv;
import org.ttt4j.lm.layers.Linear;

/**
 * One decoded token of a TTT layer on plain arrays ({@link TttLayer#decodeOne}): the same
 * computation as {@link TttLayer#apply(Tensor, org.ttt4j.lm.layers.MixerCache)} of one token, up to
 * fp32 rounding, allocating nothing. Per token: the projections (matrix-vector products on views
 * of the layer's weights, so training updates show), the shared q/k convolutions with their
 * history (share_qk), RoPE at the position in the mini-batch, the token's learning rate, then per
 * head the primal form on the cache's own tensors, updated in place:
 * <pre>
 *   X_0 = k;  Z_l = X_l W_l + b_l;  X_{l+1} = gelu(Z_l)               (at the mini-batch's start weights)
 *   G_last = dl/dZ_last;  G_{l-1} = (G_l W_l^T) o gelu'(Z_{l-1})
 *   S_l += c X_l^T G_l;  s_l += c G_l                                   (the state's sums)
 *   Xbar_0 = q;  Zbar_l = Xbar_l W_l + b_l - s (Xbar_l S_l + s_l);  Xbar_{l+1} = gelu(Zbar_l)
 *   out = q + LN(Zbar_last)
 * </pre>
 * and, on the token that completes a mini-batch, the commit {@code W_l -= s S_l, b_l -= s s_l},
 * sums back to zero. Then the output LayerNorm, the gate and the output projection.
 *
 * <p>One instance per layer holds only what does not change (views, RoPE tables); everything a
 * token writes is in the cache ({@link Scratch}), so sessions of one model may decode on
 * different threads. The engine's team shares a token when it is free, with one barrier. Supports
 * every configuration of the layer with fp32 parameters.
 */
final class TttStep {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();
    private static final float GELU_C = 0.7978845608028654f, GELU_A = 0.044715f;

    /** A projection y = W x (+ b) through a view of W when it owns its whole array, else row by row in place. */
    private record Proj(Tensor w, PackedMatrix.F32 view, Tensor bias) {
        static Proj of(Linear l) {
            return of(l.weight(), l.weight().dim(0), l.weight().dim(1), l.bias());
        }

        static Proj of(Tensor w, int rows, int cols, Tensor bias) {
            boolean whole = w.offset() == 0 && w.f32().length == w.size();
            return new Proj(w, whole ? new PackedMatrix.F32(w.f32(), rows, cols) : null, bias);
        }

        /** y[r] = W[r] . x (+ b[r]) for rows [r0, r1). */
        void apply(float[] x, float[] y, int r0, int r1) {
            if (view != null) {
                MatVec.matvec(view, x, 0, y, 0, r0, r1);
            } else {
                int cols = w.size() / w.dim(0);
                float[] a = w.f32();
                rowDots(a, w.offset() + r0 * cols, r1 - r0, cols, x, y, r0);
            }
            if (bias != null) for (int r = r0; r < r1; r++) y[r] += bias.f32()[bias.offset() + r];
        }
    }

    private final TttOptions opts;
    private final int heads, width, d, layers;
    private final int[] widths;
    private final Proj q, k, v, o, g, lr;
    private final CausalConv convQ, convK;
    private final Tensor normWeight, normBias, lrBias, tokenIdx, postWeight, postBias;
    /** Mini-batches up to this many RoPE angles (b d / 2) keep a table of them; larger ones compute a token's angles as it comes. */
    private static final int ROPE_TABLE = 1 << 14;
    /** RoPE's d / 2 speeds; the cos and sin of its angles at each position of a mini-batch [b][d / 2] (null beyond ROPE_TABLE). */
    private final double[] invFreq, cos, sin;
    private final float rateScale;

    private TttStep(TttOptions opts, int heads, int width, Linear q, Linear k, Linear v, Linear o, Linear g, CausalConv convQ, CausalConv convK,
                    Tensor normWeight, Tensor normBias, Tensor lrWeight, Tensor lrBias, Tensor tokenIdx, Tensor postWeight, Tensor postBias) {
        this.opts = opts;
        this.heads = heads;
        this.width = width;
        this.d = width / heads;
        this.layers = opts.kind().layers;
        this.widths = new int[layers + 1];
        widths[0] = d;
        for (int l = 1; l < layers; l++) widths[l] = d * opts.kind().expansion;
        widths[layers] = d;
        this.q = Proj.of(q);
        this.k = k == null ? null : Proj.of(k);
        this.v = Proj.of(v);
        this.o = Proj.of(o);
        this.g = g == null ? null : Proj.of(g);
        this.lr = lrWeight == null ? null : Proj.of(lrWeight, heads, width, null);
        this.convQ = convQ;
        this.convK = convK;
        this.normWeight = normWeight;
        this.normBias = normBias;
        this.lrBias = lrBias;
        this.tokenIdx = tokenIdx;
        this.postWeight = postWeight;
        this.postBias = postBias;
        int b = opts.miniBatch(), half = d / 2;
        invFreq = IndexKernels.inverseFrequencies(opts.ropeTheta(), d);
        boolean table = (long) b * half <= ROPE_TABLE;
        cos = table ? new double[b * half] : null;
        sin = table ? new double[b * half] : null;
        for (int p = 0; table && p < b; p++) angles(p, cos, sin, p * half);
        rateScale = (float) (opts.baseLr() / d);
    }

    /**
     * The step of a layer with these parts, or null when one of its parameters is not fp32 (the
     * layer then keeps to its tensor path). Nullable parts: k (share_qk), g (no gate), the convs
     * (no share_qk), the learning-rate parameters (no learnable rate).
     */
    static TttStep of(TttOptions opts, int heads, int width, Linear q, Linear k, Linear v, Linear o, Linear g, CausalConv convQ, CausalConv convK,
                      Tensor normWeight, Tensor normBias, Tensor lrWeight, Tensor lrBias, Tensor tokenIdx, Tensor postWeight, Tensor postBias) {
        for (Linear l : Arrays.asList(q, k, v, o, g)) {
            if (l != null && !(fp32(l.weight()) && (l.bias() == null || fp32(l.bias())))) return null;
        }
        for (CausalConv c : Arrays.asList(convQ, convK)) if (c != null && !(fp32(c.weight()) && fp32(c.bias()))) return null;
        for (Tensor t : Arrays.asList(normWeight, normBias, lrWeight, lrBias, tokenIdx, postWeight, postBias)) if (t != null && !fp32(t)) return null;
        return new TttStep(opts, heads, width, q, k, v, o, g, convQ, convK, normWeight, normBias, lrWeight, lrBias, tokenIdx, postWeight, postBias);
    }

    private static boolean fp32(Tensor t) {
        return t.dtype() == DType.FP32;
    }

    /**
     * A cache's work arrays for this layer's step, and the inputs of the running token (set by
     * {@link #run}, read by the team's members).
     */
    static final class Scratch {
        final float[] q, k, v, qk, gate, y, rate;
        /** Each member's arrays for the heads it takes. */
        final Work[] work;
        /** The state's arrays for the running token (set per call, no copies). */
        final float[][] w = new float[2][], bias = new float[2][], sw = new float[2][], sb = new float[2][];
        final Team.Body body;
        float[] x, out, history;
        /** This token's RoPE angles: the table row from ropeAt, or the token's own in ownCos, ownSin. */
        double[] ropeCos, ropeSin;
        final double[] ownCos, ownSin;
        int ropeAt;
        float scale;
        boolean commit;

        Scratch(TttStep step, int members) {
            int width = step.width;
            q = new float[width];
            k = new float[width];
            v = new float[width];
            qk = new float[width];
            gate = new float[width];
            y = new float[width];
            rate = new float[step.heads];
            ownCos = new double[step.d / 2];
            ownSin = new double[step.d / 2];
            work = new Work[members];
            for (int m = 0; m < members; m++) work[m] = new Work(step.width, step.d, step.widths);
            body = (m, n, team) -> step.member(this, m, n, team);
        }
    }

    /**
     * One member's arrays: for the inner model of a head, per inner layer l the keys' X_l, Z_l,
     * gelu'(Z_l), G_l, the query's Xbar_l, Zbar_l and a row of sums; the normed output row.
     */
    static final class Work {
        final float[][] xk, zk, dact, grad, xq, zq, tq;
        final float[] target, dq, yn, lanes = TttFusedKernel.lanes();

        Work(int width, int d, int[] widths) {
            int n = widths.length - 1, maxW = 0;
            xk = new float[n][]; zk = new float[n][]; dact = new float[n][]; grad = new float[n][];
            xq = new float[n][]; zq = new float[n][]; tq = new float[n][];
            for (int l = 0; l < n; l++) {
                xk[l] = new float[widths[l]];
                xq[l] = new float[widths[l]];
                zk[l] = new float[widths[l + 1]];
                dact[l] = new float[widths[l + 1]];
                grad[l] = new float[widths[l + 1]];
                zq[l] = new float[widths[l + 1]];
                tq[l] = new float[widths[l + 1]];
                maxW = Math.max(maxW, widths[l + 1]);
            }
            target = new float[d];
            dq = new float[maxW];
            yn = new float[width];
        }
    }

    /**
     * {@code out[0..D)} = the layer's output for {@code x[0..D)}, continuing and updating {@code cache};
     * false, touching nothing, when the cache holds a state of another dtype. The engine's team
     * shares the work (by heads, then the output projection by rows) when it is free; each output
     * and head is computed by one member in a fixed order, so the bits do not depend on the
     * thread count.
     */
    boolean run(float[] x, float[] out, TttCache cache) {
        if (!cache.own()) return false;
        Team team = Team.engine();
        Scratch s = cache.scratch;
        if (s == null || s.work.length < team.size()) cache.scratch = s = new Scratch(this, team.size());
        int b = opts.miniBatch(), p = (int) (cache.position % b);
        InnerLoop.State state = cache.state();
        List<Tensor> ws = state.weights(), sums = state.sums();
        for (int l = 0; l < layers; l++) {
            s.w[l] = ws.get(2 * l).f32();
            s.bias[l] = ws.get(2 * l + 1).f32();
            s.sw[l] = sums.get(2 * l).f32();
            s.sb[l] = sums.get(2 * l + 1).f32();
        }
        s.x = x;
        s.out = out;
        s.history = convQ == null ? null : cache.qkHistory().f32();
        if (cos != null) {
            s.ropeCos = cos;
            s.ropeSin = sin;
            s.ropeAt = p * (d / 2);
        } else {
            angles(p, s.ownCos, s.ownSin, 0);
            s.ropeCos = s.ownCos;
            s.ropeSin = s.ownSin;
            s.ropeAt = 0;
        }
        s.scale = indexScale(p);
        s.commit = p == b - 1;
        try {
            team.run(s.body);
        } finally {
            s.x = s.out = s.history = null;
            s.ropeCos = s.ropeSin = null;
        }
        cache.position++;
        return true;
    }

    /**
     * Member m's part of a token. It takes whole heads: their rows of the products before the
     * inner model (and their channels of the depthwise convolutions), RoPE and the inner model,
     * so it needs no other member's results until the output LayerNorm; then, after the one
     * barrier, the output norm of the whole row (each member its own copy, the same bits) and its
     * share of the output projection's rows.
     */
    private void member(Scratch s, int m, int members, Team team) {
        int h0 = Team.from(heads, m, members), h1 = Team.from(heads, m + 1, members), r0 = h0 * d, r1 = h1 * d;
        float[] x = s.x;
        if (convQ != null) {
            q.apply(x, s.qk, r0, r1);
            convQ.output(s.qk, 0, s.history, s.q, 0, r0, r1);
            convK.output(s.qk, 0, s.history, s.k, 0, r0, r1);
            convQ.advance(s.qk, 0, s.history, r0, r1); // both read the one history of the shared projection
        } else {
            q.apply(x, s.q, r0, r1);
            k.apply(x, s.k, r0, r1);
        }
        v.apply(x, s.v, r0, r1);
        if (g != null) {
            g.apply(x, s.gate, r0, r1);
            gelu(s.gate, r0, r1);
        }
        rates(x, s.rate, h0, h1);
        Work w = s.work[m];
        int half = d / 2;
        for (int h = h0; h < h1; h++) {
            rope(s.q, h * d, s, half);
            rope(s.k, h * d, s, half);
            head(h, s, w);
        }
        team.barrier();
        // The output LayerNorm over D and the gate.
        float[] y = s.y, yn = w.yn;
        double mu = 0, var = 0;
        for (int i = 0; i < width; i++) mu += y[i];
        mu /= width;
        for (int i = 0; i < width; i++) var += (y[i] - mu) * (y[i] - mu);
        float r = (float) (1 / Math.sqrt(var / width + opts.eps())), mf = (float) mu;
        float[] pw = postWeight.f32(), pb = postBias.f32();
        int pwo = postWeight.offset(), pbo = postBias.offset();
        for (int i = 0; i < width; i++) yn[i] = (y[i] - mf) * r * pw[pwo + i] + pb[pbo + i];
        if (g != null) for (int i = 0; i < width; i++) yn[i] *= s.gate[i];
        o.apply(yn, s.out, Team.from(width, m, members), Team.from(width, m + 1, members));
    }

    /** The token's learning rate of heads [h0, h1): eta_base sigmoid(theta_lr . x + b_lr) / d, or eta_base / d. */
    private void rates(float[] x, float[] rate, int h0, int h1) {
        if (lr == null) {
            Arrays.fill(rate, h0, h1, rateScale);
            return;
        }
        lr.apply(x, rate, h0, h1);
        float[] lb = lrBias.f32();
        for (int h = h0; h < h1; h++) {
            float logit = rate[h] + lb[lrBias.offset() + h];
            rate[h] = (float) (1 / (1 + Math.exp(-logit))) * rateScale;
        }
    }

    /** cos and sin of RoPE's angles at position p of a mini-batch (as {@link IndexKernels#rope} takes them), from {@code at}. */
    private void angles(int p, double[] c, double[] sn, int at) {
        for (int f = 0; f < invFreq.length; f++) {
            double angle = p * invFreq[f];
            c[at + f] = Math.cos(angle);
            sn[at + f] = Math.sin(angle);
        }
    }

    /** Interleaved pairs (2f, 2f + 1) of the head at {@code off} turned by the token's angles. */
    private static void rope(float[] a, int off, Scratch s, int half) {
        double[] cos = s.ropeCos, sin = s.ropeSin;
        int at = s.ropeAt;
        for (int f = 0; f < half; f++) {
            double c = cos[at + f], sn = sin[at + f];
            float xa = a[off + 2 * f], xb = a[off + 2 * f + 1];
            a[off + 2 * f] = (float) (xa * c - xb * sn);
            a[off + 2 * f + 1] = (float) (xa * sn + xb * c);
        }
    }

    /** s_p = max(0, 1/(p+1) + lambda_p), as {@link InnerLoop#indexScales} rounds it. */
    private float indexScale(int p) {
        float base = (float) (1.0 / (p + 1));
        if (tokenIdx == null) return base;
        return Math.max(0f, base + tokenIdx.f32()[tokenIdx.offset() + p]);
    }

    /** The inner model of head h: gradient at the start weights, the sums, the query through W0 - s S, the commit. */
    private void head(int h, Scratch s, Work w) {
        int last = layers - 1;
        boolean normed = opts.innerNorm();
        float c = s.rate[h], scale = s.scale;
        System.arraycopy(s.k, h * d, w.xk[0], 0, d);
        System.arraycopy(s.q, h * d, w.xq[0], 0, d);
        // The keys through the start weights (the query's first product rides along).
        for (int l = 0; l < layers; l++) {
            int in = widths[l], out = widths[l + 1], wo = h * in * out;
            System.arraycopy(s.bias[l], h * out, w.zk[l], 0, out);
            if (l == 0) {
                System.arraycopy(s.bias[0], h * out, w.zq[0], 0, out);
                affine2(w.xk[0], w.xq[0], s.w[0], wo, in, out, w.zk[0], w.zq[0]);
            } else {
                affine(w.xk[l], s.w[l], wo, in, out, w.zk[l]);
            }
            if (l < last) TttFusedKernel.gelu(w.zk[l], w.xk[l + 1], w.dact[l], out);
        }
        // dl/dZ_last, then back through the layers.
        float[] gl = w.grad[last];
        if (normed) {
            for (int f = 0; f < d; f++) w.target[f] = s.v[h * d + f] - s.k[h * d + f];
            TttFusedKernel.lossGradient(w.zk[last], w.target, 0, d, normWeight.f32(), normWeight.offset() + h * d, normBias.f32(),
                    normBias.offset() + h * d, (float) opts.eps(), gl, w.lanes);
        } else {
            for (int f = 0; f < d; f++) gl[f] = w.zk[last][f] - s.v[h * d + f];
        }
        for (int l = last; l > 0; l--) {
            int in = widths[l], out = widths[l + 1], wo = h * in * out;
            rowDots(s.w[l], wo, in, out, w.grad[l], w.grad[l - 1], 0);
            for (int i = 0; i < in; i++) w.grad[l - 1][i] *= w.dact[l - 1][i];
        }
        // The sums grow by this token; the query goes through W0 - s S.
        for (int l = 0; l < layers; l++) {
            int in = widths[l], out = widths[l + 1], wo = h * in * out, bo = h * out;
            float[] zq = w.zq[l], tq = w.tq[l], sb = s.sb[l], gr = w.grad[l];
            if (l > 0) {
                System.arraycopy(s.bias[l], bo, zq, 0, out);
                affine(w.xq[l], s.w[l], wo, in, out, zq);
            }
            if (normed) for (int f = 0; f < out; f++) sb[bo + f] += c * gr[f];
            System.arraycopy(sb, bo, tq, 0, out);
            rankOneAndQuery(s.sw[l], wo, in, out, w.xk[l], c, gr, w.xq[l], tq);
            for (int f = 0; f < out; f++) zq[f] -= scale * tq[f];
            if (l < last) TttFusedKernel.gelu(zq, w.xq[l + 1], w.dq, out);
        }
        if (normed) {
            TttFusedKernel.outputRow(w.zq[last], 0, s.q, h * d, d, normWeight.f32(), normWeight.offset() + h * d, normBias.f32(),
                    normBias.offset() + h * d, (float) opts.eps(), s.y, h * d, w.lanes);
        } else {
            System.arraycopy(w.zq[last], 0, s.y, h * d, d);
        }
        if (s.commit) { // the last token of a mini-batch: its weights start the next one
            for (int l = 0; l < layers; l++) {
                int in = widths[l], out = widths[l + 1];
                commit(s.w[l], s.sw[l], h * in * out, in * out, scale);
                commit(s.bias[l], s.sb[l], h * out, out, scale);
            }
        }
    }

    /** w -= scale * sums, sums = 0, over n entries from off (the rounding of {@link InnerLoop.State#commit}). */
    private static void commit(float[] w, float[] sums, int off, int n, float scale) {
        for (int i = off; i < off + n; i++) w[i] = w[i] - sums[i] * scale;
        Arrays.fill(sums, off, off + n, 0f);
    }

    /** a = gelu(a) (tanh form) on [from, to). */
    private static void gelu(float[] a, int from, int to) {
        int i = from;
        if (Simd.enabled()) {
            for (; i + L <= to; i += L) {
                FloatVector xv = FloatVector.fromArray(F, a, i);
                FloatVector th = VectorMath.tanh(xv.mul(xv).fma(GELU_A, 1f).mul(xv).mul(GELU_C));
                th.add(1f).mul(xv).mul(0.5f).intoArray(a, i);
            }
        }
        for (; i < to; i++) {
            float xv = a[i];
            a[i] = (float) (0.5 * xv * (1 + Math.tanh(GELU_C * (xv + GELU_A * xv * xv * xv))));
        }
    }

    // ---- small products on one head's weights (rows of `out` floats from wo) ----------------

    private static boolean vectors(int out) {
        return Simd.enabled() && out % L == 0;
    }

    /** z += x W (W [in, out] from wo). */
    static void affine(float[] x, float[] w, int wo, int in, int out, float[] z) {
        if (!vectors(out)) {
            for (int i = 0; i < in; i++) {
                float xi = x[i];
                for (int f = 0, r = wo + i * out; f < out; f++) z[f] += xi * w[r + f];
            }
            return;
        }
        int f = 0;
        for (; f + 4 * L <= out; f += 4 * L) {
            FloatVector a0 = FloatVector.fromArray(F, z, f), a1 = FloatVector.fromArray(F, z, f + L);
            FloatVector a2 = FloatVector.fromArray(F, z, f + 2 * L), a3 = FloatVector.fromArray(F, z, f + 3 * L);
            for (int i = 0, r = wo + f; i < in; i++, r += out) {
                FloatVector xi = FloatVector.broadcast(F, x[i]);
                a0 = FloatVector.fromArray(F, w, r).fma(xi, a0);
                a1 = FloatVector.fromArray(F, w, r + L).fma(xi, a1);
                a2 = FloatVector.fromArray(F, w, r + 2 * L).fma(xi, a2);
                a3 = FloatVector.fromArray(F, w, r + 3 * L).fma(xi, a3);
            }
            a0.intoArray(z, f);
            a1.intoArray(z, f + L);
            a2.intoArray(z, f + 2 * L);
            a3.intoArray(z, f + 3 * L);
        }
        for (; f < out; f += L) {
            FloatVector a = FloatVector.fromArray(F, z, f);
            for (int i = 0, r = wo + f; i < in; i++, r += out) a = FloatVector.fromArray(F, w, r).fma(FloatVector.broadcast(F, x[i]), a);
            a.intoArray(z, f);
        }
    }

    /** z1 += x1 W and z2 += x2 W in one pass over W. */
    static void affine2(float[] x1, float[] x2, float[] w, int wo, int in, int out, float[] z1, float[] z2) {
        if (!vectors(out)) {
            affine(x1, w, wo, in, out, z1);
            affine(x2, w, wo, in, out, z2);
            return;
        }
        int f = 0;
        for (; f + 2 * L <= out; f += 2 * L) {
            FloatVector a0 = FloatVector.fromArray(F, z1, f), a1 = FloatVector.fromArray(F, z1, f + L);
            FloatVector b0 = FloatVector.fromArray(F, z2, f), b1 = FloatVector.fromArray(F, z2, f + L);
            for (int i = 0, r = wo + f; i < in; i++, r += out) {
                FloatVector w0 = FloatVector.fromArray(F, w, r), w1 = FloatVector.fromArray(F, w, r + L);
                FloatVector u = FloatVector.broadcast(F, x1[i]), t = FloatVector.broadcast(F, x2[i]);
                a0 = w0.fma(u, a0);
                a1 = w1.fma(u, a1);
                b0 = w0.fma(t, b0);
                b1 = w1.fma(t, b1);
            }
            a0.intoArray(z1, f);
            a1.intoArray(z1, f + L);
            b0.intoArray(z2, f);
            b1.intoArray(z2, f + L);
        }
        for (; f < out; f += L) {
            FloatVector a = FloatVector.fromArray(F, z1, f), b = FloatVector.fromArray(F, z2, f);
            for (int i = 0, r = wo + f; i < in; i++, r += out) {
                FloatVector wv = FloatVector.fromArray(F, w, r);
                a = wv.fma(FloatVector.broadcast(F, x1[i]), a);
                b = wv.fma(FloatVector.broadcast(F, x2[i]), b);
            }
            a.intoArray(z1, f);
            b.intoArray(z2, f);
        }
    }

    /** y[yo + i] = W[i] . g for the in rows of W [in, out] from wo (the gradient back through a layer). */
    static void rowDots(float[] w, int wo, int in, int out, float[] g, float[] y, int yo) {
        if (!vectors(out)) {
            for (int i = 0; i < in; i++) {
                float acc = 0;
                for (int f = 0, r = wo + i * out; f < out; f++) acc += w[r + f] * g[f];
                y[yo + i] = acc;
            }
            return;
        }
        int i = 0;
        for (; i + 2 <= in; i += 2) { // two rows at a time: two independent chains
            FloatVector a = FloatVector.zero(F), b = FloatVector.zero(F);
            for (int f = 0, r = wo + i * out; f < out; f += L) {
                FloatVector gv = FloatVector.fromArray(F, g, f);
                a = FloatVector.fromArray(F, w, r + f).fma(gv, a);
                b = FloatVector.fromArray(F, w, r + out + f).fma(gv, b);
            }
            y[yo + i] = a.reduceLanes(VectorOperators.ADD);
            y[yo + i + 1] = b.reduceLanes(VectorOperators.ADD);
        }
        for (; i < in; i++) {
            FloatVector a = FloatVector.zero(F);
            for (int f = 0, r = wo + i * out; f < out; f += L) a = FloatVector.fromArray(F, w, r + f).fma(FloatVector.fromArray(F, g, f), a);
            y[yo + i] = a.reduceLanes(VectorOperators.ADD);
        }
    }

    /** S += (c xk)^T g (S [in, out] from so), then t += xq S with the updated S, in one pass. */
    static void rankOneAndQuery(float[] sm, int so, int in, int out, float[] xk, float c, float[] g, float[] xq, float[] t) {
        if (!vectors(out)) {
            for (int i = 0; i < in; i++) {
                float a = c * xk[i], b = xq[i];
                for (int f = 0, r = so + i * out; f < out; f++) {
                    float sv = sm[r + f] + a * g[f];
                    sm[r + f] = sv;
                    t[f] += b * sv;
                }
            }
            return;
        }
        int f = 0;
        for (; f + 2 * L <= out; f += 2 * L) {
            FloatVector g0 = FloatVector.fromArray(F, g, f), g1 = FloatVector.fromArray(F, g, f + L);
            FloatVector t0 = FloatVector.fromArray(F, t, f), t1 = FloatVector.fromArray(F, t, f + L);
            for (int i = 0, r = so + f; i < in; i++, r += out) {
                FloatVector a = FloatVector.broadcast(F, c * xk[i]), b = FloatVector.broadcast(F, xq[i]);
                FloatVector s0 = g0.fma(a, FloatVector.fromArray(F, sm, r)), s1 = g1.fma(a, FloatVector.fromArray(F, sm, r + L));
                s0.intoArray(sm, r);
                s1.intoArray(sm, r + L);
                t0 = s0.fma(b, t0);
                t1 = s1.fma(b, t1);
            }
            t0.intoArray(t, f);
            t1.intoArray(t, f + L);
        }
        for (; f < out; f += L) {
            FloatVector g0 = FloatVector.fromArray(F, g, f), t0 = FloatVector.fromArray(F, t, f);
            for (int i = 0, r = so + f; i < in; i++, r += out) {
                FloatVector s0 = g0.fma(FloatVector.broadcast(F, c * xk[i]), FloatVector.fromArray(F, sm, r));
                s0.intoArray(sm, r);
                t0 = s0.fma(FloatVector.broadcast(F, xq[i]), t0);
            }
            t0.intoArray(t, f);
        }
    }
}
