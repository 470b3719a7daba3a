package org.ttt4j.lm.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ttt4j.core.kernel.PackedMatrix;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.methods.Batched;
import org.ttt4j.lm.methods.MethodSession;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

/**
 * KV caches stored as bfloat16: the packed decode step and the model's tensor path (prefill, and
 * one token at a time) read the same rounded keys and values and agree; the cache holds only
 * bf16 values, half the bytes of fp32; the logits stay close to an fp32 cache's; batched and
 * alone, saved and loaded, give the same bits.
 */
class KvCacheFormatTest {
    static Stream<Arguments> models() {
        var base = ModelConfig.builder().vocabSize(61).dModel(64).layers(3).heads(4).dFf(40).context(128).initStd(0.2);
        return Stream.of(
                Arguments.of("full", base.build()),
                Arguments.of("hybrid, ring of 6", base.build().toBuilder().mixers("swa:2,full:1").window(6).build()),
                Arguments.of("gqa, qk-norm", base.build().toBuilder().kvHeads(2).qkNorm(true).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void theStepAndTheTensorPathReadTheSameBf16Cache(String name, ModelConfig c, @TempDir Path dir) throws Exception {
        Decoder f32 = new Decoder(c, 5), bf16 = new Decoder(c, 5).kvCacheFormat(KvCache.Format.BF16);
        int[] prompt = new SplittableRandom(2).ints(29, 0, c.vocabSize()).toArray();
        int[] next = {4, 9, 16, 25, 36, 49};
        try (var off = GradMode.disabled()) {
            MethodSession step = Methods.of(c).openSession(bf16, 8), plain = Methods.of(c).openSession(f32, 8);
            step.read(prompt);
            plain.read(prompt);
            List<MixerCache> tensorPath = bf16.newCaches(8);
            for (int at = 0; at < prompt.length; at += 8) bf16.lastLogits(java.util.Arrays.copyOfRange(prompt, at, Math.min(prompt.length, at + 8)), tensorPath);
            double largest = 0;
            boolean differs = false;
            // The two paths compute keys in different fp32 orders (GEMM, matrix-vector), so now and then one
            // element rounds to the neighbouring bf16 value (2^-8 relative): a tolerance of 2e-3, where reading a
            // wrong position or an unrounded cache moves logits by 1e-2 and more.
            for (int t : next) {
                float[] a = step.next(t), b = bf16.lastLogits(new int[] {t}, tensorPath), f = plain.next(t);
                for (int i = 0; i < a.length; i++) {
                    assertEquals(b[i], a[i], 2e-3 * (1 + Math.abs(b[i])), "step against the tensor path, token " + t + " logit " + i);
                    largest = Math.max(largest, Math.abs(a[i] - f[i]));
                    differs |= a[i] != f[i];
                }
            }
            assertTrue(differs, "a bf16 cache rounds its keys and values");
            assertTrue(largest < 0.05, "bf16 cache against fp32: largest logit difference " + largest);

            // What the caches hold: bf16 values only, and half an fp32 cache's bytes.
            for (MixerCache m : tensorPath) {
                KvCache kv = (KvCache) m;
                assertEquals(KvCache.Format.BF16, kv.format());
                for (int h = 0; h < c.kvHeads(); h++) {
                    for (float v : kv.keysOfHead(h).toFloatArray()) assertEquals(v, PackedMatrix.fromBf16(PackedMatrix.toBf16(v)));
                    for (float v : kv.valuesOfHead(h).toFloatArray()) assertEquals(v, PackedMatrix.fromBf16(PackedMatrix.toBf16(v)));
                }
            }
            assertEquals(plain.stateFloats(), 2 * step.stateFloats(), "a bf16 cache holds half the bytes");

            // Saved and loaded: the same bits on.
            Path file = dir.resolve("s.safetensors");
            step.save(file);
            MethodSession loaded = Methods.of(c).loadSession(bf16, file);
            for (int t = 0; t < 4; t++) assertArrayEquals(step.next(t + 2), loaded.next(t + 2), "loaded session, token " + t);

            // Batched with another session: the same bits as alone.
            MethodSession a = Methods.of(c).openSession(bf16, 8), b = Methods.of(c).openSession(bf16, 8), alone = Methods.of(c).openSession(bf16, 8);
            a.read(prompt);
            b.read(new int[] {1, 2, 3});
            alone.read(prompt);
            for (int t = 0; t < 4; t++) {
                float[][] rows = Batched.next(List.of(a, b), new int[] {t + 5, t + 6});
                assertArrayEquals(alone.next(t + 5), rows[0], "batched, token " + t);
            }
        }
    }
}
