package org.ttt4j.lm.layers.ttt;

import static org.ttt4j.core.ops.Arith.add;
import static org.ttt4j.core.ops.Arith.div;
import static org.ttt4j.core.ops.Arith.mul;
import static org.ttt4j.core.ops.Arith.sub;
import static org.ttt4j.core.ops.Arith.where;
import static org.ttt4j.core.ops.Linalg.matmul;

import java.util.ArrayList;
import java.util.List;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Masks;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.Tensor;

/**
 * The inner loop of the TTT layers (docs/methods.md, section 2), op by op: every step is a
 * differentiable op, so the outer loop backpropagates through the inner gradient steps to any
 * order. This is the reference the fused kernel ({@link TttFusedKernel}) is tested against.
 *
 * <p>All tensors carry a leading axis N of independent (sequence, head) pairs; d is the head width.
 * The inner model is a stack of affine layers, {@code x W1 + b1} (TTT-Linear) or
 * {@code gelu(x W1 + b1) W2 + b2} (TTT-MLP), wrapped as {@code f(x) = x + LN(f_res(x))}. The inner
 * loss per token is {@code 1/2 || LN(f_res(k)) - (v - k) ||^2}; its gradient with respect to the last
 * pre-activation is taken in closed form through the LayerNorm and carried back layer by layer.
 *
 * <p>Learning rates are factored like the reference's: {@code eta[i][j] = s_i c_j} for {@code j <= i} inside
 * a mini-batch, with {@code s} the token-index scale (one per position in the mini-batch) and
 * {@code c} the token-dependent rate (one per token). Inside a mini-batch every gradient is taken at
 * the mini-batch's starting weights; token i uses {@code W_i = W0 - s_i sum_{j<=i} c_j grad_j}.
 */
public final class InnerLoop {
    private InnerLoop() {}

    /** The inner model's shape: one affine layer or two with a tanh-GELU between. */
    public enum Kind {
        LINEAR(1, 1), MLP(2, 4);

        /** Affine layers, and the hidden width as a multiple of d (TTT-MLP: 4d). */
        public final int layers, expansion;

        Kind(int layers, int expansion) {
            this.layers = layers;
            this.expansion = expansion;
        }
    }

    /**
     * Inner-model options. {@code normed}: the TTT layer's {@code x + LN(f_res(x))} with target
     * {@code v - k} and learned biases; off, the plain model {@code f(x) = f_res(x)} with target v
     * whose biases stay at their start values (Theorem 1's setting, and the "linear attention" rung).
     */
    public record Inner(Kind kind, boolean normed, double eps) {}

    /**
     * Inner weights {W1, b1[, W2, b2]} at the start of the current mini-batch, and the sums
     * {@code sum_j c_j grad_j} of the tokens of that mini-batch seen so far (zeros at a boundary).
     */
    public record State(List<Tensor> weights, List<Tensor> sums) {
        public State {
            if (weights.size() != sums.size()) throw new IllegalArgumentException("state: " + weights.size() + " weights, " + sums.size() + " sums");
            weights = List.copyOf(weights);
            sums = List.copyOf(sums);
        }

        /** Start-of-mini-batch weights with nothing accumulated. */
        public static State fresh(List<Tensor> weights) {
            List<Tensor> zeros = new ArrayList<>();
            for (Tensor w : weights) zeros.add(Tensor.zeros(w.dtype(), w.shape()));
            return new State(weights, zeros);
        }

        /** The weights a token with index scale {@code s} sees: {@code W0 - s * sums}. */
        public List<Tensor> current(Tensor s) {
            List<Tensor> out = new ArrayList<>();
            for (int i = 0; i < weights.size(); i++) out.add(sub(weights.get(i), mul(sums.get(i), s)));
            return out;
        }

        /** Closes a full mini-batch: its last token's weights start the next one. */
        public State commit(Tensor sLast) {
            return fresh(current(sLast));
        }
    }

    /** Outputs of a run of tokens and the state after it. */
    public record Result(Tensor out, State state) {}

    /** The inner model's forward activations at fixed weights: inputs X_l and pre-activations Z_l. */
    private record Pass(List<Tensor> inputs, List<Tensor> pre) {}

    private static Pass forward(Tensor x, List<Tensor> w, Inner inner) {
        List<Tensor> xs = new ArrayList<>(), zs = new ArrayList<>();
        for (int l = 0; l < inner.kind().layers; l++) {
            xs.add(x);
            Tensor z = add(matmul(x, w.get(2 * l)), w.get(2 * l + 1));
            zs.add(z);
            x = Maths.gelu(z);
        }
        return new Pass(xs, zs);
    }

    /** dl/dZ_l of every layer for the tokens of {@code p}, at the weights that produced it. */
    private static List<Tensor> gradients(Pass p, Tensor target, List<Tensor> w, Tensor gamma, Tensor beta, Inner inner) {
        int layers = inner.kind().layers;
        Tensor[] g = new Tensor[layers];
        g[layers - 1] = lossGradient(p.pre().get(layers - 1), target, gamma, beta, inner);
        for (int l = layers - 1; l > 0; l--) {
            g[l - 1] = mul(matmul(g[l], w.get(2 * l), false, true), Maths.geluDerivative(p.pre().get(l - 1)));
        }
        return List.of(g);
    }

    /**
     * dl/dz of the reconstruction loss: through the LayerNorm in closed form,
     * {@code (d delta - sum(delta) - xh sum(delta xh)) / (d sigma)} with
     * {@code delta = (gamma xh + beta - target) gamma}; for the plain model simply {@code z - target}.
     */
    static Tensor lossGradient(Tensor z, Tensor target, Tensor gamma, Tensor beta, Inner inner) {
        if (!inner.normed()) return sub(z, target);
        int d = z.dim(-1);
        Tensor mu = Reduce.mean(z, new int[] {-1}, true);
        Tensor centred = sub(z, mu);
        Tensor sigma = Maths.sqrt(add(Reduce.mean(mul(centred, centred), new int[] {-1}, true), inner.eps()));
        Tensor xh = div(centred, sigma);
        Tensor delta = mul(sub(add(mul(xh, gamma), beta), target), gamma);
        Tensor s1 = Reduce.sum(delta, new int[] {-1}, true);
        Tensor s2 = Reduce.sum(mul(delta, xh), new int[] {-1}, true);
        return div(sub(sub(mul(delta, d), s1), mul(xh, s2)), mul(sigma, d));
    }

    /** The inner model's output for queries q given the last pre-activation. */
    private static Tensor output(Tensor q, Tensor z, Tensor gamma, Tensor beta, Inner inner) {
        return inner.normed() ? add(q, Nn.layerNorm(z, gamma, beta, inner.eps())) : z;
    }

    static Tensor target(Tensor k, Tensor v, Inner inner) {
        return inner.normed() ? sub(v, k) : v;
    }

    /**
     * Dual form over T tokens in whole mini-batches of {@code s.size()} tokens, starting at a
     * mini-batch boundary ({@code start.sums()} are zero).
     *
     * @param q,k,v  [N, T, d] (T a multiple of b)
     * @param s      [b] token-index scales of the positions of a mini-batch
     * @param c      [N, T] token-dependent rates
     * @param gamma,beta inner LayerNorm scale and shift, broadcastable to [N, 1, d]
     */
    public static Result dual(Tensor q, Tensor k, Tensor v, Tensor s, Tensor c, State start, Tensor gamma, Tensor beta,
                              Inner inner) {
        int n = q.dim(0), t = q.dim(1), b = s.size();
        if (t % b != 0) throw new IllegalArgumentException("dual form: " + t + " tokens are not whole mini-batches of " + b);
        Tensor causal = Masks.causal(b, b);
        Tensor zero = Tensor.scalar(q.dtype(), 0);
        Tensor sCol = Layout.reshape(s, b, 1);
        Tensor sLast = Layout.reshape(Layout.slice(s, 0, b - 1, b), 1);
        List<Tensor> w = new ArrayList<>(start.weights());
        List<Tensor> outs = new ArrayList<>();
        int layers = inner.kind().layers;
        for (int m = 0; m < t / b; m++) {
            Tensor qm = Layout.slice(q, 1, m * b, (m + 1) * b), km = Layout.slice(k, 1, m * b, (m + 1) * b);
            Tensor vm = Layout.slice(v, 1, m * b, (m + 1) * b);
            Tensor cm = Layout.reshape(Layout.slice(c, 1, m * b, (m + 1) * b), n, 1, b);
            Tensor eta = where(causal, mul(sCol, cm), zero);                   // [N, b, b], eta_ij = s_i c_j
            Tensor etaLast = mul(Layout.reshape(cm, n, b, 1), sLast);          // eta's last row as a column
            Pass p = forward(km, w, inner);
            List<Tensor> g = gradients(p, target(km, vm, inner), w, gamma, beta, inner);
            Tensor xbar = qm, zbar = null;
            for (int l = 0; l < layers; l++) {
                Tensor attn = where(causal, matmul(xbar, p.inputs().get(l), false, true), zero);
                // Zbar = Xbar W0 - (eta o A) G + b0 - eta G
                zbar = add(sub(matmul(xbar, w.get(2 * l)), matmul(mul(eta, attn), g.get(l))), w.get(2 * l + 1));
                if (inner.normed()) zbar = sub(zbar, matmul(eta, g.get(l)));
                if (l + 1 < layers) xbar = Maths.gelu(zbar);
            }
            outs.add(output(qm, zbar, gamma, beta, inner));
            for (int l = 0; l < layers; l++) {
                w.set(2 * l, sub(w.get(2 * l), matmul(mul(p.inputs().get(l), etaLast), g.get(l), true, false)));
                if (inner.normed()) w.set(2 * l + 1, sub(w.get(2 * l + 1), matmul(etaLast, g.get(l), true, false)));
            }
        }
        return new Result(Layout.concat(outs, 1), State.fresh(w));
    }

    /**
     * Primal form: token by token inside one mini-batch, materialising W_i (decode, and a partial
     * mini-batch). The t tokens continue {@code start} (whose sums hold the mini-batch's earlier
     * tokens); the returned state has the same start weights and the sums grown by these tokens.
     * The caller commits the state when the mini-batch fills.
     *
     * @param s [t] token-index scales of these tokens' positions in the mini-batch
     * @param c [N, t] their token-dependent rates
     */
    public static Result primal(Tensor q, Tensor k, Tensor v, Tensor s, Tensor c, State start, Tensor gamma, Tensor beta,
                                Inner inner) {
        int n = q.dim(0), t = q.dim(1);
        List<Tensor> w0 = start.weights();
        Pass p = forward(k, w0, inner);
        List<Tensor> g = gradients(p, target(k, v, inner), w0, gamma, beta, inner);
        int layers = inner.kind().layers;
        List<Tensor> outs = new ArrayList<>();
        List<Tensor> sums = start.sums();
        for (int i = 0; i < t; i++) {
            Tensor ci = Layout.reshape(Layout.slice(c, 1, 0, i + 1), n, 1, i + 1);
            Tensor ciCol = Layout.reshape(ci, n, i + 1, 1);
            List<Tensor> next = new ArrayList<>(sums);
            for (int l = 0; l < layers; l++) {
                Tensor xj = Layout.slice(p.inputs().get(l), 1, 0, i + 1), gj = Layout.slice(g.get(l), 1, 0, i + 1);
                // sums_i = sums_start + sum_{j<=i} c_j x_j^T g_j (and c_j g_j for the bias)
                next.set(2 * l, add(start.sums().get(2 * l), matmul(mul(xj, ciCol), gj, true, false)));
                if (inner.normed()) next.set(2 * l + 1, add(start.sums().get(2 * l + 1), matmul(ci, gj)));
            }
            sums = next;
            List<Tensor> wi = new State(w0, sums).current(Layout.slice(s, 0, i, i + 1));
            Tensor qi = Layout.slice(q, 1, i, i + 1);
            Tensor x = qi, z = null;
            for (int l = 0; l < layers; l++) {
                z = add(matmul(x, wi.get(2 * l)), wi.get(2 * l + 1));
                x = Maths.gelu(z);
            }
            outs.add(output(qi, z, gamma, beta, inner));
        }
        return new Result(Layout.concat(outs, 1), new State(w0, sums));
    }

    /**
     * Token-index scales {@code s_i = max(0, 1/i + lambda_i)} (i 1-based in the mini-batch) for
     * positions [from, to) of a mini-batch; {@code lambda} [b] or null for the fixed 1/i schedule.
     */
    public static Tensor indexScales(Tensor lambda, int b, int from, int to, org.ttt4j.core.tensor.DType dtype) {
        double[] inv = new double[to - from];
        for (int i = from; i < to; i++) inv[i - from] = 1.0 / (i + 1);
        Tensor base = Tensor.of(inv, to - from).to(dtype);
        if (lambda == null) return base;
        if (lambda.size() != b) throw new IllegalArgumentException("learnable_token_idx has " + lambda.size() + " entries for mini-batch " + b);
        return Maths.relu(add(base, Layout.slice(lambda, 0, from, to)));
    }
}
