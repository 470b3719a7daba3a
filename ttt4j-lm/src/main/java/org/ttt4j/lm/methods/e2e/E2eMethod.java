package org.ttt4j.lm.methods.e2e;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.methods.MethodOption;
import org.ttt4j.lm.methods.MethodSession;
import org.ttt4j.lm.methods.OptionValues;
import org.ttt4j.lm.methods.TrainingStep;
import org.ttt4j.lm.model.BlockBuilder;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.SubLayer;

/**
 * TTT-E2E (docs/methods.md section 3): a sliding-window Transformer whose last blocks carry a
 * prime MLP that takes an SGD step per chunk of the sequence it reads, its initial weights
 * meta-learned through that inner loop. Governs every model whose config has an {@code e2e}
 * section ({@link E2eSettings}): trained through {@link E2eLoop#loss}, scored through
 * {@link E2eLoop#tokenLosses}, read by an {@link E2eSession}.
 */
public final class E2eMethod implements Method {
    @Override public String name() { return "e2e"; }
    @Override public String title() { return "TTT-E2E"; }
    @Override public String summary() { return "sliding-window blocks whose suffix prime MLPs learn from every chunk they read, meta-learned end to end"; }
    @Override public String section() { return E2eSettings.SECTION; }

    static final List<MethodOption> OPTIONS = List.of(
            MethodOption.flag("--e2e", "TTT-E2E: sliding-window blocks with qk_norm and sandwich norms, prime MLPs in the suffix"
                    + " blocks, trained through the inner loop (needs --mixers swa; RoPE theta 500000 unless --rope-theta or --config; default: off)"),
            MethodOption.of("--e2e-suffix-blocks", Integer.class, "TTT-E2E: blocks with a prime MLP (default: layers / 4)"),
            MethodOption.of("--e2e-chunk", Integer.class, "TTT-E2E: tokens per inner step (default: window / 8, the official k = 8b)"),
            MethodOption.of("--e2e-inner-lr", Double.class, "TTT-E2E: inner SGD learning rate (default: 1.0)"),
            MethodOption.flag("--e2e-first-order", "TTT-E2E: treat inner gradients as constants (first-order meta-learning; default: off, second order)"),
            MethodOption.of("--e2e-width-multiple", Integer.class, "TTT-E2E: round the matched MLP width up to a multiple of this"
                    + " (the official code uses 128; default: 1, which keeps the parameter count matched at small widths)"));

    @Override
    public List<MethodOption> trainOptions() {
        return OPTIONS;
    }

    /**
     * With {@code --e2e}: the TTT-E2E model of {@code c} at the baseline's parameter count (every
     * MLP shrunk to make room for the prime MLPs), its chunk written into the config so the file
     * says what the model was trained with.
     */
    @Override
    public ModelConfig configure(ModelConfig c, OptionValues v, boolean fromFile, PrintStream out) {
        if (!v.given("--e2e")) {
            for (MethodOption o : OPTIONS) {
                if (v.given(o.name())) throw new IllegalArgumentException(o.name() + ": --e2e-* options need --e2e");
            }
            return c;
        }
        if (!v.given("--rope-theta") && !fromFile) c = c.withRopeTheta(E2eSettings.ROPE_THETA);
        Integer chunk = v.get("--e2e-chunk", Integer.class), multiple = v.get("--e2e-width-multiple", Integer.class);
        int widthMultiple = multiple == null ? 1 : multiple;
        ModelConfig baseline = c.withNorms(true, true);
        var settings = new E2eSettings(v.get("--e2e-suffix-blocks", Integer.class), chunk != null ? chunk : E2eSettings.defaultChunk(c.window()),
                v.get("--e2e-inner-lr", Double.class), null, v.given("--e2e-first-order") ? true : null);
        ModelConfig e2e = settings.matched(c, widthMultiple);
        out.printf("TTT-E2E: MLP width %d -> %d %s (%,d vs %,d parameters)%n", baseline.dFf(), e2e.dFf(),
                widthMultiple == 1 ? "so that the model keeps its baseline's parameter count"
                        : "(the matched width rounded up to a multiple of " + widthMultiple + "; the baseline's count is exceeded)",
                new Decoder(e2e.validate(), 0).params().count(), new Decoder(baseline.validate(), 0).params().count());
        return e2e;
    }

    @Override
    public String describe(ModelConfig c) {
        E2eSettings e = E2eSettings.of(c);
        return String.format("TTT-E2E (swa-%d, %d of %d blocks learn, inner lr %s)", c.window(), e.suffixBlocks(c), c.layers(), e.innerLearningRate());
    }

    @Override
    public boolean governs(ModelConfig c) {
        return c.sections().containsKey(E2eSettings.SECTION);
    }

    /** A suffix block's prime MLP, before its static MLP: {@code h += MLP'(RMSNorm'(h))}. */
    @Override
    public void addBeforeMlp(BlockBuilder b) {
        ModelConfig c = b.config();
        E2eSettings e = E2eSettings.of(c);
        if (e == null || b.index() < c.layers() - e.suffixBlocks(c)) return;
        b.add(new SubLayer.Mlp(E2eLoop.PRIME, b.norm("prime_norm"), b.swiGlu("prime_mlp"), b.postNorm("prime_out_norm")));
    }

    @Override
    public void validate(ModelConfig c) {
        E2eSettings e = E2eSettings.of(c);
        if (e != null) e.validate(c);
    }

    @Override
    public Tensor trainingLoss(Decoder model, int[] ids, int[] targets, int batch, int t, TrainingStep step) {
        return E2eLoop.loss(model, ids, targets, batch, t, E2eLoop.Options.of(model.config(), step.innerLrMultiplier()));
    }

    @Override
    public float[] tokenLosses(Decoder model, int[] tokens, int chunk) {
        if (tokens.length < 2) return new float[0];
        return E2eLoop.tokenLosses(model, tokens, E2eLoop.Options.of(model.config(), 1.0));
    }

    @Override
    public MethodSession openSession(Decoder model, int maxChunk) {
        return session(new E2eSession(model, maxChunk), maxChunk);
    }

    @Override
    public MethodSession loadSession(Decoder model, Path file) throws IOException {
        E2eSession s = E2eSession.load(model, file);
        return session(s, s.maxChunk());
    }

    private static MethodSession session(E2eSession s, int maxChunk) {
        return new MethodSession() {
            @Override public Tensor feed(int[] ids) { return s.feed(ids); }
            @Override public long position() { return s.position(); }
            @Override public long stateFloats() { return s.stateFloats(); }
            @Override public int maxChunk() { return maxChunk; }
            @Override public float[] lastLogits() { return s.lastLogits(); }
            @Override public void save(Path file) throws IOException { s.save(file); }
            @Override public MethodSession fork() { return session(s.fork(), maxChunk); }
        };
    }
}
