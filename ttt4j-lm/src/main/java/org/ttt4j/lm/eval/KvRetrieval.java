package org.ttt4j.lm.eval;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A synthetic key-value retrieval task in plain ASCII, for models that read bytes. A document is a
 * log of lines {@code PUT q 381} (a key not used before in the document, one letter, and its
 * value; one line in three) and {@code GET q 381} (a key put before, answered). A probe is a long log (the haystack:
 * PUTs of the other letters, then answered GETs of them), with the needle, the one PUT of its key,
 * at a chosen depth, followed by {@code GET <needle key> }: the answer is the needle's three
 * digits. One-letter keys make retrieval a one-token match (an induction head), which small models
 * learn quickly; trained on short documents, a model must retrieve over longer distances and past
 * more distractors at test time: the setting where attention mass dilutes and qTTT claims to help.
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

    private static final int LINE = "PUT q 381\n".length();
    private static final String KEYS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    /** A training document of about {@code bytes} bytes: PUTs of new keys, GETs of keys put before. */
    public static String document(SplittableRandom rng, int bytes) {
        StringBuilder out = new StringBuilder();
        List<String[]> put = new ArrayList<>();
        List<Character> fresh = shuffledKeys(rng);
        while (out.length() + LINE <= bytes) {
            // One line in three a PUT: most lines reward retrieval, which speeds up learning to do it.
            appendLine(out, put.isEmpty() || (rng.nextInt(3) == 0 && !fresh.isEmpty()), fresh, put, rng);
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
        List<Character> fresh = shuffledKeys(rng);
        String needleKey = "" + fresh.removeLast(), needleValue = value(rng);
        StringBuilder out = new StringBuilder();
        List<String[]> put = new ArrayList<>();
        int start = -1, end = -1;
        for (int i = 0; i < lines; i++) {
            if (i == needleLine) {
                start = out.length();
                out.append("PUT ").append(needleKey).append(' ').append(needleValue).append('\n');
                end = out.length();
            } else {
                appendLine(out, put.isEmpty() || (rng.nextBoolean() && !fresh.isEmpty()), fresh, put, rng); // PUT or GET at even odds
            }
        }
        out.append("GET ").append(needleKey).append(' ');
        return new Probe(out.toString(), needleValue, start, end);
    }

    /** Appends a PUT of a fresh key and a new value when {@code putNow}, else a GET of a key put before. */
    private static void appendLine(StringBuilder out, boolean putNow, List<Character> fresh, List<String[]> put, SplittableRandom rng) {
        String[] kv = putNow ? new String[] {"" + fresh.removeLast(), value(rng)} : put.get(rng.nextInt(put.size()));
        if (putNow) put.add(kv);
        out.append(putNow ? "PUT " : "GET ").append(kv[0]).append(' ').append(kv[1]).append('\n');
    }

    /** The 52 one-letter keys in a random order. */
    private static List<Character> shuffledKeys(SplittableRandom rng) {
        List<Character> keys = new ArrayList<>();
        for (char c : KEYS.toCharArray()) keys.add(c);
        for (int i = keys.size() - 1; i > 0; i--) java.util.Collections.swap(keys, i, rng.nextInt(i + 1));
        return keys;
    }

    private static String value(SplittableRandom rng) {
        return String.format("%03d", rng.nextInt(1000));
    }
}
