package org.ttt4j.lm.layers;

import java.util.ArrayList;
import java.util.List;
import org.ttt4j.core.kernel.IndexKernels;
import org.ttt4j.core.ops.Attention;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.Tensor;

/**
 * Multi-head causal self-attention with RoPE (half-split pairs, the Hugging Face Llama layout),
 * optional per-head RMSNorm of q and k before RoPE (qk_norm), and an optional sliding window.
 * Grouped-query attention: {@code kvHeads} key/value heads (dividing {@code heads}) each serve
 * {@code heads / kvHeads} query heads; the head width {@code headDim} need not be width / heads;
 * q/k/v (and o) may carry biases; {@code invFreq} are RoPE's rotation speeds, computed once
 * (scaled by {@link RopeScaling} where the config says so).
 */
public record SelfAttention(Linear q, Linear k, Linear v, Linear o, RmsNorm qNorm, RmsNorm kNorm,
                            int heads, int kvHeads, int headDim, int window, double[] invFreq) implements SequenceMixer {

    /** Which projections carry a bias: none, q/k/v (Qwen2), or all four (Llama's attention_bias). */
    public enum Bias { NONE, QKV, ALL }

    public static SelfAttention create(Params p, String name, int width, int heads, int window, boolean qkNorm,
                                       double ropeTheta, double eps) {
        return create(p, name, width, heads, heads, width / heads, window, qkNorm, Bias.NONE, ropeTheta, null, eps);
    }

    /** The general layer; parameters named as in Hugging Face Llama/Qwen ({@code q_proj}, {@code q_norm}, ...). */
    public static SelfAttention create(Params p, String name, int width, int heads, int kvHeads, int headDim, int window, boolean qkNorm,
                                       Bias bias, double ropeTheta, RopeScaling scaling, double eps) {
        if (kvHeads < 1 || heads % kvHeads != 0) throw new IllegalArgumentException(heads + " heads do not split into groups of " + kvHeads + " key/value heads");
        boolean qkvBias = bias != Bias.NONE;
        return new SelfAttention(linear(p, name + ".q_proj", width, heads * headDim, qkvBias),
                linear(p, name + ".k_proj", width, kvHeads * headDim, qkvBias),
                linear(p, name + ".v_proj", width, kvHeads * headDim, qkvBias),
                linear(p, name + ".o_proj", heads * headDim, width, bias == Bias.ALL),
                qkNorm ? RmsNorm.create(p, name + ".q_norm", headDim, eps) : null,
                qkNorm ? RmsNorm.create(p, name + ".k_norm", headDim, eps) : null,
                heads, kvHeads, headDim, window,
                scaling == null ? IndexKernels.inverseFrequencies(ropeTheta, headDim) : scaling.inverseFrequencies(ropeTheta, headDim));
    }

    private static Linear linear(Params p, String name, int in, int out, boolean bias) {
        return bias ? Linear.withBias(p, name, in, out) : Linear.create(p, name, in, out);
    }

    /** x [B, T, D] at positions start .. start+T-1 -> [B, T, D]. */
    @Override
    public Tensor apply(Tensor x, int start) {
        int t = x.dim(1);
        int[] pos = Heads.positions(start, t, 0);
        Tensor qh = project(q, qNorm, x, pos, heads), kh = project(k, kNorm, x, pos, kvHeads);
        Tensor vh = Heads.split(v.apply(x), kvHeads);
        Tensor a = Attention.attention(qh, expand(kh), expand(vh), true, window, 1 / Math.sqrt(qh.dim(-1)));
        return o.apply(Heads.merge(a));
    }

    /** Key/value heads [B, kvHeads, S, d] repeated for their query heads: [B, heads, S, d]. */
    private Tensor expand(Tensor kv) {
        if (kvHeads == heads) return kv;
        int group = heads / kvHeads;
        List<Tensor> parts = new ArrayList<>(heads);
        for (int h = 0; h < heads; h++) parts.add(Layout.slice(kv, 1, h / group, h / group + 1));
        return Layout.concat(parts, 1);
    }

    /** Keys and values (after RoPE) of the last positions seen, [B, H, s, d], kept as differentiable tensors. */
    public record Window(Tensor keys, Tensor values) {}

    /** A chunk's output and the window it leaves for the next chunk. */
    public record Windowed(Tensor out, Window window) {}

    /**
     * A chunk x [B, T, D] at positions start .. start+T-1 that also attends to {@code past} (null at the
     * start of a sequence): chunked processing where gradients flow through the carried keys and values
     * (TTT-E2E's inner loop). Returns the last {@code window} positions (all of them for full attention).
     */
    public Windowed apply(Tensor x, int start, Window past) {
        int[] pos = Heads.positions(start, x.dim(1), 0);
        Tensor kh = project(k, kNorm, x, pos, kvHeads), vh = Heads.split(v.apply(x), kvHeads);
        Tensor ks = past == null ? kh : Layout.concat(List.of(past.keys(), kh), 2);
        Tensor vs = past == null ? vh : Layout.concat(List.of(past.values(), vh), 2);
        Tensor qh = project(q, qNorm, x, pos, heads);
        Tensor a = Attention.attention(qh, expand(ks), expand(vs), true, window, 1 / Math.sqrt(qh.dim(-1)));
        int s = ks.dim(2), keep = window > 0 ? Math.min(s, window) : s;
        Window next = keep == s ? new Window(ks, vs) : new Window(Layout.slice(ks, 2, s - keep, s), Layout.slice(vs, 2, s - keep, s));
        return new Windowed(o.apply(Heads.merge(a)), next);
    }

    /** Decoding: x [1, T, D] attends to the cache plus itself; the cache receives this step's keys. */
    @Override
    public Tensor apply(Tensor x, MixerCache mixerCache) {
        if (!(mixerCache instanceof KvCache cache)) throw new IllegalArgumentException("attention needs a KvCache, got " + mixerCache.getClass().getSimpleName());
        int t = x.dim(1);
        int[] pos = Heads.positions(cache.position(), t, 0);
        Tensor qh = project(q, qNorm, x, pos, heads), kh = project(k, kNorm, x, pos, kvHeads);
        Tensor vh = Heads.split(v.apply(x), kvHeads);
        cache.append(Layout.reshape(kh, kvHeads, t, -1), Layout.reshape(vh, kvHeads, t, -1));
        // Head by head over views of the cache: no copy of a long full-attention cache per token.
        Tensor qs = Layout.reshape(qh, heads, t, -1);
        List<Tensor> outs = new ArrayList<>(heads);
        double scale = 1 / Math.sqrt(qh.dim(-1));
        int group = heads / kvHeads;
        for (int h = 0; h < heads; h++) {
            outs.add(Attention.attention(Layout.narrow(qs, h, h + 1), cache.keysOfHead(h / group), cache.valuesOfHead(h / group), true,
                    window, scale));
        }
        Tensor a = Layout.concat(outs, 0);
        return o.apply(Heads.merge(Layout.reshape(a, 1, heads, t, -1)));
    }

    /**
     * Tokens at positions start.. whose keys and values are already in {@code frozen} (a cache holding
     * every position): only the queries are computed here, so gradients reach this layer's q (and
     * through the queries the input) but the keys and values stay exactly as cached (qTTT).
     */
    public Tensor attendFrozen(Tensor x, int start, KvCache frozen) {
        int t = x.dim(1), end = start + t, from = window > 0 ? Math.max(0, start - window + 1) : 0;
        if (end > frozen.length()) throw new IllegalArgumentException("positions up to " + end + " but the cache holds " + frozen.length());
        Tensor qs = Layout.reshape(project(q, qNorm, x, Heads.positions(start, t, 0), heads), heads, t, -1);
        List<Tensor> outs = new ArrayList<>(heads);
        double scale = 1 / Math.sqrt(qs.dim(-1));
        int group = heads / kvHeads;
        for (int h = 0; h < heads; h++) {
            outs.add(Attention.attention(Layout.narrow(qs, h, h + 1), frozen.keysOfHead(h / group, from, end),
                    frozen.valuesOfHead(h / group, from, end), true, window, scale));
        }
        return o.apply(Heads.merge(Layout.reshape(Layout.concat(outs, 0), 1, heads, t, -1)));
    }

    /**
     * The attention probabilities of one token x [1, 1, D] at {@code position} over the cached keys
     * 0..position ([heads][position + 1], zero outside the window): where its heads look.
     */
    public double[][] probabilities(Tensor x, int position, KvCache frozen) {
        Tensor qs = Layout.reshape(project(q, qNorm, x, Heads.positions(position, 1, 0), heads), heads, -1);
        int d = qs.dim(-1), from = window > 0 ? Math.max(0, position - window + 1) : 0;
        double[][] p = new double[heads][position + 1];
        for (int h = 0; h < heads; h++) {
            float[] qh = Layout.slice(qs, 0, h, h + 1).toFloatArray(), keys = frozen.keysOfHead(h / (heads / kvHeads), from, position + 1).toFloatArray();
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = from; j <= position; j++) {
                double dot = 0;
                for (int i = 0; i < d; i++) dot += qh[i] * keys[(j - from) * d + i];
                p[h][j] = dot / Math.sqrt(d);
                max = Math.max(max, p[h][j]);
            }
            for (int j = from; j <= position; j++) sum += p[h][j] = Math.exp(p[h][j] - max);
            for (int j = from; j <= position; j++) p[h][j] /= sum;
        }
        return p;
    }

    @Override
    public KvCache newCache(int maxChunk) {
        return newCache(maxChunk, KvCache.Format.F32);
    }

    /** A cache for this layer storing keys and values in {@code format}. */
    public KvCache newCache(int maxChunk, KvCache.Format format) {
        return new KvCache(kvHeads, headDim, window, maxChunk, format);
    }

    private Tensor project(Linear w, RmsNorm norm, Tensor x, int[] pos, int n) {
        Tensor h = Heads.split(w.apply(x), n);
        if (norm != null) h = norm.apply(h);
        return Nn.rope(h, pos, invFreq, false);
    }
}
