package org.ttt4j.lm.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Presets;

/**
 * {@link QtttProbe}: the answer's loss before qTTT is the model's own per-token loss of those
 * tokens in the whole document (an independent forward pass); with no steps nothing changes;
 * with steps the queries move and so does the loss.
 */
class QtttProbeTest {
    @Test
    void scoresTheAnswerLikeAWholeForwardPassAndAdaptingMovesIt() {
        var c = Presets.byName("tiny");
        Decoder model = new Decoder(c, 11);
        var rng = new SplittableRandom(2);
        int[] doc = new int[96];
        for (int i = 0; i < doc.length; i++) doc[i] = i % 9 == 0 ? rng.nextInt(c.vocabSize()) : 30 + (i * 5) % 13;
        int answer = 16;
        float[] all;
        try (var off = GradMode.disabled()) {
            all = model.tokenLosses(java.util.Arrays.copyOf(doc, doc.length - 1), java.util.Arrays.copyOfRange(doc, 1, doc.length), 1, doc.length - 1)
                    .toFloatArray();
        }
        double expected = 0;
        for (int i = all.length - answer; i < all.length; i++) expected += all[i] / answer;

        var none = QtttProbe.run(model, doc, answer, QtttOptions.defaults().withSteps(0));
        assertEquals(expected, none.lossBefore(), 1e-4, "the answer's loss, each token predicted from everything before it");
        assertEquals(none.lossBefore(), none.lossAfter(), 0.0, "no steps: the same queries");

        var some = QtttProbe.run(model, doc, answer, new QtttOptions(8, 32, 1e-2, 0.01, 1.0, 3));
        assertEquals(none.lossBefore(), some.lossBefore(), 0.0);
        assertTrue(Double.isFinite(some.lossAfter()) && Math.abs(some.lossAfter() - some.lossBefore()) > 1e-5,
                "adapted queries change the answer's loss: " + some.lossBefore() + " -> " + some.lossAfter());
        assertTrue(some.prefillSeconds() > 0 && some.adaptSeconds() > 0);
        assertEquals(32, some.span());
        assertThrows(IllegalArgumentException.class, () -> QtttProbe.run(model, new int[] {1, 2, 3}, 2, QtttOptions.defaults()));
    }
}
