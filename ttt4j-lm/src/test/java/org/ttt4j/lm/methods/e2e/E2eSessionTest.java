package org.ttt4j.lm.methods.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

class E2eSessionTest {
    private static ModelConfig config() {
        return ModelConfig.builder().vocabSize(13).dModel(8).layers(3).dFf(8).context(32).qkNorm(true).postNorm(true).mixers("swa").window(4).initStd(0.3).section("e2e", new E2eSettings(2, 3, 1.0, 1.0, null)).build().validate();
    }

    /** A state saved after reading a context continues bit for bit in a fresh session (another model object), twice over (fork). */
    @Test
    void savedStateContinuesBitForBitAndForks(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        ModelConfig c = config();
        int[] context = {1, 5, 2, 7, 7, 3, 9, 0}, more = {4, 4, 12, 6, 1, 2, 3};
        E2eSession original = new E2eSession(new Decoder(c, 2), 8);
        original.feed(context);
        java.nio.file.Path file = dir.resolve("state.safetensors");
        original.save(file);
        float[] expected = original.feed(more).toFloatArray();
        for (int fork = 0; fork < 2; fork++) {
            E2eSession loaded = E2eSession.load(new Decoder(c, 2), file);
            assertEquals(context.length, loaded.position());
            assertArrayEquals(expected, loaded.feed(more).toFloatArray(), "fork " + fork);
        }
        // A damaged file and a state of another model are refused with the reason.
        byte[] bytes = java.nio.file.Files.readAllBytes(file);
        java.nio.file.Files.write(dir.resolve("cut.safetensors"), Arrays.copyOf(bytes, bytes.length / 2));
        var e = assertThrows(Exception.class, () -> E2eSession.load(new Decoder(c, 2), dir.resolve("cut.safetensors")));
        assertTrue(e.getMessage().contains("cut.safetensors"), e.getMessage());
        // A state holding NaN (a flipped exponent) is refused with the tensor and the index, not continued into NaN logits.
        var header = org.ttt4j.lm.io.SafeTensors.readHeader(file);
        String name = header.tensors().keySet().iterator().next();
        byte[] poisoned = bytes.clone();
        int at = (int) (header.dataStart() + header.tensors().get(name).begin());
        java.nio.ByteBuffer.wrap(poisoned).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(at, Float.NaN);
        java.nio.file.Files.write(dir.resolve("nan.safetensors"), poisoned);
        e = assertThrows(Exception.class, () -> E2eSession.load(new Decoder(c, 2), dir.resolve("nan.safetensors")));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("NaN at flat index 0"), e.getMessage());
        ModelConfig other = c.withSection("e2e", new E2eSettings(1, 3, 1.0, 1.0, null));
        e = assertThrows(IllegalArgumentException.class, () -> E2eSession.load(new Decoder(other, 2), file));
        assertTrue(e.getMessage().contains("different model") && e.getMessage().contains("e2e"), e.getMessage());
    }

    /** The state (KV windows, prime weights, the pending chunk) does not grow with the context read. */
    @Test
    void stateSizeIsConstant() {
        ModelConfig c = config();
        E2eSession s = new E2eSession(new Decoder(c, 2), 8);
        SplittableRandom rng = new SplittableRandom(3);
        long[] sizes = new long[3];
        for (int round = 0; round < 3; round++) {
            int[] ids = new int[round == 0 ? 12 : 30]; // 12, 42 and 72 tokens read: windows full, the same place in a chunk of 3
            for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(13);
            s.feed(ids);
            sizes[round] = s.stateFloats();
        }
        assertTrue(sizes[0] > 0);
        assertEquals(sizes[0], sizes[1]);
        assertEquals(sizes[0], sizes[2]);
    }

    /** Prefill then decode, in uneven pieces, gives the per-token losses of chunked teacher-forced scoring. */
    @Test
    void prefillThenDecodeMatchesChunkedScoring() {
        ModelConfig c = ModelConfig.builder().vocabSize(13).dModel(8).layers(3).dFf(8).context(32).qkNorm(true).postNorm(true).mixers("swa").window(4).initStd(0.3).section("e2e", new E2eSettings(2, 3, 1.0, 1.0, null)).build().validate();
        Decoder m = new Decoder(c, 2);
        SplittableRandom rng = new SplittableRandom(6);
        int[] tokens = new int[18];
        for (int i = 0; i < tokens.length; i++) tokens[i] = rng.nextInt(13);
        float[] expected = E2eLoop.tokenLosses(m, tokens, E2eLoop.Options.of(c, 1));
        E2eSession session = new E2eSession(m, 8);
        float[] got = new float[tokens.length - 1];
        int at = 0;
        for (int piece : new int[] {5, 1, 1, 4, 2, 3, 1}) { // a prompt, then tokens one by one and in small runs
            int[] ids = Arrays.copyOfRange(tokens, at, at + piece);
            var logits = session.feed(ids);
            int scored = Math.min(piece, tokens.length - 1 - at);
            int[] targets = Arrays.copyOfRange(tokens, at + 1, at + 1 + scored);
            try (var off = GradMode.disabled()) {
                float[] l = Nn.crossEntropy(Layout.slice(Layout.reshape(logits, piece, -1), 0, 0, scored), targets, -1).toFloatArray();
                System.arraycopy(l, 0, got, at, scored);
            }
            at += piece;
        }
        assertEquals(tokens.length - 1, at);
        // fp32 through two different op orders (KV-cache decoding vs whole-sequence prefix), amplified a
        // little by four inner steps: ~3e-5 with 16-lane vectors (AVX-512), 1.1e-4 with 8 (AVX2), whose
        // sums round differently; 6e-6 with the inner lr at 0.
        for (int i = 0; i < got.length; i++) assertEquals(expected[i], got[i], 3e-4, "token " + i);
        // The inner steps matter far more than that: without them the losses move by much more.
        float[] frozen = E2eLoop.tokenLosses(m, tokens, new E2eLoop.Options(3, 0, 1, false, 1));
        double moved = 0;
        for (int i = 3; i < got.length; i++) moved = Math.max(moved, Math.abs(frozen[i] - expected[i]));
        assertTrue(moved > 1e-2, "inner steps change the losses: " + moved); // far above the tolerance
        assertEquals(17, session.position());
    }
}
