package org.ttt4j.lm.methods;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

/**
 * {@code read} runs an attention model's passes in the thread's prefill arena and grows its caches
 * once: the logits, the caches and the tokens decoded after it are the same bits as reading the
 * same passes through the model outside any arena. The arena is poisoned, so an array of a
 * pass that outlived its scope (in a cache, in the logits) would read NaN at the next pass.
 */
class CacheSessionReadTest {
    static Stream<Arguments> models() {
        var base = ModelConfig.builder().vocabSize(61).dModel(48).layers(3).heads(4).dFf(40).context(128).initStd(0.2);
        return Stream.of(
                Arguments.of("full", base.build()),
                Arguments.of("hybrid", base.build().toBuilder().mixers("swa:2,full:1").window(6).build()),
                Arguments.of("gqa", base.build().toBuilder().kvHeads(2).build()));
    }

    @Test
    void ensureRoomGrowsOnceAndKeepsWhatTheCacheHolds() {
        KvCache c = new KvCache(2, 4, 0, 8);
        var rng = new SplittableRandom(3);
        for (int i = 0; i < 70; i++) {
            int slot = c.reserve();
            for (int h = 0; h < 2; h++) {
                for (int e = 0; e < 4; e++) {
                    c.keyBuffer()[(h * c.capacity() + slot) * 4 + e] = (float) rng.nextDouble();
                    c.valueBuffer()[(h * c.capacity() + slot) * 4 + e] = (float) rng.nextDouble();
                }
            }
        }
        float[] k0 = c.keysOfHead(1).toFloatArray(), v0 = c.valuesOfHead(1).toFloatArray();
        c.ensureRoom(500);
        assertEquals(570, c.capacity());
        assertArrayEquals(k0, c.keysOfHead(1).toFloatArray());
        assertArrayEquals(v0, c.valuesOfHead(1).toFloatArray());
        c.ensureRoom(10); // room enough: nothing changes
        assertEquals(570, c.capacity());
        KvCache ring = new KvCache(2, 4, 6, 8);
        ring.ensureRoom(1000); // a ring's room is fixed
        assertEquals(13, ring.capacity());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void readingInTheArenaChangesNoBit(String name, ModelConfig c) {
        Decoder m = new Decoder(c, 4);
        CacheSession.prefillArena().poisonOnClose(true);
        var rng = new SplittableRandom(9);
        try (var off = GradMode.disabled()) {
            for (int round = 0; round < 2; round++) { // the second round reads in arrays the first returned
                int[] ids = rng.ints(101, 0, c.vocabSize()).toArray(); // passes of 8, the last of 5, past the cache's first capacity
                CacheSession pooled = (CacheSession) Methods.of(c).openSession(m, 8);
                CacheSession plain = (CacheSession) Methods.of(c).openSession(m, 8);
                float[] read = pooled.read(ids);
                float[] expected = null;
                for (int at = 0; at < ids.length; at += 8) expected = m.lastLogits(Arrays.copyOfRange(ids, at, Math.min(ids.length, at + 8)), plain.caches());
                assertArrayEquals(expected, read, "the logits after reading");
                for (int j = 0; j < c.layers(); j++) {
                    KvCache a = (KvCache) pooled.caches().get(j), b = (KvCache) plain.caches().get(j);
                    assertEquals(b.length(), a.length());
                    for (int h = 0; h < c.kvHeads(); h++) {
                        assertArrayEquals(b.keysOfHead(h).toFloatArray(), a.keysOfHead(h).toFloatArray(), "keys of block " + j + " head " + h);
                        assertArrayEquals(b.valuesOfHead(h).toFloatArray(), a.valuesOfHead(h).toFloatArray(), "values of block " + j + " head " + h);
                    }
                }
                for (int t = 0; t < 5; t++) assertArrayEquals(plain.next(t + 3), pooled.next(t + 3), "decoded token " + t);
            }
        } finally {
            CacheSession.prefillArena().poisonOnClose(false);
        }
    }
}
