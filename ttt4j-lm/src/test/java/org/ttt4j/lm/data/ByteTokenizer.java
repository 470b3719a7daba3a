package org.ttt4j.lm.data;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.atomic.AtomicLong;
import org.ttt4j.lm.tokenizer.Tokenizer;

/** Test tokenizer: each byte is its own id, boundary 256; counts encode calls. */
final class ByteTokenizer implements Tokenizer {
    final AtomicLong encodeCalls = new AtomicLong();
    private final int vocab;
    private final int offset;

    ByteTokenizer() {
        this(257, 0);
    }

    /** A wider vocabulary shifts byte ids by {@code offset} (to exercise int32 shards). */
    ByteTokenizer(int vocab, int offset) {
        this.vocab = vocab;
        this.offset = offset;
    }

    @Override
    public String name() {
        return vocab == 257 ? "test-bytes" : "test-bytes-" + vocab;
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public int documentBoundary() {
        return vocab - 1;
    }

    @Override
    public int[] encode(byte[] utf8) {
        encodeCalls.incrementAndGet();
        int[] out = new int[utf8.length];
        for (int i = 0; i < out.length; i++) out[i] = (utf8[i] & 0xFF) + offset;
        return out;
    }

    @Override
    public byte[] decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id == documentBoundary()) continue;
            if (id < offset || id >= offset + 256) throw new IllegalArgumentException("unknown id " + id);
            out.write(id - offset);
        }
        return out.toByteArray();
    }
}
