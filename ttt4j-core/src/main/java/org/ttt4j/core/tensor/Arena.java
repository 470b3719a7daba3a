package org.ttt4j.core.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Recycled fp32 buffers for a loop that allocates the same tensors again and again (a training
 * step). While a scope is open on a thread, every fp32 tensor that thread creates takes its array
 * from the arena: one of the exact length returned by an earlier scope if there is one, zeroed,
 * else a new one. Closing the scope returns
 * every array handed out since it opened. From the second step on, a step's tensors allocate
 * nothing, so the collector has no large arrays to find, move or zero. The zeroing is the
 * arena's {@code zero} function ({@code Arrays.fill} unless given; the engine's parallel fill,
 * {@code Elementwise::zero}, is what a training loop passes).
 *
 * <p>The rule that makes this safe: <b>no tensor created inside a scope may be used after the
 * scope closes</b>; read what must outlive the step (a loss, a norm) into a Java number first.
 * Other threads, fp64 tensors and tensors created outside a scope are untouched. A scope that
 * {@linkplain #poisonOnClose poisons} fills the returned arrays with NaN, so a tensor that escaped
 * shows up as NaN instead of as silently shared memory (tests run with it).
 */
public final class Arena {
    private static final ThreadLocal<Arena> ACTIVE = new ThreadLocal<>();

    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    private final ArrayList<float[]> lent = new ArrayList<>();
    private final Consumer<float[]> zero;
    private boolean poison;
    private long reusedBytes, freshBytes;

    /** An arena that zeroes a reused array with {@code Arrays.fill}. */
    public Arena() {
        this(a -> java.util.Arrays.fill(a, 0f));
    }

    /** An arena that zeroes a reused array with {@code zero} (which must set every element to +0). */
    public Arena(Consumer<float[]> zero) {
        this.zero = zero;
    }

    /** Fill returned arrays with NaN on close (for tests: an escaped tensor reads NaN). */
    public Arena poisonOnClose(boolean on) {
        this.poison = on;
        return this;
    }

    /** Opens a scope on the calling thread; close it on the same thread. Scopes do not nest. */
    public Scope open() {
        if (ACTIVE.get() != null) throw new IllegalStateException("an arena scope is already open on this thread");
        ACTIVE.set(this);
        return new Scope(Thread.currentThread());
    }

    /** Bytes handed out again from earlier scopes, and bytes newly allocated, since creation. */
    public long reusedBytes() {
        return reusedBytes;
    }

    public long freshBytes() {
        return freshBytes;
    }

    /** Bytes the arena holds for reuse between scopes. */
    public long heldBytes() {
        long n = 0;
        for (var e : free.entrySet()) n += 4L * e.getKey() * e.getValue().size();
        return n;
    }

    /** A zeroed fp32 array from the calling thread's open scope, or null when there is none. */
    static float[] take(int length) {
        Arena a = ACTIVE.get();
        return a == null ? null : a.lend(length);
    }

    private float[] lend(int length) {
        ArrayDeque<float[]> q = free.get(length);
        float[] r = q == null ? null : q.poll();
        if (r == null) {
            r = new float[length];
            freshBytes += 4L * length;
        } else {
            zero.accept(r);
            reusedBytes += 4L * length;
        }
        lent.add(r);
        return r;
    }

    /** An open scope of an arena. */
    public final class Scope implements AutoCloseable {
        private final Thread owner;
        private boolean closed;

        private Scope(Thread owner) {
            this.owner = owner;
        }

        /** Returns every array handed out since the scope opened. */
        @Override
        public void close() {
            if (closed) return;
            if (Thread.currentThread() != owner) throw new IllegalStateException("an arena scope must be closed on the thread that opened it");
            closed = true;
            ACTIVE.remove();
            for (float[] r : lent) {
                if (poison) java.util.Arrays.fill(r, Float.NaN);
                free.computeIfAbsent(r.length, n -> new ArrayDeque<>()).push(r);
            }
            lent.clear();
        }
    }
}
