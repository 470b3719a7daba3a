package org.ttt4j.lm.model;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.ttt4j.lm.methods.ttt.TttSettings;

class ReferenceNamesTest {
    private static ModelConfig tiny(String mixers, String backbone) {
        ModelConfig c = Presets.byName("tiny").withMixers(mixers, 8);
        return c.withSection("ttt", new TttSettings(4, null, backbone, null, null, null));
    }

    @Test
    void everyParameterOfATttModelHasItsReferenceName() {
        for (String mixers : new String[] {"ttt_linear", "ttt_mlp"}) {
            for (String backbone : new String[] {"transformer", "mamba"}) {
                var names = new Decoder(tiny(mixers, backbone), 1).params().all().keySet();
                for (String n : names) assertNotNull(ReferenceNames.reference(n), mixers + "/" + backbone + ": " + n);
                assertTrue(names.contains("model.layers.1.seq_modeling_block.learnable_token_idx"));
                assertEquals(backbone.equals("mamba"), names.contains("model.layers.0.conv.conv.weight"));
            }
        }
    }

    @Test
    void attentionBlocksAndSandwichNormsHaveNoReferenceCounterpart() {
        assertNull(ReferenceNames.reference("model.layers.0.self_attn.q_proj.weight"));
        assertNull(ReferenceNames.reference("model.layers.0.seq_out_norm.weight"));
        assertNull(ReferenceNames.reference("model.layers.0.seq_modeling_block.W3"));
        assertNotNull(ReferenceNames.reference("model.layers.12.seq_modeling_block.conv_k.bias"));
    }
}
