package org.ttt4j.lm.layers.ttt;

import static org.ttt4j.core.ops.Arith.add;
import static org.ttt4j.core.ops.Arith.mul;

import java.util.ArrayList;
import java.util.List;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Linalg;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.CausalConv;
import org.ttt4j.lm.layers.Heads;
import org.ttt4j.lm.layers.Linear;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.SequenceMixer;

/**
 * A TTT-Linear or TTT-MLP sequence mixer (docs/methods.md, section 2), in the order of the spec:
 * projections (or, with share_qk, one shared projection and two causal convolutions), RoPE with
 * positions restarting in each mini-batch (interleaved pairs, as the reference), the learnable
 * token-dependent learning rate, the inner loop (dual form over whole mini-batches, primal form
 * for a partial one), the output LayerNorm, the output gate (use_gate), and the output projection.
 *
 * <p>Parameter names are the PyTorch reference's ({@code seq_modeling_block.W1}, ...), with its
 * shapes: W1 [H, d, d·e], b1 [H, 1, d·e], ttt_norm_* [H, d], learnable_ttt_lr_weight [H, 1, D],
 * learnable_ttt_lr_bias [H, 1], learnable_token_idx [b], conv_* [D, 1, width].
 */
public final class TttLayer implements SequenceMixer {
    /** {@code -Dttt4j.ttt.fused=false} runs the dual form op by op instead of the fused kernel. */
    static final boolean FUSED = !"false".equals(System.getProperty("ttt4j.ttt.fused"));

    private final TttOptions opts;
    private final int heads, width, headDim;
    private final Linear q, k, v, o, g;
    private final CausalConv convQ, convK;
    private final List<Tensor> inner = new ArrayList<>();
    private final Tensor normWeight, normBias, lrWeight, lrBias, tokenIdx, postWeight, postBias;
    /** The one-token path (views of the weights, RoPE tables), built on first use; null before, or when a parameter is not fp32. */
    private volatile TttStep step;

    public TttLayer(Params p, String name, int width, int heads, TttOptions opts) {
        if (width % heads != 0) throw new IllegalArgumentException("TTT layer: width " + width + " is not divisible by " + heads + " heads");
        this.opts = opts;
        this.heads = heads;
        this.width = width;
        this.headDim = width / heads;
        if (headDim % 2 != 0) throw new IllegalArgumentException("TTT layer: head width " + headDim + " must be even for RoPE");
        String n = name + ".";
        q = Linear.create(p, n + "q_proj", width, width);
        k = opts.shareQk() ? null : Linear.create(p, n + "k_proj", width, width);
        v = Linear.create(p, n + "v_proj", width, width);
        o = Linear.create(p, n + "o_proj", width, width);
        g = opts.useGate() ? Linear.create(p, n + "g_proj", width, width) : null;
        convQ = opts.shareQk() ? CausalConv.create(p, n + "conv_q", width, opts.convWidth()) : null;
        convK = opts.shareQk() ? CausalConv.create(p, n + "conv_k", width, opts.convWidth()) : null;
        int d = headDim, hidden = d * opts.kind().expansion;
        if (opts.kind() == InnerLoop.Kind.LINEAR) {
            inner.add(p.normal(n + "W1", heads, d, d));
            inner.add(p.zeros(n + "b1", heads, 1, d));
        } else {
            inner.add(p.normal(n + "W1", heads, d, hidden));
            inner.add(p.zeros(n + "b1", heads, 1, hidden));
            inner.add(p.normal(n + "W2", heads, hidden, d));
            inner.add(p.zeros(n + "b2", heads, 1, d));
        }
        normWeight = p.ones(n + "ttt_norm_weight", heads, d);
        normBias = p.zeros(n + "ttt_norm_bias", heads, d);
        lrWeight = opts.learnableLr() ? p.normal(n + "learnable_ttt_lr_weight", heads, 1, width) : null;
        lrBias = opts.learnableLr() ? p.zeros(n + "learnable_ttt_lr_bias", heads, 1) : null;
        tokenIdx = opts.learnableLr() ? p.zeros(n + "learnable_token_idx", opts.miniBatch()) : null;
        postWeight = p.ones(n + "post_norm.weight", width);
        postBias = p.zeros(n + "post_norm.bias", width);
    }

    public TttOptions options() {
        return opts;
    }

    @Override
    public Tensor apply(Tensor x, int start) {
        if (start % opts.miniBatch() != 0) {
            throw new IllegalArgumentException("TTT layer: a sequence must start at a mini-batch boundary, got position " + start);
        }
        return run(x, null);
    }

    @Override
    public Tensor apply(Tensor x, MixerCache mixerCache) {
        if (!(mixerCache instanceof TttCache cache)) {
            throw new IllegalArgumentException("TTT layer needs a TttCache, got " + mixerCache.getClass().getSimpleName());
        }
        if (x.dim(0) != 1) throw new IllegalArgumentException("TTT decoding runs one sequence, got batch " + x.dim(0));
        return run(x, cache);
    }

    /**
     * One token on arrays ({@link SequenceMixer#decodeOne}) through {@link TttStep}: every
     * configuration (TTT-Linear and TTT-MLP, share_qk, use_gate, inner norm and learnable rates on
     * or off) with fp32 parameters and state; false (the tensor path) for other dtypes and while
     * gradients are recorded. The pre_conv convolution is a sub-layer of its own, with its own
     * one-token path.
     */
    @Override
    public boolean decodeOne(float[] x, float[] out, MixerCache mixerCache) {
        if (!(mixerCache instanceof TttCache cache) || GradMode.isEnabled()) return false;
        TttStep s = step;
        if (s == null) {
            s = TttStep.of(opts, heads, width, q, k, v, o, g, convQ, convK, normWeight, normBias, lrWeight, lrBias, tokenIdx, postWeight, postBias);
            if (s == null) return false;
            step = s;
        }
        return s.run(x, out, cache);
    }

    @Override
    public TttCache newCache(int maxChunk) {
        int[] history = {1, opts.convWidth() - 1, width};
        return new TttCache(InnerLoop.State.fresh(startWeights(1)), opts.shareQk() ? history : null, opts.preConv() ? history : null);
    }

    /** x [B, T, D]; with a cache, continues its sequence and updates it. */
    private Tensor run(Tensor x, TttCache cache) {
        int bsz = x.dim(0), t = x.dim(1), b = opts.miniBatch();
        long position = cache == null ? 0 : cache.position;
        Tensor xq, xk;
        if (opts.shareQk()) {
            Tensor xqk = q.apply(x);
            Tensor history = cache == null ? null : cache.qkHistory();
            CausalConv.Output cq = convQ.apply(xqk, history);
            xq = cq.y();
            xk = convK.apply(xqk, history).y();
            if (cache != null) cache.qkHistory(cq.history());
        } else {
            xq = q.apply(x);
            xk = k.apply(x);
        }
        int[] pos = Heads.positions(position, t, b);
        Tensor qh = perHead(Nn.rope(Heads.split(xq, heads), pos, opts.ropeTheta(), true));
        Tensor kh = perHead(Nn.rope(Heads.split(xk, heads), pos, opts.ropeTheta(), true));
        Tensor vh = perHead(Heads.split(v.apply(x), heads));
        Tensor rates = rates(x);
        Tensor gamma = perHeadRow(normWeight, bsz), beta = perHeadRow(normBias, bsz);
        InnerLoop.State state = cache == null ? InnerLoop.State.fresh(startWeights(bsz)) : cache.state();
        InnerLoop.Inner in = opts.inner();

        List<Tensor> outs = new ArrayList<>();
        int offset = (int) (position % b), i = 0;
        if (offset > 0) { // finish the mini-batch the cache is in
            int head = Math.min(t, b - offset);
            var r = primal(tokens(qh, 0, head), tokens(kh, 0, head), tokens(vh, 0, head), scales(offset, offset + head),
                    tokens(rates, 0, head), state, gamma, beta, in);
            outs.add(r.out());
            state = offset + head == b ? r.state().commit(scales(b - 1, b)) : r.state();
            i = head;
        }
        int whole = (t - i) / b * b;
        if (whole > 0) {
            Tensor qs = tokens(qh, i, i + whole), ks = tokens(kh, i, i + whole), vs = tokens(vh, i, i + whole);
            Tensor cs = tokens(rates, i, i + whole), s = scales(0, b);
            var r = FUSED && TttFusedKernel.supports(in) ? TttFusedKernel.dual(qs, ks, vs, s, cs, state, gamma, beta, in)
                    : InnerLoop.dual(qs, ks, vs, s, cs, state, gamma, beta, in);
            outs.add(r.out());
            state = r.state();
            i += whole;
        }
        if (i < t) { // a partial mini-batch: primal form, its sums carried in the state
            var r = primal(tokens(qh, i, t), tokens(kh, i, t), tokens(vh, i, t), scales(0, t - i), tokens(rates, i, t), state, gamma, beta, in);
            outs.add(r.out());
            state = r.state();
        }
        if (cache != null) {
            cache.state(state);
            cache.position = position + t;
        }
        Tensor y = Heads.merge(Layout.reshape(outs.size() == 1 ? outs.get(0) : Layout.concat(outs, 1), bsz, heads, t, headDim));
        y = Nn.layerNorm(y, postWeight, postBias, opts.eps());
        if (opts.useGate()) y = mul(Maths.gelu(g.apply(x)), y);
        return o.apply(y);
    }

    /** The primal form; one token of inference in fp32 takes the fused step (training and other dtypes go op by op). */
    private static InnerLoop.Result primal(Tensor q, Tensor k, Tensor v, Tensor s, Tensor c, InnerLoop.State state, Tensor gamma, Tensor beta,
                                           InnerLoop.Inner in) {
        if (FUSED && q.dim(1) == 1 && !GradMode.isEnabled() && TttFusedKernel.supports(in) && q.dtype() == DType.FP32) {
            return TttFusedKernel.step(q, k, v, s, c, state, gamma, beta, in);
        }
        return InnerLoop.primal(q, k, v, s, c, state, gamma, beta, in);
    }

    /** [B, H, T, d] -> [B·H, T, d]. */
    private Tensor perHead(Tensor a) {
        return Layout.reshape(a, -1, a.dim(2), a.dim(3));
    }

    private static Tensor tokens(Tensor a, int from, int to) {
        return from == 0 && to == a.dim(1) ? a : Layout.slice(a, 1, from, to);
    }

    private Tensor scales(int from, int to) {
        return InnerLoop.indexScales(tokenIdx, opts.miniBatch(), from, to, normWeight.dtype());
    }

    /** Per-head rows [H, d] broadcast to [B·H, 1, d]. */
    private Tensor perHeadRow(Tensor p, int bsz) {
        return Layout.reshape(Reduce.broadcastTo(Layout.reshape(p, 1, heads, 1, p.dim(-1)), new int[] {bsz, heads, 1, p.dim(-1)}),
                bsz * heads, 1, p.dim(-1));
    }

    /** The initial inner weights W1, b1 (W2, b2) of every head, repeated for B sequences: [B·H, ...]. */
    private List<Tensor> startWeights(int bsz) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor w : inner) {
            int[] s = w.shape();
            out.add(Layout.reshape(Reduce.broadcastTo(Layout.reshape(w, 1, s[0], s[1], s[2]), new int[] {bsz, s[0], s[1], s[2]}),
                    bsz * s[0], s[1], s[2]));
        }
        return out;
    }

    /**
     * The token-dependent rates c_j = eta_base · sigmoid(theta_lr · x_j + b_lr) / d per head
     * ([B·H, T]); without the learnable gate simply eta_base / d.
     */
    private Tensor rates(Tensor x) {
        int bsz = x.dim(0), t = x.dim(1);
        double scale = opts.baseLr() / headDim;
        if (lrWeight == null) return Tensor.full(x.dtype(), scale, bsz * heads, t);
        Tensor logits = add(Linalg.matmul(x, Layout.reshape(lrWeight, heads, width), false, true), Layout.reshape(lrBias, heads));
        Tensor gate = mul(Maths.sigmoid(logits), scale);                       // [B, T, H]
        return Layout.reshape(Layout.permute(gate, 0, 2, 1), bsz * heads, t);
    }
}
