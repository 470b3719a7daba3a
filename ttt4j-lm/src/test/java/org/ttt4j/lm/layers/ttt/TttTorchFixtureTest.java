package org.ttt4j.lm.layers.ttt;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.io.StateFile;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.methods.ttt.TttMethod;
import org.ttt4j.lm.methods.ttt.TttSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Mixer;
import org.ttt4j.lm.model.ModelConfig;

/**
 * ttt4j's TTT-Linear and TTT-MLP models against logits that an independent PyTorch forward pass
 * computed ({@code ttt_torch.py} of the CLI, written to the reference's conventions: its RoPE route,
 * Conv1d, eta formula and dual form), read from committed fixtures, so no torch is needed here.
 * The other TTT tests compare ttt4j's paths with each other (dual and primal, fused and composed,
 * cached and full); a convention they share (RoPE pairs or positions, the inner-loss gradient, the
 * learning rate) can only be caught against an outside implementation like this one.
 *
 * <p>Each case dir {@code torch-fixtures/<case>/} holds {@code model.safetensors} (the weights, by the
 * reference's names), {@code model-config.json} (ttt4j's ModelConfig), {@code config.json} (what the
 * torch script was told) and {@code reference.safetensors} (the tokens and torch's logits, computed
 * in float64 and stored as float32). {@code scripts/fixtures/ttt-torch-fixtures.sh} regenerates them
 * with {@code ttt4j check-torch --write-fixtures}.
 *
 * <p>Tolerance: ttt4j runs in float32, torch in float64; float32 rounding through two blocks of
 * ten tokens leaves differences of a few 1e-6 for logits of magnitude ~5 (check-torch measures
 * 2e-6 to 6e-6). {@code 1e-4 * max(1, max |logit|)} keeps a margin of ~20x over that, while a broken
 * convention (half-split RoPE pairs, positions not restarting per mini-batch, a term of the inner
 * gradient missing) moves logits by 1e-2 to 1.
 */
class TttTorchFixtureTest {
    static final String ROOT = "torch-fixtures";
    static final List<String> CASES = List.of("ttt_linear-transformer", "ttt_linear-mamba", "ttt_mlp-transformer", "ttt_mlp-mamba",
            "ttt_linear-share_qk", "ttt_mlp-use_gate-pre_conv");
    static final List<String> FILES = List.of("model.safetensors", "model-config.json", "config.json", "reference.safetensors");
    static final double RELATIVE_TOLERANCE = 1e-4;
    static final String REGENERATE = "scripts/fixtures/ttt-torch-fixtures.sh regenerates the fixtures";

    /** One case: the model's config and weights, the token ids [batch, t] and torch's logits [batch, t, vocab]. */
    record Fixture(String name, ModelConfig config, Map<String, Tensor> weights, int batch, int t, int[] tokens, float[] logits) {
        int vocab() {
            return config.vocabSize();
        }

        /** The scale of the tolerance: max(1, max |torch logit|). */
        double scale() {
            double m = 1;
            for (float v : logits) m = Math.max(m, Math.abs(v));
            return m;
        }

        /** Reads and checks the fixture files of one case dir; a missing or inconsistent file is named. */
        static Fixture load(Path dir) {
            String name = dir.getFileName().toString();
            for (String f : FILES) {
                Path p = dir.resolve(f);
                if (!Files.isRegularFile(p)) throw new IllegalStateException("fixture " + name + ": missing file " + p + " (" + REGENERATE + ")");
            }
            try {
                ModelConfig config = StateFile.read(dir.resolve("model-config.json"), ModelConfig.class).validate();
                checkTorchConfig(name, config, new ObjectMapper().readTree(dir.resolve("config.json").toFile()));
                Map<String, Tensor> weights = SafeTensors.read(dir.resolve("model.safetensors")).tensors();
                SafeTensors.Contents ref = SafeTensors.read(dir.resolve("reference.safetensors"));
                String producer = ref.metadata().getOrDefault("producer", "");
                if (!producer.startsWith("ttt_torch.py")) {
                    throw new IllegalStateException("fixture " + name + ": reference.safetensors was written by \"" + producer
                            + "\", not by ttt_torch.py (the expected values must come from torch)");
                }
                Tensor tokens = require(name, ref.tensors(), "tokens", 2);
                Tensor logits = require(name, ref.tensors(), "logits", 3);
                int batch = tokens.dim(0), t = tokens.dim(1);
                if (!Arrays.equals(logits.shape(), new int[] {batch, t, config.vocabSize()})) {
                    throw new IllegalStateException("fixture " + name + ": logits have shape " + Arrays.toString(logits.shape()) + ", expected "
                            + Arrays.toString(new int[] {batch, t, config.vocabSize()}) + " for the tokens and vocab " + config.vocabSize());
                }
                int b = TttSettings.of(config).options(InnerLoop.Kind.LINEAR, config.ropeTheta()).miniBatch();
                if (t <= b || t % b == 0) {
                    throw new IllegalStateException("fixture " + name + ": " + t + " tokens in mini-batches of " + b
                            + " do not end in a partial mini-batch after a whole one");
                }
                int[] ids = new int[batch * t];
                for (int i = 0; i < ids.length; i++) {
                    double v = tokens.get(i);
                    if (v != Math.rint(v) || v < 0 || v >= config.vocabSize()) {
                        throw new IllegalStateException("fixture " + name + ": token " + v + " at " + i + " is not an id below " + config.vocabSize());
                    }
                    ids[i] = (int) v;
                }
                return new Fixture(name, config, weights, batch, t, ids, logits.toFloatArray());
            } catch (IOException e) {
                throw new UncheckedIOException("fixture " + name + ": " + e.getMessage(), e);
            }
        }

        private static Tensor require(String name, Map<String, Tensor> tensors, String key, int rank) {
            Tensor t = tensors.get(key);
            if (t == null) throw new IllegalStateException("fixture " + name + ": reference.safetensors has no \"" + key + "\" (has " + tensors.keySet() + ")");
            if (t.rank() != rank) throw new IllegalStateException("fixture " + name + ": \"" + key + "\" has rank " + t.rank() + ", expected " + rank);
            return t;
        }

        /** config.json (what ttt_torch.py was told) must describe the same model as model-config.json. */
        private static void checkTorchConfig(String name, ModelConfig c, JsonNode torch) {
            List<Mixer> mixers = c.blockMixers();
            InnerLoop.Kind kind = mixers.isEmpty() ? null : TttMethod.kindOf(mixers.getFirst().name());
            if (kind == null || mixers.stream().anyMatch(m -> !m.equals(mixers.getFirst()))) {
                throw new IllegalStateException("fixture " + name + ": model-config.json's mixers \"" + c.mixers() + "\" are not one TTT layer kind");
            }
            TttOptions o = TttSettings.of(c).options(kind, c.ropeTheta());
            Map<String, Object> ours = Map.of("layers", c.layers(), "heads", c.heads(), "mini_batch", o.miniBatch(), "base_lr", o.baseLr(),
                    "rope_theta", c.ropeTheta(), "norm_eps", c.normEps(), "use_gate", o.useGate(), "share_qk", o.shareQk(), "pre_conv", o.preConv(),
                    "mlp", kind == InnerLoop.Kind.MLP);
            List<String> differ = new ArrayList<>();
            for (var e : new TreeMap<>(ours).entrySet()) {
                JsonNode v = torch.has(e.getKey()) || !(e.getValue() instanceof Boolean) || e.getKey().equals("mlp") ? torch.get(e.getKey())
                        : torch.get("mamba"); // older cases name the three flags by the backbone
                boolean same = v != null && switch (e.getValue()) {
                    case Boolean b -> v.isBoolean() && v.booleanValue() == b;
                    case Integer i -> v.isIntegralNumber() && v.intValue() == i;
                    case Double d -> v.isNumber() && v.doubleValue() == d;
                    default -> false;
                };
                if (!same) differ.add(e.getKey() + ": torch " + v + ", ttt4j " + e.getValue());
            }
            if (!c.tiedEmbeddings()) differ.add("tied_embeddings: ttt_torch.py ties the LM head to the embedding, model-config.json does not");
            if (!differ.isEmpty()) throw new IllegalStateException("fixture " + name + ": config.json and model-config.json disagree: " + differ);
        }
    }

    static Path root() {
        URL url = TttTorchFixtureTest.class.getResource(ROOT);
        if (url == null) {
            throw new IllegalStateException("test resource org/ttt4j/lm/layers/ttt/" + ROOT + " is missing from the classpath (" + REGENERATE + ")");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("fixture root " + url + ": " + e.getMessage(), e);
        }
    }

    static List<String> cases() {
        return CASES;
    }

    static Decoder model(Fixture f) {
        Decoder model = new Decoder(f.config(), new Params(f.weights()));
        var unused = new TreeSet<>(f.weights().keySet());
        unused.removeAll(model.params().all().keySet());
        assertTrue(unused.isEmpty(), f.name() + ": model.safetensors has tensors the model does not read (a naming mismatch?): " + unused);
        return model;
    }

    /** Worst |ttt4j - torch| of one position; fails naming case, mode, sequence, position and the values. */
    private static double compare(Fixture f, String mode, int seq, int pos, float[] got, int gotOffset) {
        int v = f.vocab(), at = (seq * f.t() + pos) * v;
        double tol = RELATIVE_TOLERANCE * f.scale(), worst = 0;
        int worstIndex = 0;
        for (int i = 0; i < v; i++) {
            double diff = Math.abs(got[gotOffset + i] - f.logits()[at + i]);
            if (!(diff <= worst)) {
                worst = diff;
                worstIndex = i;
            }
        }
        if (!(worst <= tol)) {
            fail(String.format("%s %s: sequence %d position %d (token %d, mini-batch position %d): logit %d is %.7f in ttt4j, %.7f in torch "
                            + "(|diff| %.3e > tolerance %.3e = %.0e x max(1, max |logit|))",
                    f.name(), mode, seq, pos, f.tokens()[seq * f.t() + pos], pos % miniBatch(f), worstIndex, got[gotOffset + worstIndex],
                    f.logits()[at + worstIndex], worst, tol, RELATIVE_TOLERANCE));
        }
        return worst;
    }

    private static int miniBatch(Fixture f) {
        return TttSettings.of(f.config()).options(InnerLoop.Kind.LINEAR, f.config().ropeTheta()).miniBatch();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void prefillLogitsEqualTorch(String name) {
        Fixture f = Fixture.load(root().resolve(name));
        Decoder model = model(f);
        float[] got;
        try (var g = GradMode.disabled()) {
            got = model.logits(f.tokens(), f.batch(), f.t(), 0).toFloatArray();
        }
        assertEquals(f.logits().length, got.length, f.name() + ": number of logits");
        double worst = 0;
        for (int s = 0; s < f.batch(); s++) {
            for (int p = 0; p < f.t(); p++) worst = Math.max(worst, compare(f, "prefill", s, p, got, (s * f.t() + p) * f.vocab()));
        }
        System.out.printf("%s prefill: max |ttt4j - torch| %.3e (max |logit| %.3f)%n", f.name(), worst, f.scale());
    }

    /** Every sequence decoded alone, one token at a time through the decode caches (mini-batch commits, then a partial one). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void cachedDecodingLogitsEqualTorch(String name) {
        Fixture f = Fixture.load(root().resolve(name));
        Decoder model = model(f);
        double worst = 0;
        try (var g = GradMode.disabled()) {
            for (int s = 0; s < f.batch(); s++) {
                List<MixerCache> caches = model.newCaches(1);
                for (int p = 0; p < f.t(); p++) {
                    Tensor step = model.logits(new int[] {f.tokens()[s * f.t() + p]}, caches);
                    assertArrayEquals(new int[] {1, 1, f.vocab()}, step.shape(), f.name() + ": shape of one decoding step");
                    worst = Math.max(worst, compare(f, "cached decoding", s, p, step.toFloatArray(), 0));
                }
            }
        }
        System.out.printf("%s cached decoding: max |ttt4j - torch| %.3e (max |logit| %.3f)%n", f.name(), worst, f.scale());
    }

    /** The fixture dirs are exactly the cases: none missing, none left behind that no test reads. */
    @Test
    void theFixtureDirsAreTheCases() throws IOException {
        var dirs = new TreeSet<String>();
        try (var list = Files.list(root())) {
            list.filter(Files::isDirectory).forEach(p -> dirs.add(p.getFileName().toString()));
        }
        assertEquals(new TreeSet<>(CASES), dirs, "fixture dirs under " + root() + " (" + REGENERATE + ")");
    }

    @Test
    void aMissingFixtureFileIsNamed(@TempDir Path tmp) throws IOException {
        Path src = root().resolve(CASES.getFirst()), dir = tmp.resolve(CASES.getFirst());
        Files.createDirectories(dir);
        for (String f : FILES) Files.copy(src.resolve(f), dir.resolve(f));
        assertEquals(CASES.getFirst(), Fixture.load(dir).name(), "a complete copy loads");
        for (String f : FILES) {
            Path saved = tmp.resolve("saved");
            Files.move(dir.resolve(f), saved);
            var e = assertThrows(IllegalStateException.class, () -> Fixture.load(dir));
            assertTrue(e.getMessage().contains(dir.resolve(f).toString()) && e.getMessage().contains("missing"), e.getMessage());
            Files.move(saved, dir.resolve(f));
        }
    }

    @Test
    void aReferenceNotWrittenByTorchIsRefused(@TempDir Path tmp) throws IOException {
        Path src = root().resolve(CASES.getFirst()), dir = tmp.resolve(CASES.getFirst());
        Files.createDirectories(dir);
        for (String f : FILES) Files.copy(src.resolve(f), dir.resolve(f));
        var ref = SafeTensors.read(dir.resolve("reference.safetensors"));
        SafeTensors.write(dir.resolve("reference.safetensors"), ref.tensors(), Map.of("producer", "ttt4j"));
        var e = assertThrows(IllegalStateException.class, () -> Fixture.load(dir));
        assertTrue(e.getMessage().contains("not by ttt_torch.py"), e.getMessage());
    }
}
