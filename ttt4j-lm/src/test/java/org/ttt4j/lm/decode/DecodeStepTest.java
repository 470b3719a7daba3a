package org.ttt4j.lm.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.kernel.Team;
import org.ttt4j.core.kernel.WeightFormat;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.methods.Batched;
import org.ttt4j.lm.methods.MethodSession;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.methods.ttt.TttSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.SubLayer;

/**
 * The packed decode step against the model's own whole-sequence forward pass (the path tested
 * against transformers), for every attention variant the step handles; batched and alone, one
 * and two threads, give the same bits.
 */
class DecodeStepTest {
    static Stream<Arguments> variants() {
        var base = ModelConfig.builder().vocabSize(61).dModel(48).layers(3).heads(4).dFf(40).context(64).initStd(0.2);
        return Stream.of(
                Arguments.of("full", base.build()),
                Arguments.of("swa window 5", base.build().toBuilder().mixers("swa").window(5).build()),
                Arguments.of("hybrid", base.build().toBuilder().mixers("swa:2,full:1").window(4).build()),
                Arguments.of("gqa, head_dim 16, qkv bias", base.build().toBuilder().kvHeads(2).headDim(16).attentionBias("qkv").build()),
                Arguments.of("qk-norm, sandwich norms, untied, all biases", base.build().toBuilder().qkNorm(true).postNorm(true)
                        .tiedEmbeddings(false).attentionBias("all").build()),
                // TTT layers (and the Mamba backbone's convolution) run as foreign ops between the step's regions
                Arguments.of("ttt_linear", base.build().toBuilder().mixers("ttt_linear").build()),
                Arguments.of("ttt_mlp and full", base.build().toBuilder().mixers("ttt_mlp:2,full:1").build()),
                // the Mamba backbone (share_qk, gate, the pre-convolution) with mini-batches of 4: the steps cross several
                Arguments.of("ttt_linear mamba", base.build().toBuilder().mixers("ttt_linear")
                        .section("ttt", new TttSettings(4, null, "mamba", null, null, null)).build()),
                Arguments.of("ttt_mlp mamba", base.build().toBuilder().mixers("ttt_mlp")
                        .section("ttt", new TttSettings(4, null, "mamba", null, null, null)).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void decodingMatchesTheWholeSequencePass(String name, ModelConfig c) {
        Decoder m = new Decoder(c, 3);
        int[] ids = new SplittableRandom(5).ints(20, 0, c.vocabSize()).toArray();
        try (var off = GradMode.disabled()) {
            Tensor whole = m.logits(ids, 1, ids.length, 0);
            int v = c.vocabSize();
            float[] all = whole.toFloatArray();
            // a prompt through the chunked path (the caches' other writer), then token by token through the step
            List<MixerCache> generic = m.newCaches(4);
            m.logits(java.util.Arrays.copyOfRange(ids, 0, 4), generic);
            m.logits(java.util.Arrays.copyOfRange(ids, 4, 6), generic);
            DecodePlan plan = DecodePlan.of(m).orElseThrow();
            // every sub-layer the step does not lay out (TTT layers, the Mamba backbone's convolution) runs its own one-token path on arrays
            List<MixerCache> fresh = m.newCaches(4);
            for (int i = 0; i < plan.blocks().size(); i++) {
                for (DecodePlan.Op op : plan.blocks().get(i)) {
                    if (!(op instanceof DecodePlan.Foreign f)) continue;
                    int d = c.dModel();
                    boolean taken = f.layer() instanceof SubLayer.Mixing mix ? mix.mixer().decodeOne(new float[d], new float[d], fresh.get(i))
                            : f.layer().decodeOne(new float[d], 0, fresh.get(i));
                    assertTrue(taken, name + ": block " + i + "'s " + f.name() + " decodes on arrays");
                }
            }
            DecodeStep step = new DecodeStep(plan, 1, Team.of(2), -1);
            for (int t = 6; t < ids.length; t++) {
                if (t == 13) { // tokens 13 and 14 through the chunked path after decoded ones, then the step again
                    float[] chunk = m.logits(java.util.Arrays.copyOfRange(ids, 13, 15), generic).toFloatArray();
                    for (int j = 0; j < 2 * v; j++) {
                        float want = all[13 * v + j];
                        assertEquals(want, chunk[j], 2e-5f * (1 + Math.abs(want)), name + ": chunk after the step, logit " + j);
                    }
                    t++;
                    continue;
                }
                float[] got = step.run(new DecodeStep.Sequence(generic, ids[t]));
                for (int j = 0; j < v; j++) {
                    float want = all[t * v + j];
                    assertEquals(want, got[j], 2e-5f * (1 + Math.abs(want)), name + ": token " + t + ", logit " + j);
                }
            }
        }
    }

    private static List<KvCache> kv(List<MixerCache> caches) {
        return caches.stream().map(x -> (KvCache) x).toList();
    }

    @Test
    void batchedAndAloneAndAnyThreadCountGiveTheSameBits() {
        ModelConfig c = ModelConfig.builder().vocabSize(61).dModel(48).layers(2).heads(4).dFf(40).context(64).mixers("swa").window(6).build();
        Decoder m = new Decoder(c, 4);
        DecodePlan plan = DecodePlan.of(m).orElseThrow();
        int v = c.vocabSize(), sessions = 5, steps = 12;
        int[][] tokens = new int[sessions][];
        for (int s = 0; s < sessions; s++) tokens[s] = new SplittableRandom(s).ints(steps, 0, v).toArray();
        try (var off = GradMode.disabled()) {
            float[][][] alone = new float[2][sessions][];
            for (int threads = 1; threads <= 2; threads++) {
                DecodeStep step = new DecodeStep(plan, 1, Team.of(threads), -1);
                for (int s = 0; s < sessions; s++) {
                    List<KvCache> caches = kv(m.newCaches(1));
                    for (int t = 0; t < steps; t++) alone[threads - 1][s] = step.run(new DecodeStep.Sequence(caches, tokens[s][t])).clone();
                }
            }
            assertTrue(java.util.Arrays.deepEquals(alone[0], alone[1]), "one and two threads differ");
            DecodeStep batch = new DecodeStep(plan, sessions, Team.of(2), -1);
            List<List<KvCache>> caches = new ArrayList<>();
            for (int s = 0; s < sessions; s++) caches.add(kv(m.newCaches(1)));
            float[] last = null;
            for (int t = 0; t < steps; t++) {
                DecodeStep.Sequence[] seqs = new DecodeStep.Sequence[sessions];
                for (int s = 0; s < sessions; s++) seqs[s] = new DecodeStep.Sequence(caches.get(s), tokens[s][t]);
                last = batch.run(seqs);
            }
            for (int s = 0; s < sessions; s++) {
                assertArrayEquals(alone[0][s], java.util.Arrays.copyOfRange(last, s * v, (s + 1) * v), "session " + s + " batched");
            }
        }
    }

    @Test
    void sessionsDecodeTogetherThroughTheMethodApi() {
        ModelConfig c = ModelConfig.builder().vocabSize(50).dModel(32).layers(2).heads(2).dFf(24).context(64).build();
        Decoder m = new Decoder(c, 8);
        try (var off = GradMode.disabled()) {
            List<MethodSession> together = new ArrayList<>(), apart = new ArrayList<>();
            for (int s = 0; s < 3; s++) {
                for (List<MethodSession> l : List.of(together, apart)) {
                    MethodSession session = Methods.of(c).openSession(m, 8);
                    session.feed(new int[] {1 + s, 2, 3}); // a prompt through the chunked path
                    l.add(session);
                }
            }
            for (int t = 0; t < 4; t++) {
                int[] tokens = {t, t + 7, t + 11};
                float[][] rows = Batched.next(together, tokens);
                for (int s = 0; s < 3; s++) {
                    assertArrayEquals(apart.get(s).next(tokens[s]), rows[s], "session " + s + " at step " + t);
                    assertArrayEquals(rows[s], together.get(s).lastLogits());
                }
            }
        }
    }

    @Test
    void storedFormatsChangeTheWeightsBothPathsSee() {
        ModelConfig c = ModelConfig.builder().vocabSize(64).dModel(64).layers(2).heads(2).dFf(64).context(64).initStd(0.1).build();
        int[] ids = new SplittableRandom(9).ints(10, 0, c.vocabSize()).toArray();
        float[] f32Logits = null;
        for (WeightFormat f : WeightFormat.values()) {
            Decoder m = new Decoder(c, 3).storeWeights(f);
            assertEquals(f, m.weightFormat());
            assertEquals(f, m.packed("model.layers.0.mlp.down_proj.weight").format());
            try (var off = GradMode.disabled()) {
                float[] all = m.logits(ids, 1, ids.length, 0).toFloatArray();
                List<KvCache> caches = kv(m.newCaches(1));
                DecodeStep step = new DecodeStep(DecodePlan.of(m).orElseThrow(), 1, Team.of(2), -1);
                float[] got = null;
                for (int id : ids) got = step.run(new DecodeStep.Sequence(caches, id));
                int v = c.vocabSize(), t = ids.length - 1;
                for (int j = 0; j < v; j++) assertEquals(all[t * v + j], got[j], 2e-5f * (1 + Math.abs(all[t * v + j])), f + " logit " + j);
                if (f == WeightFormat.F32) {
                    f32Logits = got.clone();
                } else { // the stored values really differ from fp32's
                    double moved = 0;
                    for (int j = 0; j < v; j++) moved = Math.max(moved, Math.abs(got[j] - f32Logits[j]));
                    assertTrue(moved > 1e-5, f + " logits equal fp32's: " + moved);
                }
            }
        }
    }
}
