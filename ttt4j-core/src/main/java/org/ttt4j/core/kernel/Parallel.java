package org.ttt4j.core.kernel;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;

/**
 * The engine's own ForkJoinPool ({@code -Dttt4j.threads}, default all cores). Work is split into
 * fixed ranges that do not depend on scheduling, and no kernel reduces across ranges in a
 * thread-dependent order, so results are bit-identical run to run.
 */
public final class Parallel {
    private static final int THREADS = Math.max(1,
            Integer.getInteger("ttt4j.threads", Runtime.getRuntime().availableProcessors()));
    private static final java.util.concurrent.atomic.AtomicInteger NAMES = new java.util.concurrent.atomic.AtomicInteger();
    /**
     * Exactly THREADS workers: a worker that waits for a stolen half of its range does not get a
     * spare thread to compensate (the pool's default), which would put three threads on two cores.
     */
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS, pool -> {
        var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("ttt4j-" + NAMES.getAndIncrement());
        t.setDaemon(true);
        return t;
    }, null, false, THREADS, THREADS, 1, pool -> true, 60, java.util.concurrent.TimeUnit.SECONDS);

    private Parallel() {}

    public static int threads() {
        return THREADS;
    }

    /** A body over the half-open index range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over [0, n) in chunks of at least {@code grain} indices. Runs inline when
     * there is one thread, one chunk, or the caller is already a pool worker (no nested fan-out).
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(THREADS * 4, Math.max(1, n / Math.max(1, grain)));
        if (THREADS == 1 || chunks == 1 || insidePool()) {
            body.run(0, n);
            return;
        }
        POOL.invoke(new Task(body, n, chunks, 0, chunks));
    }

    /** True on a worker of this pool: nested calls run inline instead of fanning out again. */
    public static boolean insidePool() {
        return Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == POOL;
    }

    private static final class Task extends RecursiveAction {
        private final RangeBody body;
        private final int n, chunks, lo, hi;

        Task(RangeBody body, int n, int chunks, int lo, int hi) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                int from = (int) ((long) n * lo / chunks);
                int to = (int) ((long) n * hi / chunks);
                body.run(from, to);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Task(body, n, chunks, lo, mid), new Task(body, n, chunks, mid, hi));
        }
    }
}
