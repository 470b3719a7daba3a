package org.ttt4j.lm.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

/** Session.next reads one token like feed; nextAll decodes several sessions together with the same bits. */
class SessionNextTest {
    @Test
    void nextIsFeedOfOneTokenAndNextAllIsEachSessionsNext() {
        for (String mixers : List.of("full", "swa", "ttt_linear")) {
            LanguageModel lm = LanguageModel.of(new Decoder(Presets.byName("tiny").withMixers(mixers, 8), 1), ByteTokenizer.instance());
            List<Session> together = new ArrayList<>(), alone = new ArrayList<>(), fed = new ArrayList<>();
            for (int s = 0; s < 3; s++) {
                for (List<Session> l : List.of(together, alone, fed)) l.add(lm.session().feed("class A" + s + " {"));
            }
            for (int t = 0; t < 5; t++) {
                int[] ids = {'a' + t, 'b' + t, ' '};
                float[][] rows = Session.nextAll(together, ids);
                for (int s = 0; s < 3; s++) {
                    assertArrayEquals(alone.get(s).next(ids[s]), rows[s], mixers + ": session " + s + ", step " + t);
                    assertArrayEquals(fed.get(s).feedLogits(new int[] {ids[s]})[0], rows[s], mixers + ": feed, session " + s);
                }
            }
        }
    }

    @Test
    void badIdsAndMismatchedListsAreRefused() {
        LanguageModel lm = LanguageModel.of(new Decoder(Presets.byName("tiny"), 1), ByteTokenizer.instance());
        Session s = lm.session().feed("x");
        assertThrows(IllegalArgumentException.class, () -> s.next(lm.config().vocabSize()));
        assertThrows(IllegalArgumentException.class, () -> Session.nextAll(List.of(s), new int[] {1, 2}));
        assertThrows(IllegalArgumentException.class, () -> Session.nextAll(List.of(s, s), new int[] {1, 2}));
    }
}
