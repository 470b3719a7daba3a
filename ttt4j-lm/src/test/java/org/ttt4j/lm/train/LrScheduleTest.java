package org.ttt4j.lm.train;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * {@link LrSchedule} at hand-picked steps against its definition: a linear warmup
 * peak (step + 1) / warmup over steps 0 .. warmup - 1, then a cosine from peak to min over the
 * remaining total - warmup steps, min + (peak - min) (1 + cos(pi p)) / 2 with p = (step - warmup) / (total - warmup),
 * and min from step total on.
 */
class LrScheduleTest {
    private static final double PEAK = 6e-4, MIN = 6e-5;
    private static final long WARMUP = 10, TOTAL = 110; // 100 cosine steps

    @Test
    void warmupThenCosineToMin() {
        var s = new LrSchedule(PEAK, MIN, WARMUP, TOTAL);
        // warmup: the first step already moves, the last reaches the peak
        assertEquals(PEAK / 10, s.at(0), 1e-15, "first warmup step: peak * 1 / 10");
        assertEquals(PEAK * 5 / 10, s.at(4), 1e-15, "fifth warmup step: peak * 5 / 10");
        assertEquals(PEAK, s.at(9), 1e-15, "last warmup step: peak * 10 / 10");
        // cosine: starts at the peak, passes (peak + min) / 2 halfway, and is a cosine, not a line
        assertEquals(PEAK, s.at(10), 1e-15, "cosine start");
        double quarter = MIN + (PEAK - MIN) * (1 + Math.cos(Math.PI / 4)) / 2;
        assertEquals(quarter, s.at(35), 1e-15, "a quarter into the cosine: min + (peak - min) (1 + cos(pi / 4)) / 2");
        assertEquals((PEAK + MIN) / 2, s.at(60), 1e-15, "cosine midpoint");
        double threeQuarters = MIN + (PEAK - MIN) * (1 + Math.cos(3 * Math.PI / 4)) / 2;
        assertEquals(threeQuarters, s.at(85), 1e-15, "three quarters into the cosine");
        double last = MIN + (PEAK - MIN) * (1 + Math.cos(Math.PI * 99 / 100)) / 2;
        assertEquals(last, s.at(109), 1e-15, "last step, 99 of 100 cosine steps done");
        // the end: min, and it stays there
        assertEquals(MIN, s.at(110), 1e-15, "step total");
        assertEquals(MIN, s.at(1000), 1e-15, "beyond the end");
    }

    @Test
    void withoutWarmupTheFirstStepIsThePeak() {
        var s = new LrSchedule(1.0, 0.1, 0, 4);
        assertEquals(1.0, s.at(0), 1e-15, "step 0: the cosine's start");
        assertEquals(0.1 + 0.9 * (1 + Math.cos(Math.PI / 4)) / 2, s.at(1), 1e-15, "step 1 of 4: a quarter into the cosine");
        assertEquals(0.55, s.at(2), 1e-15, "step 2 of 4: (1 + 0.1) / 2");
        assertEquals(0.1, s.at(4), 1e-15, "step 4: min");
    }

    @Test
    void minZeroDecaysToZeroAndAllWarmupStaysAtThePeak() {
        var toZero = new LrSchedule(2.0, 0, 2, 6);
        assertEquals(1.0, toZero.at(0), 1e-15, "first of 2 warmup steps: peak / 2");
        assertEquals(2.0, toZero.at(1), 1e-15, "last warmup step: peak");
        assertEquals(1.0, toZero.at(4), 1e-15, "midpoint of a decay to 0 is peak / 2");
        assertEquals(0, toZero.at(6), 1e-15, "the end: min 0");
        var allWarmup = new LrSchedule(2.0, 0.5, 4, 4);
        assertEquals(0.5, allWarmup.at(0), 1e-15, "first of 4 warmup steps: peak / 4");
        assertEquals(2.0, allWarmup.at(3), 1e-15, "last warmup step: peak");
        assertEquals(2.0, allWarmup.at(7), 1e-15, "no cosine steps: the peak after warmup");
    }
}
