package org.ttt4j.lm.model;

import java.util.Map;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.RmsNorm;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SequenceMixer;
import org.ttt4j.lm.layers.SwiGlu;

/**
 * One residual sub-layer of a block: {@code h + PostNorm(F(Norm(h)))}, the post norm (sandwich
 * norm) optional. {@code substitutes} maps sub-layer names to MLPs that stand in for theirs (the
 * fast weights of an inner loop).
 */
public interface SubLayer {
    /** The sub-layer's name in its block, e.g. {@code "mixer"}, {@code "prime_mlp"}, {@code "mlp"}. */
    String name();

    /** h [B, T, D] -> h plus this sub-layer's update. */
    Tensor apply(Tensor h, Pass pass, Map<String, SwiGlu> substitutes);

    /**
     * Decoding one token on plain arrays, allocating nothing: {@code h[off..off+D)} += this
     * sub-layer's update for that token, continuing and updating {@code cache} exactly as
     * {@link #apply} with a {@link Pass.Decode} of one token would (up to fp32 rounding). Returns
     * false, touching nothing, when the sub-layer has no such path (the decode step then calls
     * apply). Mixing sub-layers are decoded through {@link SequenceMixer#decodeOne} instead.
     */
    default boolean decodeOne(float[] h, int off, MixerCache cache) {
        return false;
    }

    /** {@code h + postNorm(update)}, or {@code h + update} without a post norm. */
    static Tensor residual(Tensor h, Tensor update, RmsNorm postNorm) {
        return Arith.add(h, postNorm == null ? update : postNorm.apply(update));
    }

    /** The sequence mixer's sub-layer: attention or a recurrent (TTT) layer. */
    record Mixing(String name, RmsNorm norm, SequenceMixer mixer, RmsNorm postNorm) implements SubLayer {
        @Override
        public Tensor apply(Tensor h, Pass pass, Map<String, SwiGlu> substitutes) {
            Tensor x = norm.apply(h);
            Tensor update = switch (pass) {
                case Pass.Sequence s -> mixer.apply(x, s.start());
                case Pass.Decode d -> mixer.apply(x, d.cache());
                case Pass.Chunk c -> {
                    SelfAttention.Windowed a = attention("chunked passes").apply(x, c.start(), c.past());
                    c.window(a.window());
                    yield a.out();
                }
                case Pass.Frozen f -> attention("frozen-cache passes").attendFrozen(x, f.start(), f.frozen());
            };
            return residual(h, update, postNorm);
        }

        private SelfAttention attention(String what) {
            if (mixer instanceof SelfAttention a) return a;
            throw new IllegalStateException(what + " need attention blocks, not " + mixer.getClass().getSimpleName());
        }
    }

    /** A SwiGLU MLP; a substitute of the same name replaces its weights. */
    record Mlp(String name, RmsNorm norm, SwiGlu mlp, RmsNorm postNorm) implements SubLayer {
        @Override
        public Tensor apply(Tensor h, Pass pass, Map<String, SwiGlu> substitutes) {
            SwiGlu f = substitutes.getOrDefault(name, mlp);
            return residual(h, f.apply(norm.apply(h)), postNorm);
        }
    }
}
