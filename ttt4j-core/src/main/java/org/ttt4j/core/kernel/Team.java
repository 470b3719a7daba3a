package org.ttt4j.core.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed team of threads for work made of many short steps separated by barriers (decoding one
 * token runs a few dozen matrix-vector products, each split over the team): one hand-off per
 * region instead of one per operation. The caller is member 0; members 1..n-1 are daemon
 * threads that spin briefly for the next region, then park. A {@link #barrier} costs well under
 * a microsecond while every member is on a core. Regions are serialised (one at a time per team),
 * and a region started from inside another runs on the caller alone.
 *
 * <p>Members are told their index and the team size; work split by index is deterministic, so a
 * region computes the same bits however the threads are scheduled.
 */
public final class Team {
    /** What each member runs in a region. */
    @FunctionalInterface
    public interface Body {
        void run(int member, int members, Team team);
    }

    private static final int SPINS = 1 << 16;
    private static final Team[] SHARED = new Team[64];

    private final int size;
    private final Thread[] threads;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger arrived = new AtomicInteger();
    private final AtomicInteger done = new AtomicInteger();
    private volatile int generation;     // barrier generation
    private volatile int region;         // bumped to start a region
    private volatile Body body;
    private volatile int activeMembers;
    private volatile Throwable failure;
    private final ThreadLocal<Boolean> inside = ThreadLocal.withInitial(() -> false);

    private Team(int size) {
        this.size = size;
        this.threads = new Thread[size];
        for (int m = 1; m < size; m++) {
            int member = m;
            Thread t = new Thread(() -> loop(member), "ttt4j-team-" + size + "-" + m);
            t.setDaemon(true);
            threads[m] = t;
            t.start();
        }
    }

    /** The shared team of {@code size} members (created on first use, kept for the JVM's life). */
    public static synchronized Team of(int size) {
        if (size < 1 || size > SHARED.length) throw new IllegalArgumentException("team size must be 1.." + SHARED.length + ", got " + size);
        if (SHARED[size - 1] == null) SHARED[size - 1] = new Team(size);
        return SHARED[size - 1];
    }

    /** The team of the engine's thread count ({@link Parallel#threads()}). */
    public static Team engine() {
        return of(Parallel.threads());
    }

    public int size() {
        return size;
    }

    /**
     * Runs {@code body} on every member (the caller as member 0) and returns when all have finished.
     * Inside another region, or when the team is busy with another caller's region, it runs on the
     * caller alone as a team of one, which gives the same results.
     */
    public void run(Body body) {
        if (size == 1 || inside.get() || !lock.tryLock()) {
            runAlone(body);
            return;
        }
        try {
            inside.set(true);
            failure = null;
            done.set(0);
            arrived.set(0); // a failed region may have left members counted at a barrier
            activeMembers = size;
            this.body = body;
            region++;                    // releases the members
            for (int m = 1; m < size; m++) LockSupport.unpark(threads[m]);
            try {
                body.run(0, size, this);
            } catch (Throwable t) {
                fail(t);
            }
            int spins = 0;
            while (done.get() < size - 1) {
                if (++spins > SPINS) Thread.yield();
                else Thread.onSpinWait();
            }
            this.body = null;
            Throwable f = failure;
            if (f instanceof RuntimeException r) throw r;
            if (f instanceof Error e) throw e;
            if (f != null) throw new IllegalStateException(f);
        } finally {
            inside.set(false);
            lock.unlock();
        }
    }

    private static final Team ALONE = new Team(1);

    private static void runAlone(Body body) {
        body.run(0, 1, ALONE);
    }

    /**
     * Waits until every member of the running region has arrived. Members must call it the same
     * number of times; a team of one returns at once.
     */
    public void barrier() {
        if (size == 1) return;
        int gen = generation;
        if (arrived.incrementAndGet() == activeMembers) {
            arrived.set(0);
            generation = gen + 1;
            return;
        }
        int spins = 0;
        while (generation == gen) {
            if (failure != null) throw new TeamFailure();
            if (++spins > SPINS) Thread.yield();
            else Thread.onSpinWait();
        }
    }

    /** Thrown in members waiting at a barrier when another member failed: the region is abandoned. */
    private static final class TeamFailure extends RuntimeException {
        TeamFailure() {
            super("another member of the team failed", null, false, false);
        }
    }

    private void fail(Throwable t) {
        if (failure == null) failure = t; // TeamFailure is only thrown once a failure is recorded
    }

    private void loop(int member) {
        int seen = 0;
        while (true) {
            int spins = 0;
            while (region == seen) {
                if (++spins > SPINS) LockSupport.park(this);
                else Thread.onSpinWait();
            }
            seen = region;
            Body b = body;
            try {
                if (b != null) b.run(member, size, this);
            } catch (Throwable t) {
                fail(t);
            }
            done.incrementAndGet();
        }
    }

    /** The part [from, to) of {@code n} items that member {@code m} of {@code members} takes: contiguous, sizes differing by at most one. */
    public static int from(int n, int m, int members) {
        return (int) ((long) n * m / members);
    }
}
