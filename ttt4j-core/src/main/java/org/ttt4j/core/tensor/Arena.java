package org.ttt4j.core.tensor;

import java.lang.ref.SoftReference;
import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Recycled fp32 buffers for a loop that allocates the same tensors again and again (a training
 * step). While a scope is open on a thread, every fp32 tensor that thread creates takes its array
 * from the arena: one of the exact length returned by an earlier scope if there is one, zeroed,
 * else a new one. Closing the scope returns every array handed out since it opened. From the
 * second step on, a step's tensors allocate nothing, so the collector has no large arrays to
 * find, move or zero. The zeroing is the arena's {@code zero} function ({@code Arrays.fill} unless
 * given; a training loop passes the engine's parallel fill, {@code Elementwise::zero}).
 *
 * <p>The arena never makes the heap run out: it holds the arrays it lends weakly (an array whose
 * tensor died during the step may be collected, and is then not returned) and the arrays it keeps
 * between scopes softly (the collector clears them before it would throw OutOfMemoryError). So a
 * step whose allocations add up to more than the heap still runs, reusing what fits.
 *
 * <p>The rule that makes this safe: <b>no tensor created inside a scope may be used after the
 * scope closes</b>; read what must outlive the step (a loss, a norm) into a Java number first.
 * Other threads, fp64 tensors and tensors created outside a scope are untouched. A scope that
 * {@linkplain #poisonOnClose poisons} fills the returned arrays with NaN, so a tensor that escaped
 * shows up as NaN instead of as silently shared memory (tests run with it).
 */
public final class Arena {
    private static final ThreadLocal<Arena> ACTIVE = new ThreadLocal<>();

    private final Map<Integer, ArrayDeque<SoftReference<float[]>>> free = new HashMap<>();
    private final ArrayList<WeakReference<float[]>> lent = new ArrayList<>();
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

    /** Whether a scope of some arena is open on the calling thread. */
    public static boolean isOpen() {
        return ACTIVE.get() != null;
    }

    /** Bytes handed out again from earlier scopes, and bytes newly allocated, since creation. */
    public long reusedBytes() {
        return reusedBytes;
    }

    public long freshBytes() {
        return freshBytes;
    }

    /** Bytes the arena holds for reuse between scopes (those the collector has not cleared). */
    public long heldBytes() {
        long n = 0;
        for (var q : free.values()) {
            for (var r : q) {
                float[] a = r.get();
                if (a != null) n += 4L * a.length;
            }
        }
        return n;
    }

    /** A zeroed fp32 array from the calling thread's open scope, or null when there is none. */
    static float[] take(int length) {
        Arena a = ACTIVE.get();
        return a == null ? null : a.lend(length);
    }

    private float[] lend(int length) {
        ArrayDeque<SoftReference<float[]>> q = free.get(length);
        float[] r = null;
        while (r == null && q != null && !q.isEmpty()) r = q.poll().get();
        if (r == null) {
            r = new float[length];
            freshBytes += 4L * length;
        } else {
            zero.accept(r);
            reusedBytes += 4L * length;
        }
        lent.add(new WeakReference<>(r));
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
            for (WeakReference<float[]> ref : lent) {
                float[] r = ref.get();
                if (r == null) continue; // collected: its tensor died and the heap needed the room
                if (poison) java.util.Arrays.fill(r, Float.NaN);
                free.computeIfAbsent(r.length, n -> new ArrayDeque<>()).push(new SoftReference<>(r));
            }
            lent.clear();
        }
    }
}
