package org.ttt4j.lm.model;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class MatchedSizeTest {
    @Test
    void tttLayersGetTheWidthNearestTheBaselinesCount() {
        ModelConfig tiny = Presets.byName("tiny");
        long target = MatchedSize.parameters(tiny.withNorms(true, true));
        for (String mixer : new String[] {"ttt_linear", "ttt_mlp", "full"}) {
            ModelConfig c = tiny.withMixers(mixer, 8);
            ModelConfig m = MatchedSize.feedForwardFor(c, target);
            long got = MatchedSize.parameters(m);
            // One unit of MLP width is 3 d_model parameters per block: nothing closer exists.
            long step = 3L * c.dModel() * c.layers();
            assertTrue(Math.abs(got - target) <= step / 2, mixer + ": " + got + " vs " + target);
            assertTrue(Math.abs(MatchedSize.parameters(m.withFeedForward(m.dFf() + 1)) - target) >= Math.abs(got - target));
            assertTrue(Math.abs(MatchedSize.parameters(m.withFeedForward(m.dFf() - 1)) - target) >= Math.abs(got - target));
        }
        assertThrows(IllegalArgumentException.class, () -> MatchedSize.feedForwardFor(tiny, 0));
    }
}
