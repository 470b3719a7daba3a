package org.ttt4j.lm.decode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.ttt4j.core.kernel.PackedMatrix;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.Linear;
import org.ttt4j.lm.layers.RmsNorm;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.model.Block;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.SubLayer;

/**
 * A decoder whose blocks are made of attention and MLP sub-layers only, laid out for
 * {@link DecodeStep}: every weight matrix as the model stores it for inference
 * ({@link Decoder#packed}), norms and biases as plain arrays. Building one copies no fp32 matrix
 * that owns its array, so it is cheap enough to build per session.
 */
public final class DecodePlan {
    /** One residual sub-layer of a block. */
    public sealed interface Op permits Attend, Mlp, Foreign {
        /** The sub-layer's name in its block. */
        String name();
    }

    /** {@code h += PostNorm(O(attention(RoPE(Q x), RoPE(K x), V x)))} with {@code x = Norm(h)};
     * {@code rope} indexes {@link #frequencies()}. */
    public record Attend(String name, Norm norm, Norm postNorm, Proj q, Proj k, Proj v, Proj o, Norm qNorm, Norm kNorm,
                         int heads, int kvHeads, int headDim, int window, int rope) implements Op {}

    /** {@code h += PostNorm(down(silu(gate x) * up x))} with {@code x = Norm(h)}; a substitute may replace its weights. */
    public record Mlp(String name, Norm norm, Norm postNorm, PackedMatrix gate, PackedMatrix up, PackedMatrix down) implements Op {}

    /**
     * A sub-layer the step does not lay out (a TTT layer, a convolution): run through its own layer
     * code on the block's cache, between the step's regions; a mixing sub-layer's norms are kept
     * for its mixer's own one-token path ({@code SequenceMixer.decodeOne}), null otherwise.
     */
    public record Foreign(String name, SubLayer layer, Norm norm, Norm postNorm) implements Op {
        static Foreign of(SubLayer l) {
            return l instanceof SubLayer.Mixing m ? new Foreign(l.name(), l, DecodePlan.norm(m.norm()), DecodePlan.norm(m.postNorm())) : new Foreign(l.name(), l, null, null);
        }
    }

    /** An RMSNorm's scale and epsilon. */
    public record Norm(float[] weight, float eps) {}

    /** A projection: its matrix and bias (null: none). */
    public record Proj(PackedMatrix w, float[] bias) {}

    private final Decoder model;
    private final List<List<Op>> blocks;
    private final Norm finalNorm;
    private final PackedMatrix head;
    private final List<double[]> frequencies;

    private DecodePlan(Decoder model, List<List<Op>> blocks, Norm finalNorm, PackedMatrix head, List<double[]> frequencies) {
        this.model = model;
        this.frequencies = List.copyOf(frequencies);
        this.blocks = blocks;
        this.finalNorm = finalNorm;
        this.head = head;
    }

    /**
     * The plan of {@code model}: attention and MLP sub-layers laid out for the step, any other
     * sub-layer (a TTT layer, a convolution) kept as a {@link Foreign} op. Empty when no block has
     * an attention or MLP sub-layer the step covers.
     */
    public static Optional<DecodePlan> of(Decoder model) {
        Map<String, Tensor> params = model.params().all();
        List<List<Op>> blocks = new ArrayList<>();
        List<double[]> frequencies = new ArrayList<>();
        for (int i = 0; i < model.blocks().size(); i++) {
            Block b = model.blocks().get(i);
            String prefix = "model.layers." + i + ".";
            List<Op> ops = new ArrayList<>();
            for (SubLayer l : b.layers()) {
                switch (l) {
                    case SubLayer.Mixing m when m.mixer() instanceof SelfAttention a -> {
                        String p = prefix + "self_attn.";
                        if (a.q().weight() != params.get(p + "q_proj.weight")) {
                            ops.add(Foreign.of(m));
                            continue;
                        }
                        ops.add(new Attend(m.name(), norm(m.norm()), norm(m.postNorm()), proj(model, p + "q_proj", a.q()), proj(model, p + "k_proj", a.k()),
                                proj(model, p + "v_proj", a.v()), proj(model, p + "o_proj", a.o()), norm(a.qNorm()), norm(a.kNorm()),
                                a.heads(), a.kvHeads(), a.headDim(), a.window(), ropeIndex(frequencies, a.invFreq())));
                    }
                    case SubLayer.Mlp m -> {
                        String p = prefix + m.name() + ".";
                        if (m.mlp().gate().weight() != params.get(p + "gate_proj.weight")) {
                            ops.add(Foreign.of(m));
                            continue;
                        }
                        ops.add(new Mlp(m.name(), norm(m.norm()), norm(m.postNorm()), model.packed(p + "gate_proj.weight"),
                                model.packed(p + "up_proj.weight"), model.packed(p + "down_proj.weight")));
                    }
                    default -> ops.add(Foreign.of(l));
                }
            }
            blocks.add(List.copyOf(ops));
        }
        if (blocks.stream().flatMap(List::stream).allMatch(op -> op instanceof Foreign)) return Optional.empty();
        return Optional.of(new DecodePlan(model, List.copyOf(blocks), norm(model.finalNorm()), model.packed(model.headName()), frequencies));
    }

    private static Norm norm(RmsNorm n) {
        return n == null ? null : new Norm(n.weight().toFloatArray(), (float) n.eps());
    }

    private static Proj proj(Decoder model, String name, Linear l) {
        return new Proj(model.packed(name + ".weight"), l.bias() == null ? null : l.bias().toFloatArray());
    }

    /** The index of {@code f} among the distinct sets of RoPE speeds, so a step computes each angle table once. */
    private static int ropeIndex(List<double[]> seen, double[] f) {
        for (int i = 0; i < seen.size(); i++) if (Arrays.equals(seen.get(i), f)) return i;
        seen.add(f);
        return seen.size() - 1;
    }

    public Decoder model() {
        return model;
    }

    /** Each block's sub-layers in order. */
    public List<List<Op>> blocks() {
        return blocks;
    }

    /** The distinct sets of RoPE speeds ({@link Attend#rope} indexes them). */
    public List<double[]> frequencies() {
        return frequencies;
    }

    public Norm finalNorm() {
        return finalNorm;
    }

    /** The LM head [V, D]. */
    public PackedMatrix head() {
        return head;
    }

    /** Bytes of the laid-out weights one decoded token reads: every matrix once (the embedding row and foreign sub-layers aside). */
    public long weightBytes() {
        long n = head.bytes();
        for (List<Op> ops : blocks) {
            for (Op op : ops) {
                n += switch (op) {
                    case Attend a -> a.q().w().bytes() + a.k().w().bytes() + a.v().w().bytes() + a.o().w().bytes();
                    case Mlp m -> m.gate().bytes() + m.up().bytes() + m.down().bytes();
                    case Foreign f -> 0;
                };
            }
        }
        return n;
    }
}
