package org.ttt4j.lm.methods.ttt;

import static org.ttt4j.core.ops.Arith.add;
import static org.ttt4j.core.ops.Arith.div;
import static org.ttt4j.core.ops.Arith.mul;
import static org.ttt4j.core.ops.Arith.sub;
import static org.ttt4j.core.ops.Arith.where;
import static org.ttt4j.core.ops.Linalg.matmul;

import java.util.ArrayList;
import java.util.List;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Masks;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.Tensor;

/**
 * The inner loop of TTT-Linear (ttt-methods.md section 2), written with differentiable ops so the
 * outer loop backpropagates through every inner gradient step. All tensors carry a leading axis
 * of N independent sequences-times-heads; d is the head width.
 *
 * <p>Inner model {@code f(x) = x + LN(x W + b)}; inner loss per token
 * {@code l = 1/2 || LN(k W + b) - (v - k) ||^2}; its gradient g with respect to {@code z = kW + b}
 * is taken in closed form through the LayerNorm. Inside a mini-batch every gradient is taken at
 * the mini-batch's starting weights W0 and token i uses {@code W_i = W0 - sum_{j<=i} eta_ij k_j^T g_j}.
 *
 * <p>This is the groundwork of issue #4 (the layer, its mixer, the Mamba backbone, decode cache
 * and fused kernels are not built yet).
 */
public final class TttLinearCore {
    private TttLinearCore() {}

    /**
     * Inner-model options. {@code residual}, {@code innerNorm} and {@code bias} are on in the TTT
     * layer; all off, the inner model is plain {@code f(x) = x W} with target v (Theorem 1's
     * setting; the bias then stays at its start value and receives no updates).
     */
    public record Inner(boolean residual, boolean innerNorm, boolean bias, double eps) {
        public static final Inner TTT = new Inner(true, true, true, 1e-6);
        public static final Inner PLAIN = new Inner(false, false, false, 1e-6);
    }

    /** The weights carried from one mini-batch to the next: W [N, d, d] and b [N, 1, d]. */
    public record State(Tensor w, Tensor b) {}

    /** Outputs of a sequence and the state after it. */
    public record Result(Tensor out, State state) {}

    /**
     * dl/dz for z = k W + b: through the LayerNorm in closed form,
     * {@code (d delta - sum(delta) - xh sum(delta xh)) / (d sigma)} with
     * {@code delta = (gamma xh + beta - target) gamma}; without the norm simply {@code z - target}.
     */
    static Tensor innerGradient(Tensor z, Tensor target, Tensor gamma, Tensor beta, Inner inner) {
        if (!inner.innerNorm()) return sub(z, target);
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

    /** The inner model's output for queries q given z = qW + b. */
    private static Tensor output(Tensor q, Tensor z, Tensor gamma, Tensor beta, Inner inner) {
        Tensor f = inner.innerNorm() ? Nn.layerNorm(z, gamma, beta, inner.eps()) : z;
        return inner.residual() ? add(q, f) : f;
    }

    private static Tensor target(Tensor k, Tensor v, Inner inner) {
        return inner.residual() ? sub(v, k) : v;
    }

    /**
     * Dual form over a sequence of T tokens in mini-batches of {@code eta.dim(-1)} tokens (T must
     * be a multiple; a final partial mini-batch goes through {@link #primal}).
     *
     * @param q,k,v  [N, T, d]
     * @param eta    [N, T / b, b, b] lower-triangular learning rates per mini-batch
     * @param gamma,beta inner LayerNorm scale and shift, broadcastable to [N, 1, d]
     */
    public static Result dual(Tensor q, Tensor k, Tensor v, Tensor eta, State start, Tensor gamma, Tensor beta, Inner inner) {
        int n = q.dim(0), t = q.dim(1), b = eta.dim(-1);
        if (t % b != 0) throw new IllegalArgumentException("dual form: " + t + " tokens are not whole mini-batches of " + b);
        Tensor causal = Masks.causal(b, b);
        Tensor zero = Tensor.scalar(q.dtype(), 0);
        Tensor w = start.w(), bias = start.b();
        List<Tensor> outs = new ArrayList<>();
        for (int m = 0; m < t / b; m++) {
            Tensor qm = Layout.slice(q, 1, m * b, (m + 1) * b), km = Layout.slice(k, 1, m * b, (m + 1) * b);
            Tensor vm = Layout.slice(v, 1, m * b, (m + 1) * b);
            Tensor em = Layout.reshape(Layout.slice(eta, 1, m, m + 1), n, b, b);
            Tensor g = innerGradient(add(matmul(km, w), bias), target(km, vm, inner), gamma, beta, inner);
            Tensor attn = where(causal, matmul(qm, km, false, true), zero);
            // Zbar = Q W0 - (eta o A) G + b0 - eta G
            Tensor zbar = add(sub(matmul(qm, w), matmul(mul(em, attn), g)), bias);
            if (inner.bias()) zbar = sub(zbar, matmul(em, g));
            outs.add(output(qm, zbar, gamma, beta, inner));
            Tensor last = Layout.reshape(Layout.slice(em, 1, b - 1, b), n, 1, b); // eta's last row
            w = sub(w, matmul(mul(km, Layout.reshape(last, n, b, 1)), g, true, false));
            if (inner.bias()) bias = sub(bias, matmul(last, g));
        }
        return new Result(Layout.concat(outs, 1), new State(w, bias));
    }

    /**
     * Primal form: the same computation token by token, materialising W_i (decode, and a final
     * partial mini-batch). {@code eta} is [N, b, b] for the one (possibly partial) mini-batch of
     * the t <= b tokens given.
     */
    public static Result primal(Tensor q, Tensor k, Tensor v, Tensor eta, State start, Tensor gamma, Tensor beta, Inner inner) {
        int n = q.dim(0), t = q.dim(1);
        Tensor w0 = start.w(), b0 = start.b();
        Tensor g = innerGradient(add(matmul(k, w0), b0), target(k, v, inner), gamma, beta, inner);
        List<Tensor> outs = new ArrayList<>();
        Tensor w = w0, bias = b0;
        for (int i = 0; i < t; i++) {
            Tensor ei = Layout.reshape(Layout.slice(Layout.slice(eta, 1, i, i + 1), 2, 0, i + 1), n, 1, i + 1);
            Tensor kj = Layout.slice(k, 1, 0, i + 1), gj = Layout.slice(g, 1, 0, i + 1);
            // W_i = W0 - sum_{j<=i} eta_ij k_j^T g_j ; b_i = b0 - sum_{j<=i} eta_ij g_j
            w = sub(w0, matmul(mul(kj, Layout.reshape(ei, n, i + 1, 1)), gj, true, false));
            bias = inner.bias() ? sub(b0, matmul(ei, gj)) : b0;
            Tensor qi = Layout.slice(q, 1, i, i + 1);
            outs.add(output(qi, add(matmul(qi, w), bias), gamma, beta, inner));
        }
        return new Result(Layout.concat(outs, 1), new State(w, bias));
    }

    /**
     * The learning-rate matrices: {@code eta[i][j] = max(0, 1/i + lambda_i) * etaBase * gate_j / d}
     * for j <= i (i, j 1-based inside the mini-batch), 0 above the diagonal.
     *
     * @param gate   [N, T] = sigmoid(theta_lr . x_j + b_lr), the token-dependent factor
     * @param lambda [b] learnable offsets of the 1/i schedule
     * @return [N, T / b, b, b]
     */
    public static Tensor learningRates(Tensor gate, Tensor lambda, int b, double etaBase, int d) {
        int n = gate.dim(0), t = gate.dim(1);
        if (t % b != 0) throw new IllegalArgumentException("learning rates: " + t + " tokens are not whole mini-batches of " + b);
        double[] inv = new double[b];
        for (int i = 0; i < b; i++) inv[i] = 1.0 / (i + 1);
        Tensor rowScale = Maths.relu(add(Tensor.of(inv, b).to(gate.dtype()), lambda)); // [b]
        Tensor g = Layout.reshape(gate, n, t / b, 1, b);                                 // gate_j along columns
        Tensor e = mul(mul(g, Layout.reshape(rowScale, b, 1)), etaBase / d);             // [N, T/b, b, b]
        return where(Masks.causal(b, b), e, Tensor.scalar(gate.dtype(), 0));
    }
}
