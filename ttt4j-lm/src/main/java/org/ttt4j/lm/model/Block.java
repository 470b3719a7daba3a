package org.ttt4j.lm.model;

import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.CausalConv;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.RmsNorm;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SequenceMixer;
import org.ttt4j.lm.layers.SwiGlu;
import org.ttt4j.lm.layers.ttt.TttCache;
import org.ttt4j.lm.layers.ttt.TttLayer;

/**
 * One pre-norm block: {@code h += Mixer(RMSNorm(h)); h += SwiGLU(RMSNorm(h))}, with the optional
 * sandwich norms ({@code post_norm}) on each sub-layer output before the residual add. TTT blocks
 * of the Mamba backbone first add a causal convolution: {@code h += Conv(RMSNorm(h))}. The suffix
 * blocks of a TTT-E2E model add a prime MLP before the static one: {@code h += MLP'(RMSNorm'(h))}.
 *
 * <p>Attention blocks use the Hugging Face Llama names ({@code self_attn}, {@code input_layernorm});
 * TTT blocks use the PyTorch TTT reference's names ({@code seq_modeling_block}, {@code seq_norm},
 * {@code ffn_norm}, {@code conv}), so its checkpoints load without renaming.
 */
public record Block(RmsNorm convNorm, CausalConv conv, RmsNorm mixerNorm, SequenceMixer mixer, RmsNorm mixerOutNorm,
                    RmsNorm primeNorm, SwiGlu prime, RmsNorm primeOutNorm, RmsNorm mlpNorm, SwiGlu mlp, RmsNorm mlpOutNorm) {

    /** Block {@code index} of a model with config {@code c}, its parameters drawn from (or given by) {@code p}. */
    public static Block create(Params p, ModelConfig c, int index) {
        String n = "model.layers." + index;
        Mixer kind = c.blockMixers().get(index);
        int d = c.dModel();
        double eps = c.normEps();
        return switch (kind) {
            case Mixer.Ttt ttt -> {
                var opts = c.tttSettings().options(ttt.kind(), c.ropeTheta());
                boolean conv = opts.mamba();
                yield new Block(
                        conv ? RmsNorm.create(p, n + ".conv.norm", d, eps) : null,
                        conv ? CausalConv.create(p, n + ".conv.conv", d, opts.convWidth()) : null,
                        RmsNorm.create(p, n + ".seq_norm", d, eps),
                        new TttLayer(p, n + ".seq_modeling_block", d, c.heads(), opts),
                        c.postNorm() ? RmsNorm.create(p, n + ".seq_out_norm", d, eps) : null,
                        null, null, null,
                        RmsNorm.create(p, n + ".ffn_norm", d, eps),
                        SwiGlu.create(p, n + ".mlp", d, c.dFf()),
                        c.postNorm() ? RmsNorm.create(p, n + ".mlp_out_norm", d, eps) : null);
            }
            case Mixer.FullAttention a -> attention(p, c, n, 0, false);
            case Mixer.SlidingWindow w -> attention(p, c, n, w.window(),
                    c.e2e() != null && index >= c.layers() - c.e2e().suffixBlocks(c));
        };
    }

    /** An attention block; {@code prime}: a TTT-E2E suffix block, with a prime MLP before the static one. */
    private static Block attention(Params p, ModelConfig c, String n, int window, boolean prime) {
        int d = c.dModel();
        double eps = c.normEps();
        return new Block(null, null,
                RmsNorm.create(p, n + ".input_layernorm", d, eps),
                SelfAttention.create(p, n + ".self_attn", d, c.heads(), window, c.qkNorm(), c.ropeTheta(), eps),
                c.postNorm() ? RmsNorm.create(p, n + ".attn_out_norm", d, eps) : null,
                prime ? RmsNorm.create(p, n + ".prime_norm", d, eps) : null,
                prime ? SwiGlu.create(p, n + ".prime_mlp", d, c.dFf()) : null,
                prime && c.postNorm() ? RmsNorm.create(p, n + ".prime_out_norm", d, eps) : null,
                RmsNorm.create(p, n + ".post_attention_layernorm", d, eps),
                SwiGlu.create(p, n + ".mlp", d, c.dFf()),
                c.postNorm() ? RmsNorm.create(p, n + ".mlp_out_norm", d, eps) : null);
    }

    /** Training / prefill over a whole sequence starting at position {@code start}. */
    public Tensor apply(Tensor h, int start) {
        if (conv != null) h = Arith.add(h, conv.apply(convNorm.apply(h), null).y());
        h = residual(h, mixer.apply(mixerNorm.apply(h), start), mixerOutNorm);
        return mlps(h, prime);
    }

    /** The block's output and its attention window after one chunk of a chunked pass. */
    public record Chunked(Tensor h, SelfAttention.Window window) {}

    /**
     * One chunk at positions start.. after the attention window {@code past} (null at the start), with
     * {@code fastPrime} in place of the prime MLP's weights (TTT-E2E's inner loop); gradients flow
     * through the carried window.
     */
    public Chunked apply(Tensor h, int start, SelfAttention.Window past, SwiGlu fastPrime) {
        if (!(mixer instanceof SelfAttention attention)) throw new IllegalStateException("chunked passes need attention blocks");
        SelfAttention.Windowed a = attention.apply(mixerNorm.apply(h), start, past);
        return new Chunked(mlps(residual(h, a.out(), mixerOutNorm), fastPrime), a.window());
    }

    /**
     * Tokens at positions start.. whose keys and values are already in {@code frozen} (qTTT): the
     * attention computes queries only; {@code fastPrime} stands in for the prime MLP (null: none).
     */
    public Tensor applyFrozen(Tensor h, int start, KvCache frozen, SwiGlu fastPrime) {
        if (!(mixer instanceof SelfAttention attention)) throw new IllegalStateException("frozen-cache passes need attention blocks");
        return mlps(residual(h, attention.attendFrozen(mixerNorm.apply(h), start, frozen), mixerOutNorm), fastPrime);
    }

    private Tensor mlps(Tensor h, SwiGlu primeMlp) {
        if (primeMlp != null) h = residual(h, primeMlp.apply(primeNorm.apply(h)), primeOutNorm);
        return residual(h, mlp.apply(mlpNorm.apply(h)), mlpOutNorm);
    }

    /** Decoding against this block's cache. */
    public Tensor apply(Tensor h, MixerCache cache) {
        return apply(h, cache, prime);
    }

    /** Decoding with {@code fastPrime} in place of the prime MLP (a TTT-E2E session's current weights). */
    public Tensor apply(Tensor h, MixerCache cache, SwiGlu fastPrime) {
        if (conv != null) {
            TttCache c = (TttCache) cache;
            CausalConv.Output out = conv.apply(convNorm.apply(h), c.blockConvHistory());
            c.blockConvHistory(out.history());
            h = Arith.add(h, out.y());
        }
        h = residual(h, mixer.apply(mixerNorm.apply(h), cache), mixerOutNorm);
        return mlps(h, fastPrime);
    }

    private static Tensor residual(Tensor h, Tensor update, RmsNorm postNorm) {
        return Arith.add(h, postNorm == null ? update : postNorm.apply(update));
    }
}
