package org.ttt4j.lm.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.tokenizer.ByteTokenizer;
import org.ttt4j.lm.tokenizer.Tokenizer;

class NiahTest {
    private static final Tokenizer BYTES = ByteTokenizer.instance();
    private static final Niah.Material MATERIAL = new Niah.Material(List.of(
            "Fellow citizens. The state of the union is strong. We met the challenges of the year. ".repeat(40),
            "Our nation faces new tasks. The Congress has acted. The people have spoken clearly. ".repeat(40)),
            List.of("apple", "river", "stone"));

    private static String text(int[] ids) {
        return new String(BYTES.decode(ids), StandardCharsets.UTF_8);
    }

    @Test
    void promptHasTheRequestedLengthAndHidesTheNeedleAtTheDepth() {
        for (Niah.Task task : Niah.Task.values()) {
            for (double depth : new double[] {0, 0.25, 0.5, 0.75, 1}) {
                Niah.Case c = Niah.build(task, BYTES, 1500, depth, MATERIAL, new SplittableRandom(3));
                String prompt = text(c.prompt());
                // A haystack cut to its budget in tokens, then cut back to a sentence boundary: at most the budget.
                assertTrue(c.prompt().length <= 1500 && c.prompt().length >= 1400, task + " " + depth + ": " + c.prompt().length + " tokens");
                int occurrences = prompt.split(java.util.regex.Pattern.quote(c.answer()), -1).length - 1;
                assertEquals(task == Niah.Task.S_NIAH_1 ? 2 : 1, occurrences, "the value appears in the needle only (S-NIAH-1's needle says it twice)");
                String needleStart = task == Niah.Task.S_NIAH_1 ? "The pass key is " + c.answer() : "for " + c.key() + " is: " + c.answer();
                int at = prompt.indexOf(needleStart);
                assertTrue(at > 0, prompt);
                // The needle sits at its depth of the haystack (moved back to a sentence start), between the instructions and the question.
                int needleAt = prompt.lastIndexOf(task == Niah.Task.S_NIAH_1 ? "The pass key is " + c.answer() : "One of the special magic");
                int hayFrom = prompt.indexOf("memorize it.\n") + "memorize it.\n".length(), hayTo = prompt.lastIndexOf("\nWhat is");
                String needle = task == Niah.Task.S_NIAH_1 ? "The pass key is " + c.answer() + ". Remember it. " + c.answer() + " is the pass key. "
                        : prompt.substring(needleAt, prompt.indexOf(c.answer(), needleAt) + c.answer().length() + 2);
                double relative = (needleAt - hayFrom) / (double) (hayTo - hayFrom - needle.length());
                assertTrue(relative <= depth + 1e-9 && relative > depth - 0.06, task + " depth " + depth + ": needle at " + relative);
                assertEquals(BYTES.encode(prompt.substring(0, needleAt)).length, c.needleToken());
                assertTrue(prompt.endsWith(task == Niah.Task.S_NIAH_1 ? "The pass key is" : "mentioned in the provided text is"));
                if (task.essay) assertTrue(prompt.contains("state of the union") || prompt.contains("Congress"), "essay haystack");
                else assertTrue(prompt.contains("The grass is green."), "noise haystack");
            }
        }
    }

    @Test
    void uuidsAndNumbersAndTheSameSeedGivesTheSamePrompt() {
        var a = Niah.build(Niah.Task.S_NIAH_3, BYTES, 900, 0.5, MATERIAL, new SplittableRandom(9));
        var b = Niah.build(Niah.Task.S_NIAH_3, BYTES, 900, 0.5, MATERIAL, new SplittableRandom(9));
        assertArrayEquals(a.prompt(), b.prompt());
        assertTrue(a.answer().matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), a.answer());
        var n = Niah.build(Niah.Task.S_NIAH_2, BYTES, 900, 0.5, MATERIAL, new SplittableRandom(9));
        assertTrue(n.answer().matches("[1-9][0-9]{6}"), n.answer());
        assertTrue(List.of("apple", "river", "stone").contains(n.key()));
    }

    @Test
    void tooShortAContextOrABadDepthIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> Niah.build(Niah.Task.S_NIAH_2, BYTES, 100, 0.5, MATERIAL, new SplittableRandom(1)));
        assertTrue(e.getMessage().contains("too short"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Niah.build(Niah.Task.S_NIAH_1, BYTES, 1000, 1.5, MATERIAL, new SplittableRandom(1)));
        assertThrows(IllegalArgumentException.class, () -> Niah.Task.byId("s-niah-4"));
    }

    @Test
    void exactMatchReadsTheFirstWord() {
        assertTrue(Niah.matches(" 1234567.", "1234567"));
        assertTrue(Niah.matches("1234567, and", "1234567"));
        assertFalse(Niah.matches(" 12345678", "1234567"));
        assertFalse(Niah.matches(" the number 1234567", "1234567"));
        assertFalse(Niah.matches("", "1234567"));
    }

    @Test
    void greedyAnswerIsTheArgmaxContinuation() {
        for (String mixers : new String[] {"full", "swa"}) {
            Decoder m = new Decoder(Presets.byName("tiny").withMixers(mixers, 8), 4);
            int[] prompt = BYTES.encode("The pass key is");
            int[] got = Niah.greedyTokens(m, BYTES, prompt, 6, 4);
            // The same continuation by hand: the whole sequence re-read at every step, argmax of its last logits.
            int[] seq = prompt;
            try (var off = org.ttt4j.core.tensor.GradMode.disabled()) {
                for (int i = 0; i < got.length; i++) {
                    int next = org.ttt4j.lm.infer.Sampler.argmax(org.ttt4j.lm.infer.InferenceSession.lastRow(m.logits(seq, m.newCaches(seq.length))));
                    assertEquals(next, got[i], mixers + " token " + i);
                    seq = java.util.Arrays.copyOf(seq, seq.length + 1);
                    seq[seq.length - 1] = next;
                }
            }
            assertTrue(got.length == 6 || text(got).stripLeading().contains("\n"), "stops early only at a newline");
        }
    }
}
