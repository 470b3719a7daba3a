package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** decode(encode(x)) == x for every tokenizer, on hostile bytes, random Unicode and real source text. */
class TokenizerRoundTripTest {
    private static Tokenizer trainedBpe;

    static synchronized Tokenizer trainedBpe() {
        if (trainedBpe == null) {
            List<byte[]> corpus = new ArrayList<>(TestTexts.realText(20, 30_000).values());
            corpus.add(TestTexts.randomUnicode(new Random(3), 5_000).getBytes(StandardCharsets.UTF_8));
            trainedBpe = new BpeTokenizer(new BpeTrainer(1024).progress(s -> { }, 1000).train(corpus));
        }
        return trainedBpe;
    }

    static Stream<Tokenizer> tokenizers() {
        return Stream.of(ByteTokenizer.instance(), TiktokenTokenizer.r50k(), TiktokenTokenizer.cl100k(), trainedBpe());
    }

    private static void assertRoundTrip(Tokenizer t, byte[] b, String what) {
        int[] ids = t.encode(b);
        for (int id : ids) {
            assertTrue(id >= 0 && id < t.vocabSize(), () -> t.name() + ": id " + id + " out of range on " + what);
            assertTrue(id != t.documentBoundary(), () -> t.name() + ": boundary produced by encode on " + what);
        }
        assertArrayEquals(b, t.decode(ids), () -> t.name() + ": round trip failed on " + what);
    }

    @ParameterizedTest
    @MethodSource("tokenizers")
    void randomBytes(Tokenizer t) {
        Random r = new Random(42);
        for (int i = 0; i < 300; i++) {
            byte[] b = TestTexts.randomBytes(r, r.nextInt(i < 20 ? 4 : 600));
            assertRoundTrip(t, b, "random bytes #" + i);
        }
        assertRoundTrip(t, new byte[0], "empty input");
        assertRoundTrip(t, new byte[] {0, 0, 0}, "NULs");
        assertRoundTrip(t, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0xBD, (byte) 0xED, (byte) 0xB8, (byte) 0x80},
                "surrogate pair in CESU-8 form");
        byte[] all = new byte[512];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        assertRoundTrip(t, all, "all byte values");
    }

    @ParameterizedTest
    @MethodSource("tokenizers")
    void randomUnicode(Tokenizer t) {
        Random r = new Random(43);
        for (int i = 0; i < 200; i++) {
            String s = TestTexts.randomUnicode(r, r.nextInt(300));
            assertRoundTrip(t, s.getBytes(StandardCharsets.UTF_8), "random unicode #" + i);
            assertEquals(s, t.decodeString(t.encode(s)), "string round trip #" + i);
        }
        String special = "text with <|endoftext|> inside, and <|fim_prefix|> too";
        assertRoundTrip(t, special.getBytes(StandardCharsets.UTF_8), "special-token text");
    }

    @ParameterizedTest
    @MethodSource("tokenizers")
    void realText(Tokenizer t) {
        Map<String, byte[]> texts = TestTexts.realText(6, 60_000);
        assertFalse(texts.isEmpty());
        texts.forEach((what, b) -> assertRoundTrip(t, b, what));
        // mixed: real text with invalid bytes spliced in
        Random r = new Random(44);
        texts.forEach((what, b) -> {
            byte[] m = b.clone();
            for (int k = 0; k < 20 && m.length > 0; k++) {
                m[r.nextInt(m.length)] = (byte) (0x80 + r.nextInt(128));
            }
            assertRoundTrip(t, m, what + " with invalid bytes spliced in");
        });
    }

    @ParameterizedTest
    @MethodSource("tokenizers")
    void boundaryDecodesToNothingAndUnknownIdsThrow(Tokenizer t) {
        assertEquals(t.vocabSize() - 1, t.documentBoundary(), t.name());
        int[] ids = t.encode("ab");
        int[] withBoundary = {t.documentBoundary(), ids[0], t.documentBoundary()};
        assertArrayEquals(t.decode(new int[] {ids[0]}), t.decode(withBoundary));
        for (int bad : new int[] {-1, t.vocabSize(), Integer.MAX_VALUE}) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> t.decode(new int[] {ids[0], bad}));
            assertTrue(e.getMessage().contains(Integer.toString(bad)), e.getMessage());
        }
    }
}
