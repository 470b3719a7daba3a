package org.ttt4j.lm.tokenizer;

/**
 * Strict UTF-8 validation, used to split arbitrary bytes into runs that decode to a Java string
 * and back unchanged (valid runs) and single bytes that do not (invalid ones). Strict means what
 * {@code new String(bytes, UTF_8).getBytes(UTF_8)} preserves: no overlong forms, no encoded
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 */
final class Utf8 {
    private Utf8() {
    }

    /**
     * Length of the valid UTF-8 sequence starting at {@code i} (1 to 4), or 0 if the byte there
     * does not start one.
     */
    static int sequenceLength(byte[] b, int i, int end) {
        int b0 = b[i] & 0xFF;
        if (b0 < 0x80) {
            return 1;
        }
        if (b0 < 0xC2) {
            return 0; // continuation byte or overlong 2-byte lead
        }
        if (b0 < 0xE0) {
            return i + 1 < end && isCont(b[i + 1]) ? 2 : 0;
        }
        if (b0 < 0xF0) {
            if (i + 2 >= end) {
                return 0;
            }
            int b1 = b[i + 1] & 0xFF;
            if (!isCont(b[i + 1]) || !isCont(b[i + 2])) {
                return 0;
            }
            if (b0 == 0xE0 && b1 < 0xA0) {
                return 0; // overlong
            }
            if (b0 == 0xED && b1 >= 0xA0) {
                return 0; // surrogate
            }
            return 3;
        }
        if (b0 < 0xF5) {
            if (i + 3 >= end) {
                return 0;
            }
            int b1 = b[i + 1] & 0xFF;
            if (!isCont(b[i + 1]) || !isCont(b[i + 2]) || !isCont(b[i + 3])) {
                return 0;
            }
            if (b0 == 0xF0 && b1 < 0x90) {
                return 0; // overlong
            }
            if (b0 == 0xF4 && b1 >= 0x90) {
                return 0; // above U+10FFFF
            }
            return 4;
        }
        return 0;
    }

    /** End (exclusive) of the maximal valid run starting at {@code i}; equals {@code i} if b[i] is invalid. */
    static int validRunEnd(byte[] b, int i, int end) {
        while (i < end) {
            int n = sequenceLength(b, i, end);
            if (n == 0) {
                return i;
            }
            i += n;
        }
        return end;
    }

    private static boolean isCont(byte x) {
        return (x & 0xC0) == 0x80;
    }
}
