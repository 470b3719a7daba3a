package org.ttt4j.lm.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

/**
 * A pretrained attention model turned into another architecture of the same family, keeping every
 * weight it has: TTT-E2E (every block sliding-window attention, a prime MLP with its norms added
 * to the last blocks), sliding-window attention, or a hybrid of sliding-window and full attention
 * blocks. The source's widths, heads, RoPE, qk-norm and sandwich norms are kept; only the mixers,
 * the window and, for TTT-E2E, the {@code e2e} section and the prime MLPs change.
 *
 * <p>With {@link PrimeInit#ZERO_OUT} (the default) the prime MLPs' output projections start at
 * zero, so the converted model's output equals the source's wherever the window covers the whole
 * context: the conversion loses nothing before fine-tuning starts.
 */
public final class Convert {
    private Convert() {}

    /** The architecture to convert to. */
    public enum Target {
        /** TTT-E2E: sliding-window attention everywhere, prime MLPs in the suffix blocks. */
        E2E,
        /** Sliding-window attention in every block. */
        SWA,
        /** Sliding-window blocks with full attention in some (the {@code hybrid} pattern). */
        HYBRID;

        public static Target parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--to: unknown \"" + s + "\" (known: e2e, swa, hybrid)");
            }
        }
    }

    /** How a new prime MLP starts. */
    public enum PrimeInit {
        /** gate and up random (normal, the config's init_std), down zero: the block's output is unchanged. */
        ZERO_OUT,
        /** A copy of the block's static MLP (the block then adds that MLP twice until training moves it). */
        COPY,
        /** All three matrices random (normal, the config's init_std). */
        RANDOM;

        public static PrimeInit parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "zero-out", "zero_out" -> ZERO_OUT;
                case "copy" -> COPY;
                case "random" -> RANDOM;
                default -> throw new IllegalArgumentException("--prime-init: unknown \"" + s + "\" (known: zero-out, copy, random)");
            };
        }
    }

    /**
     * @param to the target architecture
     * @param window keys each sliding-window query sees; null for the source's context length
     * @param chunk TTT-E2E's tokens per inner step; null for window / 8
     * @param suffixBlocks TTT-E2E's blocks with a prime MLP; null for a quarter of the blocks
     * @param primeInit how the prime MLPs start
     * @param pattern the hybrid's mixers, e.g. {@code swa:3,full:1}; null for that
     * @param seed the seed of the new random weights
     */
    public record Options(Target to, Integer window, Integer chunk, Integer suffixBlocks, PrimeInit primeInit, String pattern, long seed) {
        public Options {
            if (to == null) throw new IllegalArgumentException("convert: no target architecture");
            if (primeInit == null) primeInit = PrimeInit.ZERO_OUT;
        }

        public static Options to(Target to) {
            return new Options(to, null, null, null, PrimeInit.ZERO_OUT, null, 0);
        }
    }

    /** The default hybrid: three sliding-window blocks to one full-attention block. */
    public static final String DEFAULT_HYBRID = "swa:3,full:1";

    /**
     * The converted config of {@code source}, validated.
     *
     * @throws IllegalArgumentException when the source is not an attention model, or an option does
     *         not fit it (the message names the option)
     */
    public static ModelConfig config(ModelConfig source, Options o) {
        if (source.blockMixers().stream().anyMatch(m -> !m.name().equals("full") && !m.name().equals("swa"))) {
            throw new IllegalArgumentException("convert: the source must be an attention model (mixers full or swa), got \"" + source.mixers() + "\"");
        }
        if (!source.sections().isEmpty()) {
            throw new IllegalArgumentException("convert: the source already is a " + String.join(", ", source.sections().keySet())
                    + " model; convert starts from a plain attention model");
        }
        int window = o.window() != null ? o.window() : source.mixers().equals("swa") ? source.window() : source.context();
        if (window < 1) throw new IllegalArgumentException("--window must be >= 1, got " + window);
        if (o.to() != Target.E2E && (o.chunk() != null || o.suffixBlocks() != null || o.primeInit() != PrimeInit.ZERO_OUT)) {
            throw new IllegalArgumentException("--chunk, --suffix-blocks and --prime-init are TTT-E2E's (--to e2e)");
        }
        if (o.to() != Target.HYBRID && o.pattern() != null) throw new IllegalArgumentException("--pattern is the hybrid's (--to hybrid)");
        ModelConfig.Builder b = source.toBuilder().window(window);
        ModelConfig c = switch (o.to()) {
            case SWA -> b.mixers("swa").build();
            case HYBRID -> b.mixers(o.pattern() != null ? o.pattern() : DEFAULT_HYBRID).build();
            case E2E -> b.mixers("swa").section(E2eSettings.SECTION, new E2eSettings(o.suffixBlocks(),
                    o.chunk() != null ? o.chunk() : E2eSettings.defaultChunk(window), null, null, null)).build();
        };
        return c.validate();
    }

    /**
     * The converted model: {@link #config}'s architecture holding every weight of {@code source}
     * (copied), with the new parameters (TTT-E2E's prime MLPs and their norms) initialised as
     * {@code o.primeInit()} says.
     */
    public static Decoder convert(Decoder source, Options o) {
        ModelConfig c = config(source.config(), o);
        Decoder target = new Decoder(c, o.seed());
        Map<String, Tensor> from = source.params().all(), to = target.params().all();
        List<String> missing = new ArrayList<>();
        for (var e : from.entrySet()) {
            Tensor t = to.get(e.getKey());
            if (t == null || !java.util.Arrays.equals(t.shape(), e.getValue().shape())) missing.add(e.getKey());
            else t.assign(e.getValue().to(t.dtype()));
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("convert: the converted model has no place for " + String.join(", ", missing.subList(0, Math.min(5, missing.size()))));
        }
        for (var e : added(source, target).entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (!name.contains(".prime_")) throw new IllegalStateException("convert: unexpected new parameter " + name);
            if (!name.contains(".prime_mlp.")) continue; // the prime norms start at one, as every norm does
            switch (o.primeInit()) {
                case ZERO_OUT -> {
                    if (name.endsWith(".down_proj.weight")) t.assign(Tensor.zeros(t.dtype(), t.shape()));
                }
                case COPY -> t.assign(from.get(name.replace(".prime_mlp.", ".mlp.")).to(t.dtype()));
                case RANDOM -> { }
            }
        }
        return target;
    }

    /** The parameters of {@code target} that {@code source} does not have, by name. */
    public static Map<String, Tensor> added(Decoder source, Decoder target) {
        Map<String, Tensor> r = new LinkedHashMap<>();
        for (var e : target.params().all().entrySet()) if (!source.params().all().containsKey(e.getKey())) r.put(e.getKey(), e.getValue());
        return r;
    }
}
