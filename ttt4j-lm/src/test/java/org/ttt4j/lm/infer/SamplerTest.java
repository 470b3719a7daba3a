package org.ttt4j.lm.infer;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {1f, 3f, 2.5f, -1f, 0.5f};

    private static SamplingOptions opts(double temp, int topK, double topP, double rep, long seed) {
        return new SamplingOptions(temp, topK, topP, rep, seed, 10, List.of());
    }

    @Test
    void greedyAndTopOneAgree() {
        assertEquals(1, new Sampler(SamplingOptions.greedy(1)).pick(LOGITS.clone(), null));
        for (long seed = 0; seed < 20; seed++) assertEquals(1, new Sampler(opts(1.5, 1, 1, 1, seed)).pick(LOGITS.clone(), null));
    }

    @Test
    void sameSeedSameChoices() {
        var a = new Sampler(opts(1, 0, 1, 1, 42));
        var b = new Sampler(opts(1, 0, 1, 1, 42));
        for (int i = 0; i < 50; i++) assertEquals(a.pick(LOGITS.clone(), null), b.pick(LOGITS.clone(), null));
    }

    @Test
    void topKAndTopPRestrictTheCandidates() {
        Set<Integer> k2 = new HashSet<>(), p = new HashSet<>(), all = new HashSet<>();
        var s1 = new Sampler(opts(2, 2, 1, 1, 1));
        var s2 = new Sampler(opts(2, 0, 0.5, 1, 1));
        var s3 = new Sampler(opts(5, 0, 1, 1, 1));
        for (int i = 0; i < 2000; i++) {
            k2.add(s1.pick(LOGITS.clone(), null));
            p.add(s2.pick(LOGITS.clone(), null));
            all.add(s3.pick(LOGITS.clone(), null));
        }
        assertEquals(Set.of(1, 2), k2);
        assertTrue(Set.of(1, 2).containsAll(p) && p.contains(1), p.toString());
        assertEquals(5, all.size(), "at a high temperature every token occurs");
    }

    @Test
    void repetitionPenaltyDemotesSeenTokens() {
        boolean[] seen = {false, true, false, false, false};
        assertEquals(2, new Sampler(new SamplingOptions(0, 0, 1, 1.5, 0, 1, List.of())).pick(LOGITS.clone(), seen));
    }

    @Test
    void badOptionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> opts(-1, 0, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> opts(1, 0, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> opts(1, 0, 1, 0.5, 0));
    }

    @Test
    void utf8BoundariesAreRespectedWhenStreaming() {
        byte[] euro = "a€".getBytes(java.nio.charset.StandardCharsets.UTF_8); // 61 E2 82 AC
        assertEquals(1, Decoding.completePrefix(java.util.Arrays.copyOf(euro, 3), 0));
        assertEquals(4, Decoding.completePrefix(euro, 1));
    }

    /** The packed-key sort orders like a comparator on Float.compare, ties by index, over awkward values. */
    @org.junit.jupiter.api.Test
    void descendingOrderIsTheComparatorOrder() {
        var rng = new java.util.SplittableRandom(4);
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE, 1f, -1f};
        float[] x = new float[500];
        for (int i = 0; i < x.length; i++) x[i] = rng.nextInt(4) == 0 ? special[rng.nextInt(special.length)] : (float) rng.nextInt(-5, 5) / 4;
        Integer[] expected = new Integer[x.length];
        for (int i = 0; i < x.length; i++) expected[i] = i;
        java.util.Arrays.sort(expected, (a, b) -> Float.compare(x[b], x[a]) != 0 ? Float.compare(x[b], x[a]) : a - b);
        org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.stream(expected).mapToInt(Integer::intValue).toArray(), Sampler.descending(x));
    }
}
