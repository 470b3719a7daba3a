package org.ttt4j.cli.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.kernel.Simd;

/** The machine's fp32 FMA peak, measured with a register-only Vector API loop. */
public final class FmaPeak {
    private static final VectorSpecies<Float> F = Simd.F;
    private static volatile float sink;

    private FmaPeak() {}

    /** Best GFLOP/s of the loop run on {@code threads} pool threads at once. */
    public static double measure(int threads) {
        long iters = 20_000_000L;
        double flopsPerThread = iters * 12.0 * F.length() * 2;
        loop(iters / 10); // compile before timing
        double best = 0;
        for (int rep = 0; rep < 7; rep++) {
            long t0 = System.nanoTime();
            if (threads == 1) {
                sink = loop(iters);
            } else {
                float[] res = new float[threads];
                Parallel.forRange(threads, 1, (from, to) -> {
                    for (int i = from; i < to; i++) res[i] = loop(iters);
                });
                sink = res[0];
            }
            long dt = System.nanoTime() - t0;
            best = Math.max(best, flopsPerThread * threads / dt);
        }
        return best;
    }

    /**
     * 12 independent accumulator chains: FMA latency (4 cycles) x 2 FMA ports needs at least 8 in
     * flight to keep both ports busy; 12 leaves margin. No loads or stores in the loop.
     */
    private static float loop(long iters) {
        FloatVector x = FloatVector.broadcast(F, 1.0000001f), y = FloatVector.broadcast(F, 0.9999999f);
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (long i = 0; i < iters; i++) {
            c0 = x.fma(y, c0);
            c1 = x.fma(y, c1);
            c2 = x.fma(y, c2);
            c3 = x.fma(y, c3);
            c4 = x.fma(y, c4);
            c5 = x.fma(y, c5);
            c6 = x.fma(y, c6);
            c7 = x.fma(y, c7);
            c8 = x.fma(y, c8);
            c9 = x.fma(y, c9);
            c10 = x.fma(y, c10);
            c11 = x.fma(y, c11);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).lane(0);
    }
}
