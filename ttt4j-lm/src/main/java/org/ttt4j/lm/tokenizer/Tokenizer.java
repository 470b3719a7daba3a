package org.ttt4j.lm.tokenizer;

/**
 * Text to token ids and back. Works on UTF-8 bytes so that any byte sequence, invalid UTF-8
 * included, round-trips: {@code decode(encode(bytes))} equals {@code bytes}.
 *
 * <p>Special tokens are outside the text vocabulary: {@link #documentBoundary()} separates
 * documents in a training stream and is never produced by {@link #encode}.
 */
public interface Tokenizer {
    /** A short stable name, stored with checkpoints (e.g. "bytes", "r50k_base", "bpe:8192"). */
    String name();

    /** Number of ids, specials included: every id is in [0, vocabSize()). */
    int vocabSize();

    /** The id of the document boundary token. */
    int documentBoundary();

    int[] encode(byte[] utf8);

    /** The bytes of the ids; special tokens decode to nothing. Unknown ids throw IllegalArgumentException. */
    byte[] decode(int[] ids);

    default int[] encode(String text) {
        return encode(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    default String decodeString(int[] ids) {
        return new String(decode(ids), java.nio.charset.StandardCharsets.UTF_8);
    }
}
