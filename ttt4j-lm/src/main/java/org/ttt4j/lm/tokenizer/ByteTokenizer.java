package org.ttt4j.lm.tokenizer;

/**
 * One id per byte (0..255) plus the document boundary (256): no vocabulary file, no training,
 * trivially lossless, and small enough for tiny CPU models where an embedding table of 50K rows
 * would dominate the parameter count.
 */
public final class ByteTokenizer implements Tokenizer {
    /** The id of the document boundary. */
    public static final int BOUNDARY = 256;
    /** 256 bytes plus the boundary. */
    public static final int VOCAB_SIZE = 257;

    private static final ByteTokenizer INSTANCE = new ByteTokenizer();

    private ByteTokenizer() {
    }

    /** The (stateless) byte tokenizer. */
    public static ByteTokenizer instance() {
        return INSTANCE;
    }

    @Override
    public String name() {
        return "bytes";
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public int documentBoundary() {
        return BOUNDARY;
    }

    @Override
    public int[] encode(byte[] utf8) {
        int[] ids = new int[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            ids[i] = utf8[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public byte[] decode(int[] ids) {
        int n = 0;
        for (int id : ids) {
            if (id < 0 || id >= VOCAB_SIZE) {
                throw new IllegalArgumentException("unknown token id " + id + " (bytes vocabulary has " + VOCAB_SIZE + " ids)");
            }
            if (id != BOUNDARY) {
                n++;
            }
        }
        byte[] out = new byte[n];
        int j = 0;
        for (int id : ids) {
            if (id != BOUNDARY) {
                out[j++] = (byte) id;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "ByteTokenizer";
    }
}
