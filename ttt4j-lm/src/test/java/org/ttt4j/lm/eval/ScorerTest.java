package org.ttt4j.lm.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Presets;

class ScorerTest {
    @Test
    void chunkedScoringEqualsOneForwardPass() {
        for (String mixers : new String[] {"full", "swa"}) {
            Decoder m = new Decoder(Presets.byName("tiny").withMixers(mixers, 6), 5);
            int[] tokens = new int[41];
            var rng = new SplittableRandom(1);
            for (int i = 0; i < tokens.length; i++) tokens[i] = rng.nextInt(257);
            float[] chunked = Scorer.tokenLosses(m, tokens, 7);
            float[] whole;
            try (var s = GradMode.disabled()) {
                whole = m.tokenLosses(java.util.Arrays.copyOf(tokens, 40), java.util.Arrays.copyOfRange(tokens, 1, 41), 1, 40).toFloatArray();
            }
            assertEquals(40, chunked.length);
            for (int i = 0; i < 40; i++) assertEquals(whole[i], chunked[i], 2e-4, mixers + " token " + i);
        }
    }

    @Test
    void bucketsDoubleAndAverageCorrectly() {
        var r = LossByPosition.of("x", List.of(new float[] {1, 2, 3, 4, 5}, new float[] {3, 4}));
        assertEquals(List.of(1, 2, 4), r.buckets().stream().map(LossByPosition.Bucket::from).toList());
        assertEquals(2.0, r.buckets().get(0).meanLoss(), 1e-9); // (1 + 3) / 2
        assertEquals(3.0, r.buckets().get(1).meanLoss(), 1e-9); // (2 + 3 + 4) / 3
        assertEquals(4.5, r.buckets().get(2).meanLoss(), 1e-9); // (4 + 5) / 2
        assertEquals(22.0 / 7, r.meanLoss(), 1e-9);
    }
}
