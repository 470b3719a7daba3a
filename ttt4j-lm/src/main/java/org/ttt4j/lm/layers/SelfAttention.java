package org.ttt4j.lm.layers;

import java.util.ArrayList;
import java.util.List;
import org.ttt4j.core.ops.Attention;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.Tensor;

/**
 * Multi-head causal self-attention with RoPE (half-split pairs, the Hugging Face Llama layout),
 * optional per-head RMSNorm of q and k before RoPE (qk_norm), and an optional sliding window.
 */
public record SelfAttention(Linear q, Linear k, Linear v, Linear o, RmsNorm qNorm, RmsNorm kNorm,
                            int heads, int window, double ropeTheta) {

    public static SelfAttention create(Params p, String name, int width, int heads, int window, boolean qkNorm,
                                       double ropeTheta, double eps) {
        int d = width / heads;
        return new SelfAttention(Linear.create(p, name + ".q_proj", width, width),
                Linear.create(p, name + ".k_proj", width, width),
                Linear.create(p, name + ".v_proj", width, width),
                Linear.create(p, name + ".o_proj", width, width),
                qkNorm ? RmsNorm.create(p, name + ".q_norm", d, eps) : null,
                qkNorm ? RmsNorm.create(p, name + ".k_norm", d, eps) : null,
                heads, window, ropeTheta);
    }

    /** x [B, T, D] at positions start .. start+T-1 -> [B, T, D]. */
    public Tensor apply(Tensor x, int start) {
        int b = x.dim(0), t = x.dim(1);
        int[] pos = positions(start, t);
        Tensor qh = project(q, qNorm, x, pos), kh = project(k, kNorm, x, pos);
        Tensor vh = split(v.apply(x));
        Tensor a = Attention.attention(qh, kh, vh, true, window, 1 / Math.sqrt(qh.dim(-1)));
        return o.apply(merge(a, b, t));
    }

    /** Decoding: x [1, T, D] attends to the cache plus itself; the cache receives this step's keys. */
    public Tensor apply(Tensor x, KvCache cache) {
        int t = x.dim(1);
        int[] pos = positions(Math.toIntExact(cache.position()), t);
        Tensor qh = project(q, qNorm, x, pos), kh = project(k, kNorm, x, pos);
        Tensor vh = split(v.apply(x));
        cache.append(Layout.reshape(kh, heads, t, -1), Layout.reshape(vh, heads, t, -1));
        // Head by head over views of the cache: no copy of a long full-attention cache per token.
        Tensor qs = Layout.reshape(qh, heads, t, -1);
        List<Tensor> outs = new ArrayList<>(heads);
        double scale = 1 / Math.sqrt(qh.dim(-1));
        for (int h = 0; h < heads; h++) {
            outs.add(Attention.attention(Layout.narrow(qs, h, h + 1), cache.keysOfHead(h), cache.valuesOfHead(h), true,
                    window, scale));
        }
        Tensor a = Layout.concat(outs, 0);
        return o.apply(merge(Layout.reshape(a, 1, heads, t, -1), 1, t));
    }

    private Tensor project(Linear w, RmsNorm norm, Tensor x, int[] pos) {
        Tensor h = split(w.apply(x));
        if (norm != null) h = norm.apply(h);
        return Nn.rope(h, pos, ropeTheta, false);
    }

    /** [B, T, D] -> [B, H, T, d]. */
    private Tensor split(Tensor x) {
        int b = x.dim(0), t = x.dim(1);
        return Layout.permute(Layout.reshape(x, b, t, heads, -1), 0, 2, 1, 3);
    }

    /** [B, H, T, d] -> [B, T, D]. */
    private static Tensor merge(Tensor a, int b, int t) {
        return Layout.reshape(Layout.permute(a, 0, 2, 1, 3), b, t, -1);
    }

    private static int[] positions(int start, int t) {
        int[] p = new int[t];
        for (int i = 0; i < t; i++) p[i] = start + i;
        return p;
    }
}
