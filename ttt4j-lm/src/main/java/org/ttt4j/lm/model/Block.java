package org.ttt4j.lm.model;

import java.util.List;
import java.util.Map;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SwiGlu;

/**
 * One block: an ordered list of residual sub-layers, each {@code h += F(Norm(h))}. A Llama block
 * is {@code [mixer, mlp]}; a TTT block of the Mamba backbone starts with a causal convolution; a
 * TTT-E2E suffix block has a prime MLP before the static one. Which sub-layers a block has is
 * decided by the registered methods ({@link ModelPart}) when the model is built.
 */
public record Block(List<SubLayer> layers) {
    public Block {
        layers = List.copyOf(layers);
    }

    /** The block run by {@code pass}, with {@code substitutes} standing in for the MLPs of their names. */
    public Tensor apply(Tensor h, Pass pass, Map<String, SwiGlu> substitutes) {
        for (SubLayer l : layers) h = l.apply(h, pass, substitutes);
        return h;
    }

    /** Training / prefill over a whole sequence starting at position {@code start}. */
    public Tensor apply(Tensor h, int start) {
        return apply(h, new Pass.Sequence(start), Map.of());
    }

    /** Decoding against this block's cache. */
    public Tensor apply(Tensor h, MixerCache cache) {
        return apply(h, new Pass.Decode(cache), Map.of());
    }

    /** The block's output and its attention window after one chunk of a chunked pass. */
    public record Chunked(Tensor h, SelfAttention.Window window) {}

    /** One chunk after the attention window {@code past} (null at the start); see {@link Pass.Chunk}. */
    public Chunked apply(Tensor h, int start, SelfAttention.Window past, Map<String, SwiGlu> substitutes) {
        Pass.Chunk pass = new Pass.Chunk(start, past);
        Tensor out = apply(h, pass, substitutes);
        return new Chunked(out, pass.window());
    }

    /** Tokens whose keys and values are already in {@code frozen} (qTTT); see {@link Pass.Frozen}. */
    public Tensor applyFrozen(Tensor h, int start, KvCache frozen, Map<String, SwiGlu> substitutes) {
        return apply(h, new Pass.Frozen(start, frozen), substitutes);
    }

    /** The sequence mixer's sub-layer. */
    public SubLayer.Mixing mixing() {
        for (SubLayer l : layers) if (l instanceof SubLayer.Mixing m) return m;
        throw new IllegalStateException("block has no sequence mixer");
    }

    /** The MLP sub-layer named {@code name} ({@code "mlp"}, {@code "prime_mlp"}), or null. */
    public SubLayer.Mlp mlp(String name) {
        for (SubLayer l : layers) if (l instanceof SubLayer.Mlp m && m.name().equals(name)) return m;
        return null;
    }

    /** Whether every sub-layer is attention or an MLP (no recurrent state besides a KV cache). */
    public boolean attentionOnly() {
        return layers.stream().allMatch(l -> l instanceof SubLayer.Mlp
                || l instanceof SubLayer.Mixing m && m.mixer() instanceof SelfAttention);
    }
}
