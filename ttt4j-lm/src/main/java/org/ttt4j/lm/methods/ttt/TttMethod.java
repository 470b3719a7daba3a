package org.ttt4j.lm.methods.ttt;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.kernel.DecodeKernels;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.CausalConv;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.RmsNorm;
import org.ttt4j.lm.layers.SwiGlu;
import org.ttt4j.lm.layers.ttt.InnerLoop;
import org.ttt4j.lm.layers.ttt.TttCache;
import org.ttt4j.lm.layers.ttt.TttLayer;
import org.ttt4j.lm.layers.ttt.TttOptions;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.methods.MethodOption;
import org.ttt4j.lm.methods.OptionValues;
import org.ttt4j.lm.model.BlockBuilder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Pass;
import org.ttt4j.lm.model.SubLayer;

/**
 * A TTT layer as a block's mixer (docs/methods.md section 2): its hidden state is the weights of
 * an inner model trained by a gradient step per mini-batch while it reads. The blocks use the
 * PyTorch TTT reference's names ({@code seq_modeling_block}, {@code seq_norm}, {@code ffn_norm},
 * {@code conv}), so its checkpoints load without renaming; {@code pre_conv} (part of the Mamba
 * backbone) adds a causal convolution before the layer. Settings: the config's {@code ttt} section ({@link TttSettings}).
 */
public abstract sealed class TttMethod implements Method permits TttMethod.Linear, TttMethod.Mlp {
    private final InnerLoop.Kind kind;

    TttMethod(InnerLoop.Kind kind) {
        this.kind = kind;
    }

    /** The inner model of mixer {@code mixer}: LINEAR for ttt_linear, MLP for ttt_mlp, null for any other mixer. */
    public static InnerLoop.Kind kindOf(String mixer) {
        return switch (mixer) {
            case "ttt_linear" -> InnerLoop.Kind.LINEAR;
            case "ttt_mlp" -> InnerLoop.Kind.MLP;
            default -> null;
        };
    }

    @Override public List<String> mixerNames() { return List.of(name()); }
    @Override public String section() { return TttSettings.SECTION; }

    @Override
    public void addMixer(BlockBuilder b, String mixer) {
        ModelConfig c = b.config();
        TttOptions opts = TttSettings.of(c).options(kind, c.ropeTheta());
        if (opts.preConv()) b.add(new Conv(b.norm("conv.norm"), CausalConv.create(b.params(), b.name("conv.conv"), c.dModel(), opts.convWidth())));
        b.add(new SubLayer.Mixing("mixer", b.norm("seq_norm"), new TttLayer(b.params(), b.name("seq_modeling_block"), c.dModel(), c.heads(), opts),
                b.postNorm("seq_out_norm")));
        b.mlpNormName("ffn_norm");
    }

    static final List<MethodOption> OPTIONS = List.of(
            MethodOption.of("--ttt-mini-batch", Integer.class, "TTT layers: tokens per inner step b (default: 16)"),
            MethodOption.of("--ttt-backbone", String.class, "TTT layers: transformer or mamba, shorthand for the three flags below all"
                    + " off or all on (default: transformer)"),
            MethodOption.of("--ttt-use-gate", Boolean.class, "TTT layers: GELU output gate, true or false (default: the backbone's)"),
            MethodOption.of("--ttt-share-qk", Boolean.class, "TTT layers: one q/k projection through two causal convolutions, true or false"
                    + " (default: the backbone's)"),
            MethodOption.of("--ttt-pre-conv", Boolean.class, "TTT layers: causal convolution before the TTT layer, true or false"
                    + " (default: the backbone's)"),
            MethodOption.of("--ttt-base-lr", Double.class, "TTT layers: eta_base (default: 1.0 for ttt_linear, 0.1 for ttt_mlp)"),
            MethodOption.of("--ttt-inner-norm", Boolean.class, "TTT layers: inner LayerNorm and residual, true or false (default: true)"),
            MethodOption.of("--ttt-learnable-lr", Boolean.class, "TTT layers: learnable token-dependent eta, true or false (default: true)"));

    @Override
    public List<MethodOption> trainOptions() {
        return OPTIONS;
    }

    /** The {@code ttt} section with the given {@code --ttt-*} values in place of the config's. */
    @Override
    public ModelConfig configure(ModelConfig c, OptionValues v, boolean fromFile, PrintStream out) {
        if (OPTIONS.stream().noneMatch(o -> v.given(o.name()))) return c;
        TttSettings t = TttSettings.of(c);
        return c.withSection(TttSettings.SECTION, new TttSettings(
                or(v.get("--ttt-mini-batch", Integer.class), t.miniBatch()), or(v.get("--ttt-base-lr", Double.class), t.baseLr()),
                or(v.get("--ttt-backbone", String.class), t.backbone()), or(v.get("--ttt-inner-norm", Boolean.class), t.innerNorm()),
                or(v.get("--ttt-learnable-lr", Boolean.class), t.learnableLr()), t.convWidth(),
                or(v.get("--ttt-use-gate", Boolean.class), t.useGate()), or(v.get("--ttt-share-qk", Boolean.class), t.shareQk()),
                or(v.get("--ttt-pre-conv", Boolean.class), t.preConv())));
    }

    private static <T> T or(T given, T otherwise) {
        return given != null ? given : otherwise;
    }

    @Override
    public void validate(ModelConfig c) {
        TttSettings s = c.section(TttSettings.SECTION, TttSettings.class);
        if (s != null) s.validate();
    }

    /** TTT-Linear: the inner model is a linear map. */
    public static final class Linear extends TttMethod {
        public Linear() { super(InnerLoop.Kind.LINEAR); }
        @Override public String name() { return "ttt_linear"; }
        @Override public String title() { return "TTT-Linear"; }
        @Override public String summary() { return "a linear inner model trained by a gradient step per mini-batch while it reads"; }
    }

    /** TTT-MLP: the inner model is a two-layer MLP. */
    public static final class Mlp extends TttMethod {
        public Mlp() { super(InnerLoop.Kind.MLP); }
        @Override public String name() { return "ttt_mlp"; }
        @Override public String title() { return "TTT-MLP"; }
        @Override public String summary() { return "a two-layer MLP inner model trained by a gradient step per mini-batch while it reads"; }
    }

    /** The causal convolution before the TTT layer (pre_conv, part of the Mamba backbone): {@code h += Conv(RMSNorm(h))}; its history lives in the block's TTT cache. */
    record Conv(RmsNorm norm, CausalConv conv) implements SubLayer {
        @Override public String name() { return "conv"; }

        @Override
        public Tensor apply(Tensor h, Pass pass, Map<String, SwiGlu> substitutes) {
            return switch (pass) {
                case Pass.Sequence s -> SubLayer.residual(h, conv.apply(norm.apply(h), null).y(), null);
                case Pass.Decode d -> {
                    TttCache c = (TttCache) d.cache();
                    CausalConv.Output out = conv.apply(norm.apply(h), c.blockConvHistory());
                    c.blockConvHistory(out.history());
                    yield SubLayer.residual(h, out.y(), null);
                }
                case Pass.Chunk c -> throw new IllegalStateException("chunked passes need attention blocks");
                case Pass.Frozen f -> throw new IllegalStateException("frozen-cache passes need attention blocks");
            };
        }

        /** One token on arrays: RMSNorm, the convolution on the cache's own history, the residual; fp32 weights, no gradient recorded. */
        @Override
        public boolean decodeOne(float[] h, int off, MixerCache cache) {
            if (!(cache instanceof TttCache c) || GradMode.isEnabled()) return false;
            Tensor nw = norm.weight();
            if (!fp32(nw) || nw.offset() != 0 || !fp32(conv.weight()) || !fp32(conv.bias())) return false;
            float[] history = c.blockConvHistoryArray();
            if (history == null) return false;
            int d = nw.size();
            float[] x = c.blockConvScratch(2 * d);
            DecodeKernels.rmsNorm(h, off, nw.f32(), x, 0, d, (float) norm.eps());
            conv.output(x, 0, history, x, d, 0, d);
            conv.advance(x, 0, history, 0, d);
            for (int i = 0; i < d; i++) h[off + i] += x[d + i];
            return true;
        }

        private static boolean fp32(Tensor t) {
            return t.dtype() == DType.FP32;
        }
    }
}
