package org.ttt4j.lm.api;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.methods.ttt.TttSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

/**
 * Sessions of every kind of model: a state saved after reading A and loaded again reads B exactly as
 * the uninterrupted session does, a fork continues exactly as the original, and a state is refused by
 * a model it does not belong to.
 */
class SessionStateTest {
    /** Full attention, a sliding-window hybrid, TTT-Linear, TTT-MLP on the Mamba backbone, TTT-E2E. */
    static final List<String> KINDS = List.of("full", "swa:1,full:1", "ttt_linear", "ttt_mlp_mamba", "e2e");

    static Decoder model(String kind) {
        ModelConfig tiny = Presets.byName("tiny");
        ModelConfig c = switch (kind) {
            case "e2e" -> new E2eSettings(1, 4, 1.0, 1.0, null).matched(tiny.withMixers("swa", 8));
            case "ttt_mlp_mamba" -> tiny.withMixers("ttt_mlp", 8).withSection("ttt", new TttSettings(8, null, "mamba", null, null, null));
            default -> tiny.withMixers(kind, 8);
        };
        return new Decoder(c.validate(), 3);
    }

    static int[] ids(long seed, int n) {
        var rng = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rng.nextInt(256);
        return t;
    }

    @Test
    void savedLoadedAndForkedSessionsContinueBitForBit(@TempDir Path dir) throws Exception {
        int[] a = ids(1, 101), b = ids(2, 45);
        for (String kind : KINDS) {
            LanguageModel lm = LanguageModel.of(model(kind), ByteTokenizer.instance());
            Session original = lm.session().feed(a);
            assertEquals(a.length, original.position(), kind);
            Session fork = original.fork();
            Path file = dir.resolve(kind.replace(':', '_') + ".safetensors");
            original.save(file);
            Session loaded = lm.loadSession(file);
            assertEquals(a.length, loaded.position(), kind);
            assertArrayEquals(original.lastLogits(), loaded.lastLogits(), kind);

            float[][] expected = original.feedLogits(b);
            assertEquals(a.length, fork.position(), kind + ": the fork is independent of the original");
            assertBitIdentical(expected, loaded.feedLogits(b), kind + " (loaded)");
            assertBitIdentical(expected, fork.feedLogits(b), kind + " (fork)");

            // The same text read in one go: equal up to the rounding of other chunkings (the dual and primal forms of TTT).
            int[] ab = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, ab, a.length, b.length);
            float[][] whole = lm.session().feedLogits(ab);
            for (int i = 0; i < b.length; i++) {
                for (int v = 0; v < expected[i].length; v++) assertEquals(expected[i][v], whole[a.length + i][v], 2e-4, kind + " token " + i);
            }

            // Continuations (sampled) of the original, of a second fork and of a loaded copy are the same tokens.
            var options = new SamplingOptions(1.0, 0, 1, 1.2, 9, 12, List.of());
            Session fork2 = original.fork();
            original.save(file);
            Session loaded2 = lm.loadSession(file);
            StringBuilder streamed = new StringBuilder();
            var out = original.generate("ab", options, streamed::append);
            assertEquals(out.text(), streamed.toString(), kind);
            assertArrayEquals(out.tokens(), fork2.generate("ab", options, null).tokens(), kind + " (fork)");
            assertArrayEquals(out.tokens(), loaded2.generate("ab", options, null).tokens(), kind + " (loaded)");
            long expectedPosition = a.length + b.length + 2 + out.tokens().length;
            assertEquals(expectedPosition, original.position(), kind + ": the session read the prompt and what it generated");
            assertEquals(expectedPosition, fork2.position(), kind);
            assertBitIdentical(new float[][] {original.lastLogits()}, new float[][] {fork2.lastLogits()}, kind + " after generating");
        }
    }

    @Test
    void aStateIsRefusedByAnotherModel(@TempDir Path dir) throws Exception {
        var tok = ByteTokenizer.instance();
        for (String kind : KINDS) {
            Path file = dir.resolve("s.safetensors");
            LanguageModel.of(model(kind), tok).session().feed(ids(3, 20)).save(file);
            for (String other : KINDS) {
                if (other.equals(kind)) continue;
                var e = assertThrows(IllegalArgumentException.class, () -> LanguageModel.of(model(other), tok).loadSession(file), kind + " into " + other);
                assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
                boolean e2eInvolved = kind.equals("e2e") || other.equals("e2e");
                assertTrue(e.getMessage().contains(e2eInvolved ? "format" : "different model"), kind + " into " + other + ": " + e.getMessage());
            }
        }
        // Another size of the same method: the differing field is named.
        Path file = dir.resolve("full.safetensors");
        LanguageModel.of(model("full"), tok).session().feed(ids(3, 20)).save(file);
        Decoder wider = new Decoder(Presets.byName("tiny").withFeedForward(96), 3);
        var e = assertThrows(IllegalArgumentException.class, () -> LanguageModel.of(wider, tok).loadSession(file));
        assertTrue(e.getMessage().contains("different model") && e.getMessage().contains("d_ff: 96 vs 64"), e.getMessage());
    }

    @Test
    void aDamagedStateNamesTheFileAndField(@TempDir Path dir) throws Exception {
        var tok = ByteTokenizer.instance();
        for (String kind : List.of("full", "ttt_mlp_mamba")) {
            LanguageModel lm = LanguageModel.of(model(kind), tok);
            Path good = dir.resolve("good.safetensors"), bad = dir.resolve("bad.safetensors");
            lm.session().feed(ids(4, 30)).save(good);
            var in = SafeTensors.read(good);
            String field = kind.equals("full") ? "cache.1.keys" : "cache.1.conv_history";

            var missing = new LinkedHashMap<>(in.tensors());
            missing.remove(field);
            SafeTensors.write(bad, missing, in.metadata());
            var e = assertThrows(IllegalArgumentException.class, () -> lm.loadSession(bad));
            assertEquals(bad + ": field " + field + " is missing", e.getMessage());

            var reshaped = new LinkedHashMap<>(in.tensors());
            reshaped.put(field, Tensor.zeros(2, 3));
            SafeTensors.write(bad, reshaped, in.metadata());
            e = assertThrows(IllegalArgumentException.class, () -> lm.loadSession(bad));
            assertTrue(e.getMessage().startsWith(bad + ": field " + field + " has shape [2, 3]"), e.getMessage());

            var meta = new LinkedHashMap<>(in.metadata());
            meta.put("cache.0.position", "x");
            SafeTensors.write(bad, in.tensors(), meta);
            e = assertThrows(IllegalArgumentException.class, () -> lm.loadSession(bad));
            assertEquals(bad + ": field cache.0.position is not an integer: \"x\"", e.getMessage());

            var poisoned = new LinkedHashMap<>(in.tensors());
            Tensor nan = in.tensors().get(field).copy();
            nan.set(1, Float.NaN);
            poisoned.put(field, nan);
            SafeTensors.write(bad, poisoned, in.metadata());
            var f = assertThrows(SafeTensors.FormatException.class, () -> lm.loadSession(bad));
            assertTrue(f.getMessage().contains(bad.toString()) && f.getMessage().contains(field), f.getMessage());
        }
    }

    /** Every float equal to the bit (NaN patterns included), row by row. */
    static void assertBitIdentical(float[][] expected, float[][] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i].length, actual[i].length, what + " row " + i);
            for (int v = 0; v < expected[i].length; v++) {
                if (Float.floatToRawIntBits(expected[i][v]) != Float.floatToRawIntBits(actual[i][v])) {
                    fail(what + ": row " + i + " logit " + v + " is " + actual[i][v] + ", expected " + expected[i][v]);
                }
            }
        }
    }
}
