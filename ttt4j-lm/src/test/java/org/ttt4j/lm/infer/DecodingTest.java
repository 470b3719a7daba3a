package org.ttt4j.lm.infer;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

/** Stop strings, UTF-8 pieces and the end conditions of a generation driven one token at a time. */
class DecodingTest {
    private static final ByteTokenizer BYTES = ByteTokenizer.instance();

    /** Logits that make greedy decoding pick {@code id}. */
    private static float[] want(int id) {
        float[] l = new float[ByteTokenizer.VOCAB_SIZE];
        l[id] = 10;
        return l;
    }

    /** Greedy decoding forced through the bytes of {@code script}; returns the pieces streamed. */
    private static List<String> run(String script, int maxTokens, List<String> stop, Decoding[] out) {
        List<String> pieces = new ArrayList<>();
        var d = new Decoding(BYTES, ByteTokenizer.VOCAB_SIZE, new int[0],
                new SamplingOptions(0, 0, 1, 1, 0, maxTokens, stop), pieces::add);
        byte[] b = script.getBytes(StandardCharsets.UTF_8);
        int i = 0;
        while (!d.done()) {
            int next = d.pick(want(i < b.length ? b[i] & 0xff : ByteTokenizer.BOUNDARY));
            if (next >= 0) assertEquals(b[i] & 0xff, next);
            i++;
        }
        out[0] = d;
        return pieces;
    }

    @Test
    void aStopStringNeverReachesTheStream() {
        Decoding[] d = new Decoding[1];
        List<String> pieces = run("one two\nUser: three", 100, List.of("\nUser:"), d);
        assertEquals("one two", d[0].output(0, 0).text());
        assertEquals("stop:\nUser:", d[0].stopReason());
        assertEquals("one two", String.join("", pieces));
        for (String p : pieces) assertFalse(p.contains("\n"), p);
        // The newline was held back as the possible start of the stop string, not sent before it.
        assertEquals("\nUser:".length() + "one two".length(), d[0].tokens().length);
    }

    @Test
    void theStopStringThatStartsFirstEndsTheText() {
        // Tokens of several characters: "ab##" holds back "##" (a possible "###"), then one token
        // completes "###" and brings "\n\n" after it; the earlier of the two ends the text, whatever the list order.
        String[] pieces = {"ab##", "#\n\nrest", "<end>"};
        var tok = new org.ttt4j.lm.tokenizer.Tokenizer() {
            @Override public String name() { return "pieces"; }
            @Override public int vocabSize() { return pieces.length; }
            @Override public int documentBoundary() { return pieces.length - 1; }
            @Override public int[] encode(byte[] utf8) { throw new UnsupportedOperationException(); }
            @Override public byte[] decode(int[] ids) {
                StringBuilder sb = new StringBuilder();
                for (int id : ids) sb.append(pieces[id]);
                return sb.toString().getBytes(StandardCharsets.UTF_8);
            }
        };
        List<String> streamed = new ArrayList<>();
        var d = new Decoding(tok, pieces.length, new int[0], new SamplingOptions(0, 0, 1, 1, 0, 10, List.of("\n\n", "###")), streamed::add);
        for (int i = 0; !d.done(); i++) {
            float[] l = new float[pieces.length];
            l[i] = 10;
            d.pick(l);
        }
        assertEquals("ab", d.output(0, 0).text());
        assertEquals("stop:###", d.stopReason());
        assertEquals("ab", String.join("", streamed));
    }

    @Test
    void heldBackTextIsSentOnceItCannotStartTheStopString() {
        Decoding[] d = new Decoding[1];
        List<String> pieces = run("a\nb", 100, List.of("\nUser:"), d);
        assertEquals("end_of_document", d[0].stopReason());
        assertEquals("a\nb", d[0].output(0, 0).text());
        assertEquals(List.of("a", "\nb"), pieces);
    }

    @Test
    void maxTokensEndsWithTheLastPickAndFlushesTheText() {
        Decoding[] d = new Decoding[1];
        List<String> pieces = run("abcdef", 3, List.of("cd"), d);
        assertEquals("max_tokens", d[0].stopReason());
        assertEquals("abc", d[0].output(0, 0).text());
        assertEquals("abc", String.join("", pieces)); // "c" held back, then flushed at the end
        assertThrows(IllegalStateException.class, () -> d[0].pick(want('x')));
    }

    @Test
    void piecesEndOnWholeCharacters() {
        Decoding[] d = new Decoding[1];
        List<String> pieces = run("€1", 100, List.of(), d);
        assertEquals(List.of("€", "1"), pieces);
        assertEquals(4, d[0].tokens().length);
    }

    @Test
    void zeroTokensIsDoneAtOnce() {
        var d = new Decoding(BYTES, ByteTokenizer.VOCAB_SIZE, new int[0], SamplingOptions.greedy(0), null);
        assertTrue(d.done());
        assertEquals("", d.output(0, 0).text());
    }
}
