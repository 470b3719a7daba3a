package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Utf8Test {
    private static boolean javaSaysValid(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /** Our validator agrees with the JDK's strict decoder on every short sequence of bytes from a tricky alphabet. */
    @Test
    void agreesWithJdkDecoder() {
        int[] alphabet = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
                0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
        Random r = new Random(1);
        for (int t = 0; t < 60_000; t++) {
            byte[] b = new byte[1 + r.nextInt(5)];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) alphabet[r.nextInt(alphabet.length)];
            }
            assertEquals(javaSaysValid(b), Utf8.validRunEnd(b, 0, b.length) == b.length,
                    () -> "disagreement on " + java.util.HexFormat.ofDelimiter(" ").formatHex(b));
        }
    }
}
