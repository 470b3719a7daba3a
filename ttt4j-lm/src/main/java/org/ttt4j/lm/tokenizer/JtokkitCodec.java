package org.ttt4j.lm.tokenizer;

import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.IntArrayList;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The lossless wrapper shared by {@link TiktokenTokenizer} and {@link BpeTokenizer}. jtokkit
 * encodes Java strings, so it cannot see bytes that are not valid UTF-8; this splits the input
 * into valid runs (encoded by jtokkit with its ordinary encoding, so special-token text such as
 * {@code <|endoftext|>} in user data stays ordinary text) and invalid bytes, each encoded as the
 * vocabulary's single-byte token (byte-level BPE vocabularies have all 256). Decoding is a table
 * lookup: the bytes of every id are decoded once, up front.
 */
final class JtokkitCodec {
    private final String name;
    private final Encoding encoding;
    private final byte[][] tokenBytes; // by id; null = unknown id; specials are empty
    private final int[] byteToId = new int[256];
    private final int boundary;

    /**
     * @param tokenBytes the bytes of every id in [0, vocabSize), null for ids that do not exist,
     *                   empty for special tokens (the boundary included)
     */
    JtokkitCodec(String name, Encoding encoding, byte[][] tokenBytes, int boundary) {
        this.name = name;
        this.encoding = encoding;
        this.tokenBytes = tokenBytes;
        this.boundary = boundary;
        Arrays.fill(byteToId, -1);
        for (int id = 0; id < tokenBytes.length; id++) {
            byte[] t = tokenBytes[id];
            if (t != null && t.length == 1 && byteToId[t[0] & 0xFF] < 0) {
                byteToId[t[0] & 0xFF] = id;
            }
        }
        for (int b = 0; b < 256; b++) {
            if (byteToId[b] < 0) {
                throw new IllegalArgumentException(name + ": vocabulary lacks the single-byte token 0x"
                        + Integer.toHexString(b) + ", so invalid UTF-8 could not be encoded losslessly");
            }
        }
        if (boundary < 0 || boundary >= tokenBytes.length || tokenBytes[boundary] == null
                || tokenBytes[boundary].length != 0) {
            throw new IllegalArgumentException(name + ": boundary id " + boundary + " is not a special token");
        }
    }

    String name() {
        return name;
    }

    int vocabSize() {
        return tokenBytes.length;
    }

    int boundary() {
        return boundary;
    }

    /** The bytes of one id (a copy is not made: callers must not modify it); throws for unknown ids. */
    byte[] bytesOf(int id) {
        byte[] t = id >= 0 && id < tokenBytes.length ? tokenBytes[id] : null;
        if (t == null) {
            throw new IllegalArgumentException("unknown token id " + id + " for " + name
                    + " (vocabulary size " + tokenBytes.length + ")");
        }
        return t;
    }

    int[] encode(byte[] b) {
        int n = b.length;
        int firstInvalid = Utf8.validRunEnd(b, 0, n);
        if (firstInvalid == n) { // the common case: all valid UTF-8
            return encoding.encodeOrdinary(new String(b, StandardCharsets.UTF_8)).toArray();
        }
        IntArrayList out = new IntArrayList(Math.max(16, n / 3));
        int i = 0;
        while (i < n) {
            int end = Utf8.validRunEnd(b, i, n);
            if (end > i) {
                IntArrayList part = encoding.encodeOrdinary(new String(b, i, end - i, StandardCharsets.UTF_8));
                for (int k = 0, m = part.size(); k < m; k++) {
                    out.add(part.get(k));
                }
                i = end;
            } else {
                out.add(byteToId[b[i] & 0xFF]);
                i++;
            }
        }
        return out.toArray();
    }

    byte[] decode(int[] ids) {
        int total = 0;
        for (int id : ids) {
            total += bytesOf(id).length;
        }
        byte[] out = new byte[total];
        int pos = 0;
        for (int id : ids) {
            byte[] t = tokenBytes[id];
            System.arraycopy(t, 0, out, pos, t.length);
            pos += t.length;
        }
        return out;
    }
}
