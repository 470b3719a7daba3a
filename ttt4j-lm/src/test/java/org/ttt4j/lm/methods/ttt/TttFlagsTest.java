package org.ttt4j.lm.methods.ttt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.ttt.InnerLoop;
import org.ttt4j.lm.layers.ttt.TttOptions;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

/**
 * The ttt section's use_gate, share_qk and pre_conv are independent; backbone "mamba" is the
 * shorthand for all three, and a config that uses only the shorthand reads and writes as before.
 */
class TttFlagsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static TttOptions options(String json) throws Exception {
        return JSON.readValue(json, TttSettings.class).validate().options(InnerLoop.Kind.LINEAR, 10000);
    }

    @Test
    void theShorthandSetsAllThreeAndAFlagOverridesIt() throws Exception {
        TttOptions m = options("{\"backbone\": \"mamba\"}");
        assertTrue(m.useGate() && m.shareQk() && m.preConv() && m.mamba());
        TttOptions t = options("{}");
        assertFalse(t.useGate() || t.shareQk() || t.preConv());
        TttOptions mixed = options("{\"share_qk\": true}");
        assertEquals(List.of(false, true, false), List.of(mixed.useGate(), mixed.shareQk(), mixed.preConv()));
        TttOptions over = options("{\"backbone\": \"mamba\", \"use_gate\": false}");
        assertEquals(List.of(false, true, true), List.of(over.useGate(), over.shareQk(), over.preConv()));
        assertFalse(over.mamba());
    }

    @Test
    void aShorthandConfigWritesTheSameJson() throws Exception {
        String old = JSON.writeValueAsString(new TttSettings(8, null, "mamba", null, null, null));
        assertEquals("{\"mini_batch\":8,\"backbone\":\"mamba\"}", old);
        assertEquals(new TttSettings(8, null, "mamba", null, null, null), JSON.readValue(old, TttSettings.class));
    }

    static ModelConfig config(TttSettings s) {
        return ModelConfig.builder().vocabSize(40).mixers("ttt_mlp").window(0).section("ttt", s).build().validate();
    }

    @Test
    void theShorthandAndTheThreeFlagsBuildTheSameModel() {
        Decoder a = new Decoder(config(new TttSettings(4, null, "mamba", null, null, null)), 7);
        Decoder b = new Decoder(config(new TttSettings(4, null, null, null, null, null, true, true, true)), 7);
        assertEquals(a.params().all().keySet(), b.params().all().keySet());
        int[] ids = {1, 5, 9, 3, 2, 8, 7, 6, 4, 11};
        try (var g = GradMode.disabled()) {
            assertArrayEquals(a.logits(ids, 1, ids.length, 0).toFloatArray(), b.logits(ids, 1, ids.length, 0).toFloatArray());
        }
    }

    /** Each flag adds exactly its parameters, and every mix decodes token by token as it reads whole. */
    @Test
    void eachFlagOwnsItsParametersAndMixesDecode() {
        var none = new TreeSet<>(new Decoder(config(new TttSettings(4, null, null, null, null, null, false, false, false)), 1).params().all().keySet());
        String p = "model.layers.0.";
        assertEquals(List.of(p + "seq_modeling_block.g_proj.weight"), added(none, new TttSettings(4, null, null, null, null, null, true, false, false)));
        assertEquals(List.of(p + "seq_modeling_block.conv_k.bias", p + "seq_modeling_block.conv_k.weight", p + "seq_modeling_block.conv_q.bias",
                p + "seq_modeling_block.conv_q.weight"), added(none, new TttSettings(4, null, null, null, null, null, false, true, false)).stream()
                .filter(n -> !n.contains("k_proj")).toList());
        assertEquals(List.of(p + "conv.conv.bias", p + "conv.conv.weight", p + "conv.norm.weight"),
                added(none, new TttSettings(4, null, null, null, null, null, false, false, true)));
        int[] ids = {1, 5, 9, 3, 2, 8, 7, 6, 4, 11};
        for (boolean[] f : new boolean[][] {{true, false, false}, {false, true, false}, {false, false, true}, {true, false, true}}) {
            Decoder m = new Decoder(config(new TttSettings(4, null, null, null, null, null, f[0], f[1], f[2])), 3);
            try (var g = GradMode.disabled()) {
                float[] whole = m.logits(ids, 1, ids.length, 0).toFloatArray();
                List<MixerCache> caches = m.newCaches(1);
                int v = 40;
                for (int i = 0; i < ids.length; i++) {
                    float[] step = m.logits(new int[] {ids[i]}, caches).toFloatArray();
                    for (int j = 0; j < v; j++) assertEquals(whole[i * v + j], step[j], 1e-4, java.util.Arrays.toString(f) + " position " + i);
                }
            }
        }
    }

    private static List<String> added(TreeSet<String> base, TttSettings s) {
        var names = new TreeSet<>(new Decoder(config(s), 1).params().all().keySet());
        names.removeAll(base);
        return names.stream().filter(n -> n.startsWith("model.layers.0.")).toList();
    }
}
