package org.ttt4j.lm.data;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Train/validation split by whole document, decided per document from a hash of (seed, id): adding
 * or removing documents never moves any other document to the other side.
 *
 * <p>A document is held out when its hash, as a number in [0, 1), is below the validation
 * fraction. If that selects nothing in a corpus of two or more documents, the document with the
 * smallest hash is held out, so there is always something to validate on.
 */
public record Split(long seed, double validationFraction) {
    public static final double DEFAULT_VALIDATION_FRACTION = 0.01;
    public static final long DEFAULT_SEED = 1234L;

    public Split {
        if (!(validationFraction >= 0 && validationFraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in [0, 1), got " + validationFraction);
        }
    }

    /** Seed 1234, 1% held out. */
    public static Split defaults() {
        return new Split(DEFAULT_SEED, DEFAULT_VALIDATION_FRACTION);
    }

    /** The document's position in [0, 1) under this seed: held out when below the fraction. */
    public double hash(String id) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(Long.toString(seed).getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            byte[] d = md.digest(id.getBytes(StandardCharsets.UTF_8));
            long bits = 0;
            for (int i = 0; i < 7; i++) bits = (bits << 8) | (d[i] & 0xFF);
            return (bits >>> 3) / (double) (1L << 53);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The ids of the held-out documents among {@code entries}. */
    public Set<String> validationIds(List<CorpusSource.DocumentInfo> entries) {
        Set<String> out = new HashSet<>();
        String best = null;
        double bestHash = 2;
        for (CorpusSource.DocumentInfo e : entries) {
            double h = hash(e.id());
            if (h < validationFraction) out.add(e.id());
            if (h < bestHash || (h == bestHash && e.id().compareTo(best) < 0)) {
                bestHash = h;
                best = e.id();
            }
        }
        if (out.isEmpty() && validationFraction > 0 && entries.size() >= 2) out.add(best);
        return out;
    }
}
