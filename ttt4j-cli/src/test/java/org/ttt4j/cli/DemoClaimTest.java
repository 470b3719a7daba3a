package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.ttt4j.lm.methods.e2e.E2eSettings;

/**
 * The demo's claim, asserted: the shipped TTT-E2E model reading the start of the default document
 * (the JDK's ConcurrentHashMap.java) has a lower loss learning as it reads than with its weights
 * frozen, and the gain grows as it reads (the second half gains more than the first).
 */
class DemoClaimTest {
    @Test
    void readingWithTestTimeUpdatesBeatsTheFrozenWeights() throws Exception {
        var loaded = Checkpoints.load(org.ttt4j.lm.api.ModelFolders.demoFolder());
        int[] ids = Arrays.copyOf(loaded.tokenizer().encode(DemoCommand.readJdkEntry(DemoCommand.DEFAULT_ENTRY)), 4097);
        var r = DemoCommand.read(loaded.model(), ids);
        int n = ids.length - 1, half = n / 2;
        assertEquals(n, r.with().length);
        double gain = mean(r.without(), 0, n) - mean(r.with(), 0, n);
        double first = mean(r.without(), 0, half) - mean(r.with(), 0, half), second = mean(r.without(), half, n) - mean(r.with(), half, n);
        assertTrue(gain > 0.05, "test-time updates lower the loss: gain " + gain + " nats per token over " + n + " tokens");
        assertTrue(second > first, "the gain grows with what was read: first half " + first + ", second half " + second);
        // The first chunk is read with the initial weights either way: no update has happened yet.
        int chunk = E2eSettings.of(loaded.model().config()).chunk(loaded.model().config());
        for (int i = 0; i < chunk; i++) assertEquals(r.without()[i], r.with()[i], 1e-4, "token " + i + " of the first chunk");
    }

    private static double mean(float[] x, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += x[i];
        return s / (to - from);
    }
}
