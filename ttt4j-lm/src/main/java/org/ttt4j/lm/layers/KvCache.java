package org.ttt4j.lm.layers;

import java.util.Map;
import org.ttt4j.core.tensor.Tensor;

/**
 * Keys and values of one attention layer for decoding, [heads, capacity, d] per batch row 0
 * (decoding runs one sequence). Full attention grows its buffer; a sliding window keeps a ring of
 * {@code window} positions, so memory stays constant however long the context.
 */
public final class KvCache implements MixerCache {
    private final int heads, dim, window, maxChunk;
    private float[] keys, values;
    private int capacity, length;
    private long position;

    /**
     * {@code window} 0 means unlimited (full attention). A ring keeps {@code window + maxChunk - 1}
     * positions: the first query of a chunk of {@code maxChunk} tokens still sees its whole window.
     */
    public KvCache(int heads, int dim, int window, int maxChunk) {
        if (maxChunk < 1) throw new IllegalArgumentException("maxChunk must be >= 1");
        this.heads = heads;
        this.dim = dim;
        this.window = window;
        this.maxChunk = maxChunk;
        this.capacity = window > 0 ? window + maxChunk - 1 : 64;
        this.keys = new float[heads * capacity * dim];
        this.values = new float[heads * capacity * dim];
    }

    /** The buffers and counters, for saving a decoding state ({@link #restore} reverses it). */
    public record Snapshot(float[] keys, float[] values, int capacity, int length, long position) {}

    public Snapshot snapshot() {
        return new Snapshot(keys.clone(), values.clone(), capacity, length, position);
    }

    /** A cache holding a saved state; every size is checked against this layer's shape. */
    public static KvCache restore(int heads, int dim, int window, int maxChunk, Snapshot s) {
        KvCache c = new KvCache(heads, dim, window, maxChunk);
        if (s.capacity() < 1 || s.length() < 0 || s.length() > s.capacity() || s.position() < s.length()
                || (window > 0 && s.capacity() != c.capacity) || s.keys().length != heads * s.capacity() * dim
                || s.values().length != s.keys().length) {
            throw new IllegalArgumentException("KV cache state does not fit this layer (" + heads + " heads of " + dim + ", window "
                    + window + "): capacity " + s.capacity() + ", length " + s.length() + ", " + s.keys().length + " floats");
        }
        c.keys = s.keys().clone();
        c.values = s.values().clone();
        c.capacity = s.capacity();
        c.length = s.length();
        c.position = s.position();
        return c;
    }

    /** Saves keys and values [heads, capacity, d] and the counters capacity, length and position. */
    @Override
    public void saveState(String prefix, Map<String, Tensor> tensors, Map<String, String> meta) {
        tensors.put(prefix + "keys", Tensor.of(keys.clone(), heads, capacity, dim));
        tensors.put(prefix + "values", Tensor.of(values.clone(), heads, capacity, dim));
        meta.put(prefix + "capacity", Integer.toString(capacity));
        meta.put(prefix + "length", Integer.toString(length));
        meta.put(prefix + "position", Long.toString(position));
    }

    @Override
    public void loadState(String prefix, Map<String, Tensor> tensors, Map<String, String> meta, String source) {
        int cap = (int) CacheFields.counter(meta, prefix + "capacity", 1, Integer.MAX_VALUE, source);
        if (window > 0 && cap != capacity) {
            throw new IllegalArgumentException(source + ": field " + prefix + "capacity is " + cap + ", this layer's ring holds " + capacity
                    + " (window " + window + ", chunk " + maxChunk + ")");
        }
        int len = (int) CacheFields.counter(meta, prefix + "length", 0, cap, source);
        long pos = CacheFields.counter(meta, prefix + "position", len, Long.MAX_VALUE, source);
        if (window > 0 && len != Math.min(cap, pos)) {
            throw new IllegalArgumentException(source + ": field " + prefix + "length is " + len + ", a ring of " + cap + " after position " + pos
                    + " holds " + Math.min(cap, pos));
        }
        if (window == 0 && pos != len) {
            throw new IllegalArgumentException(source + ": field " + prefix + "position is " + pos + ", a full-attention cache holds every position ("
                    + len + ")");
        }
        int[] shape = {heads, cap, dim};
        float[] k = CacheFields.tensor(tensors, prefix + "keys", shape, source).toFloatArray();
        float[] v = CacheFields.tensor(tensors, prefix + "values", shape, source).toFloatArray();
        keys = k;
        values = v;
        capacity = cap;
        length = len;
        position = pos;
    }

    @Override
    public long position() {
        return position;
    }

    /** Positions currently held. */
    public int length() {
        return length;
    }

    /** Floats held in memory by this cache (for state-size reports). */
    @Override
    public long floats() {
        return 2L * keys.length;
    }

    /** Longest chunk of tokens one {@link #append} may add. */
    public int maxChunk() {
        return maxChunk;
    }

    /** Appends k, v of shape [heads, t, d] (post-RoPE keys), {@code t <= maxChunk}. */
    public void append(Tensor k, Tensor v) {
        int t = k.dim(1);
        if (t > maxChunk) throw new IllegalArgumentException("chunk of " + t + " tokens exceeds the cache's maxChunk " + maxChunk);
        float[] kf = k.f32(), vf = v.f32();
        ensureRoom(t);
        for (int i = 0; i < t; i++) {
            int slot = reserve();
            for (int h = 0; h < heads; h++) {
                System.arraycopy(kf, k.offset() + (h * t + i) * dim, keys, (h * capacity + slot) * dim, dim);
                System.arraycopy(vf, v.offset() + (h * t + i) * dim, values, (h * capacity + slot) * dim, dim);
            }
        }
    }

    /**
     * Makes room for one more position and returns its slot; the caller writes its keys and values
     * for every head at {@code (head * capacity() + slot) * d} of {@link #keyBuffer()} and
     * {@link #valueBuffer()} (read them after this call: growing replaces them).
     */
    public int reserve() {
        int slot;
        if (window > 0) {
            slot = (int) (position % capacity);
            length = Math.min(capacity, length + 1);
        } else {
            if (length == capacity) grow(capacity * 2);
            slot = length++;
        }
        position++;
        return slot;
    }

    /** The key buffer [heads, capacity, d], shared, not copied (for the decode step). */
    public float[] keyBuffer() {
        return keys;
    }

    /** The value buffer [heads, capacity, d], shared, not copied. */
    public float[] valueBuffer() {
        return values;
    }

    /** Positions the buffers have room for. */
    public int capacity() {
        return capacity;
    }

    /** Keys a query sees: the window, or 0 for all of them. */
    public int window() {
        return window;
    }

    /**
     * Makes room for {@code positions} more positions in one step (a full-attention cache about to
     * read a long input grows once instead of doubling its way there, copying at each step); a
     * ring's room is fixed.
     */
    public void ensureRoom(int positions) {
        if (positions < 0) throw new IllegalArgumentException("positions must be >= 0, got " + positions);
        long needed = (long) length + positions;
        if (window > 0 || needed <= capacity) return;
        if ((long) heads * needed * dim > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a KV cache of " + needed + " positions (" + heads + " heads of " + dim + ") exceeds one Java array");
        }
        grow((int) Math.max(needed, Math.min((long) capacity * 2, (Integer.MAX_VALUE - 8) / ((long) heads * dim))));
    }

    private void grow(int next) {
        float[] k2 = new float[heads * next * dim], v2 = new float[heads * next * dim];
        for (int h = 0; h < heads; h++) {
            System.arraycopy(keys, h * capacity * dim, k2, h * next * dim, length * dim);
            System.arraycopy(values, h * capacity * dim, v2, h * next * dim, length * dim);
        }
        keys = k2;
        values = v2;
        capacity = next;
    }

    /**
     * Keys of one head in position order, [1, length, d]: a view without copying while the buffer
     * is in order (full attention, or a ring that has not wrapped), else a copy.
     */
    public Tensor keysOfHead(int head) {
        return ofHead(keys, head);
    }

    /** Values of one head, like {@link #keysOfHead}. */
    public Tensor valuesOfHead(int head) {
        return ofHead(values, head);
    }

    /**
     * Keys of positions [from, to) of one head, [1, to - from, d], a view of a cache that holds
     * every position from 0 (full history: window 0, as qTTT keeps it).
     */
    public Tensor keysOfHead(int head, int from, int to) {
        return rangeOfHead(keys, head, from, to);
    }

    /** Values of positions [from, to) of one head, like {@link #keysOfHead(int, int, int)}. */
    public Tensor valuesOfHead(int head, int from, int to) {
        return rangeOfHead(values, head, from, to);
    }

    private Tensor rangeOfHead(float[] buf, int head, int from, int to) {
        // Every position given is still held (so none was overwritten: the slots are in order).
        if (length != position) throw new IllegalStateException("this cache does not hold every position from 0");
        if (from < 0 || to > length || from > to) {
            throw new IllegalArgumentException("positions [" + from + ", " + to + ") out of the " + length + " cached");
        }
        return Tensor.wrap(new org.ttt4j.core.tensor.Storage.F32(buf), (head * capacity + from) * dim, 1, to - from, dim);
    }

    /** Whether slot i holds the i-th oldest position (no ring wrap-around yet). */
    private boolean inOrder() {
        return window == 0 || position <= capacity;
    }

    private Tensor ofHead(float[] buf, int head) {
        if (inOrder()) {
            return Tensor.wrap(new org.ttt4j.core.tensor.Storage.F32(buf), head * capacity * dim, 1, length, dim);
        }
        // A wrapped ring: this head's positions in order are two runs, oldest (at the next write slot) first.
        // Copy just this head: copying every head for each of them made decoding cost heads^2 x window.
        float[] out = new float[length * dim];
        int start = (int) (position % capacity), tail = capacity - start;
        System.arraycopy(buf, (head * capacity + start) * dim, out, 0, tail * dim);
        System.arraycopy(buf, head * capacity * dim, out, tail * dim, start * dim);
        return Tensor.wrap(new org.ttt4j.core.tensor.Storage.F32(out), 0, 1, length, dim);
    }
}
