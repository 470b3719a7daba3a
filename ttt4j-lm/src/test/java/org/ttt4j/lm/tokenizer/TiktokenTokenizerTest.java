package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TiktokenTokenizerTest {
    @Test
    void r50kKnownIds() {
        Tokenizer t = TiktokenTokenizer.r50k();
        assertEquals("r50k_base", t.name());
        assertEquals(50257, t.vocabSize());
        assertEquals(50256, t.documentBoundary());
        assertArrayEquals(new int[] {15496, 995}, t.encode("Hello world"));
        assertEquals("Hello world", t.decodeString(new int[] {15496, 995}));
    }

    @Test
    void cl100kKnownIds() {
        Tokenizer t = TiktokenTokenizer.cl100k();
        assertEquals("cl100k_base", t.name());
        assertEquals(100258, t.vocabSize());
        assertEquals(100257, t.documentBoundary());
        assertArrayEquals(new int[] {15339, 1917}, t.encode("hello world"));
    }

    @Test
    void specialTokenTextIsOrdinaryText() {
        for (Tokenizer t : new Tokenizer[] {TiktokenTokenizer.r50k(), TiktokenTokenizer.cl100k()}) {
            int[] ids = t.encode("a<|endoftext|>b");
            assertTrue(ids.length > 3, t.name());
            for (int id : ids) {
                assertTrue(id != t.documentBoundary(), t.name());
            }
            assertEquals("a<|endoftext|>b", t.decodeString(ids));
        }
    }

    @Test
    void invalidBytesUseSingleByteTokens() {
        TiktokenTokenizer t = TiktokenTokenizer.r50k();
        byte[] b = {'h', 'i', (byte) 0xFF, (byte) 0xC0, '!'};
        int[] ids = t.encode(b);
        assertEquals(4, ids.length, "hi, 0xFF, 0xC0, !");
        assertArrayEquals(new byte[] {(byte) 0xFF}, t.decode(new int[] {ids[1]}));
        assertArrayEquals(b, t.decode(ids));
        // valid UTF-8 as a whole still goes through jtokkit unchanged
        assertArrayEquals(t.encode("héllo wörld"), t.encode("héllo wörld".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void namesAndCaching() {
        assertSame(TiktokenTokenizer.r50k(), TiktokenTokenizer.of("gpt2"));
        assertSame(TiktokenTokenizer.cl100k(), TiktokenTokenizer.of("CL100K_BASE"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TiktokenTokenizer.of("p50k"));
        assertTrue(e.getMessage().contains("cl100k_base"), e.getMessage());
    }
}
