package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Split pre-tokenizer's behaviours on runs of delimiters, as Hugging Face's tokenizers library
 * documents them (its own tests split "the-final--countdown" on "-"): only one delimiter of a run is
 * merged into its neighbour, the others stand alone.
 */
class HfSplitTest {
    static List<String> split(String s, HfTokenizer.Behavior b) {
        List<String> out = new ArrayList<>();
        HfTokenizer.split(s, Pattern.compile("-"), b, false, out);
        return out;
    }

    @Test
    void runsOfDelimiters() {
        String s = "the-final--countdown";
        assertEquals(List.of("the", "final", "countdown"), split(s, HfTokenizer.Behavior.Removed));
        assertEquals(List.of("the", "-", "final", "-", "-", "countdown"), split(s, HfTokenizer.Behavior.Isolated));
        assertEquals(List.of("the-", "final-", "-", "countdown"), split(s, HfTokenizer.Behavior.MergedWithPrevious));
        assertEquals(List.of("the", "-final", "-", "-countdown"), split(s, HfTokenizer.Behavior.MergedWithNext));
        assertEquals(List.of("the", "-", "final", "--", "countdown"), split(s, HfTokenizer.Behavior.Contiguous));
    }

    @Test
    void metaspaceWordsKeepOneMarkEach() {
        List<String> out = new ArrayList<>();
        HfTokenizer.split("▁a▁▁b", Pattern.compile("▁"), HfTokenizer.Behavior.MergedWithNext, false, out);
        assertEquals(List.of("▁a", "▁", "▁b"), out);
    }
}
