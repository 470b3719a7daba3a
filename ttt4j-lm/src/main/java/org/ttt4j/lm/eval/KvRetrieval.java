package org.ttt4j.lm.eval;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A synthetic key-value retrieval task in plain ASCII, for models that read bytes. A document is a
 * log of lines {@code PUT k3f9 381} (a new key and its value) and {@code GET k3f9 381} (an earlier
 * key, answered). A probe is a long log (the haystack, answered GETs included), with one needle
 * PUT at a chosen depth, followed by {@code GET <needle key> }: the answer is the needle's three
 * digits. Trained on short documents, a model must retrieve over longer distances at test time:
 * the setting where attention mass dilutes and qTTT claims to help.
 */
public final class KvRetrieval {
    private KvRetrieval() {}

    /** A probe: the context (haystack with the needle and the final query), the answer, where the needle line is. */
    public record Probe(String context, String answer, int needleStart, int needleEnd) {
        /** The context's bytes: with the byte tokenizer these are its token ids. */
        public byte[] bytes() {
            return context.getBytes(StandardCharsets.US_ASCII);
        }
    }

    private static final int LINE = "PUT k3f9 381\n".length();

    /** A training document of about {@code bytes} bytes: PUTs of new keys, GETs of keys put before. */
    public static String document(SplittableRandom rng, int bytes) {
        StringBuilder out = new StringBuilder();
        List<String[]> put = new ArrayList<>();
        while (out.length() + LINE <= bytes) {
            if (put.isEmpty() || rng.nextBoolean()) {
                String[] kv = {key(rng), value(rng)};
                put.add(kv);
                out.append("PUT ").append(kv[0]).append(' ').append(kv[1]).append('\n');
            } else {
                String[] kv = put.get(rng.nextInt(put.size()));
                out.append("GET ").append(kv[0]).append(' ').append(kv[1]).append('\n');
            }
        }
        return out.toString();
    }

    /**
     * A probe of about {@code bytes} bytes whose needle sits at {@code depth} (0 = the first line,
     * 1 = the last line before the query). Haystack keys never repeat the needle's.
     */
    public static Probe probe(SplittableRandom rng, int bytes, double depth) {
        if (!(depth >= 0 && depth <= 1)) throw new IllegalArgumentException("depth must be in [0, 1], got " + depth);
        int lines = Math.max(2, bytes / LINE - 1);
        int needleLine = (int) Math.round(depth * (lines - 1));
        String needleKey = key(rng), needleValue = value(rng);
        StringBuilder out = new StringBuilder();
        List<String[]> put = new ArrayList<>();
        int start = -1, end = -1;
        for (int i = 0; i < lines; i++) {
            if (i == needleLine) {
                start = out.length();
                out.append("PUT ").append(needleKey).append(' ').append(needleValue).append('\n');
                end = out.length();
            } else if (put.isEmpty() || rng.nextBoolean()) {
                String k;
                do k = key(rng); while (k.equals(needleKey));
                String[] kv = {k, value(rng)};
                put.add(kv);
                out.append("PUT ").append(kv[0]).append(' ').append(kv[1]).append('\n');
            } else {
                String[] kv = put.get(rng.nextInt(put.size()));
                out.append("GET ").append(kv[0]).append(' ').append(kv[1]).append('\n');
            }
        }
        out.append("GET ").append(needleKey).append(' ');
        return new Probe(out.toString(), needleValue, start, end);
    }

    private static String key(SplittableRandom rng) {
        return String.format("%04x", rng.nextInt(1 << 16));
    }

    private static String value(SplittableRandom rng) {
        return String.format("%03d", rng.nextInt(1000));
    }
}
