package org.ttt4j.lm.model;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.methods.ttt.TttSettings;

class DecoderTest {
    private static int[] randomIds(int n, int vocab, long seed) {
        var rng = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.nextInt(vocab);
        return ids;
    }

    @Test
    void initialLossIsNearLogVocabAndGradientsReachEveryParameter() {
        ModelConfig c = Presets.byName("tiny");
        Decoder m = new Decoder(c, 1);
        int b = 2, t = 16;
        int[] ids = randomIds(b * t, c.vocabSize(), 2), targets = randomIds(b * t, c.vocabSize(), 3);
        Tensor loss = m.loss(ids, targets, b, t);
        assertEquals(Math.log(c.vocabSize()), loss.item(), 0.1);
        Autograd.backward(loss);
        for (var e : m.params().all().entrySet()) {
            assertNotNull(e.getValue().grad(), e.getKey());
            double norm = 0;
            for (int i = 0; i < e.getValue().size(); i++) norm += Math.abs(e.getValue().grad().get(i));
            assertTrue(norm > 0, "zero gradient for " + e.getKey());
        }
    }

    @Test
    void sameSeedSameModel() {
        ModelConfig c = Presets.byName("tiny");
        var a = new Decoder(c, 7).params().all();
        var b = new Decoder(c, 7).params().all();
        for (String name : a.keySet()) assertArrayEquals(a.get(name).toFloatArray(), b.get(name).toFloatArray(), name);
    }

    /**
     * Chunked decoding with caches reproduces the logits of one full forward pass: KV caches for
     * attention; for TTT layers (mini-batch 4, 23 tokens) the decode cache crosses mini-batch
     * boundaries inside chunks and token by token, and ends in a partial mini-batch.
     */
    @Test
    void cachedDecodingMatchesFullForwardForFullSlidingAndHybrid() {
        for (String mixers : new String[] {"full", "swa", "swa:1,full:1", "ttt_linear", "ttt_mlp", "mamba:ttt_linear",
                "mamba:ttt_mlp", "ttt_linear:1,swa:1"}) {
            boolean mamba = mixers.startsWith("mamba:");
            ModelConfig c = Presets.byName("tiny").withMixers(mixers.replace("mamba:", ""), 5);
            c = c.toBuilder().qkNorm(true).postNorm(true).tiedEmbeddings(false).section("ttt", new TttSettings(4, null, mamba ? "mamba" : null, null, null, null)).build();
            Decoder m = new Decoder(c, 11);
            int t = 23;
            int[] ids = randomIds(t, c.vocabSize(), 4);
            try (var s = GradMode.disabled()) {
                float[] full = m.logits(ids, 1, t, 0).toFloatArray();
                List<MixerCache> caches = m.newCaches(4);
                int v = c.vocabSize(), at = 0;
                for (int chunk : new int[] {3, 1, 4, 4, 2, 1, 1, 4, 3}) {
                    int[] part = java.util.Arrays.copyOfRange(ids, at, at + chunk);
                    float[] got = m.logits(part, caches).toFloatArray();
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(full[at * v + i], got[i], 2e-4, mixers + " position " + (at + i / v));
                    }
                    at += chunk;
                }
                assertEquals(t, at);
                if (mixers.startsWith("swa")) {
                    assertTrue(((org.ttt4j.lm.layers.KvCache) caches.getFirst()).length() <= 5 + 4 - 1, "sliding-window cache stays bounded");
                }
            }
        }
    }

    @Test
    void invalidTttSettingsNameTheField() {
        ModelConfig t = Presets.byName("tiny").withMixers("ttt_linear", 8);
        var e = assertThrows(IllegalArgumentException.class, () -> t.withSection("ttt", new TttSettings(16, null, "rnn", null, null, null)).validate());
        assertTrue(e.getMessage().contains("ttt.backbone") && e.getMessage().contains("rnn"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.withSection("ttt", new TttSettings(0, null, null, null, null, null)).validate());
        assertTrue(e.getMessage().contains("ttt.mini_batch"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.withMixers("ttt_gru", 8).validate());
        assertTrue(e.getMessage().contains("ttt_linear, ttt_mlp"), e.getMessage());
    }

    @Test
    void invalidConfigsNameTheField() {
        ModelConfig t = Presets.byName("tiny");
        var e = assertThrows(IllegalArgumentException.class, () -> t.toBuilder().dModel(30).heads(4).window(0).build().validate());
        assertTrue(e.getMessage().contains("heads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.withMixers("swa:5,fulll:1", 8).validate());
        assertTrue(e.getMessage().contains("mixers") && e.getMessage().contains("fulll"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.withMixers("swa", 0).validate());
        assertTrue(e.getMessage().contains("window"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> t.withContext(0).validate());
        assertTrue(e.getMessage().contains("context"), e.getMessage());
    }

    @Test
    void hybridPatternExpands() {
        var blocks = Presets.byName("tiny").withMixers("swa:2,full:1", 8).validate().blockMixers();
        assertEquals(2, blocks.size());
        var six = ModelConfig.builder().layers(6).mixers("swa:5,full:1").window(8).build().blockMixers();
        assertEquals(List.of("swa", "swa", "swa", "swa", "swa", "full"), six.stream().map(Mixer::name).toList());
    }
}
