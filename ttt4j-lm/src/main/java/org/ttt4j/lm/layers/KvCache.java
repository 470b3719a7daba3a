package org.ttt4j.lm.layers;

import java.util.Map;
import org.ttt4j.core.kernel.PackedMatrix;
import org.ttt4j.core.tensor.Tensor;

/**
 * Keys and values of one attention layer for decoding, [heads, capacity, d] per batch row 0
 * (decoding runs one sequence). Full attention grows its buffer; a sliding window keeps a ring of
 * {@code window} positions, so memory stays constant however long the context.
 *
 * <p>Stored as fp32, or as bfloat16 ({@link Format#BF16}: half the bytes a decoded token reads
 * from a long cache). A bf16 cache rounds what it is given once, when it is written; every path
 * that reads it (the decode step, the chunked prefill, saved states) sees the rounded values,
 * so they agree with one another as an fp32 cache's do. Saved states hold them as fp32 (exactly).
 */
public final class KvCache implements MixerCache {
    /** How keys and values are stored. */
    public enum Format {
        F32("f32"), BF16("bf16");

        private final String label;

        Format(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        /** The format named {@code label} (f32 or bf16). */
        public static Format parse(String label) {
            for (Format f : values()) if (f.label.equalsIgnoreCase(label.strip())) return f;
            throw new IllegalArgumentException("KV cache format: expected f32 or bf16, got \"" + label + "\"");
        }
    }

    private final int heads, dim, window, maxChunk;
    private final Format format;
    private float[] keys, values;        // fp32 storage, null for bf16
    private short[] keys16, values16;    // bf16 storage, null for fp32
    private int capacity, length;
    private long position;

    /**
     * {@code window} 0 means unlimited (full attention). A ring keeps {@code window + maxChunk - 1}
     * positions: the first query of a chunk of {@code maxChunk} tokens still sees its whole window.
     */
    public KvCache(int heads, int dim, int window, int maxChunk) {
        this(heads, dim, window, maxChunk, Format.F32);
    }

    /** A cache storing its keys and values in {@code format}. */
    public KvCache(int heads, int dim, int window, int maxChunk, Format format) {
        if (maxChunk < 1) throw new IllegalArgumentException("maxChunk must be >= 1");
        this.heads = heads;
        this.dim = dim;
        this.window = window;
        this.maxChunk = maxChunk;
        this.format = java.util.Objects.requireNonNull(format, "format");
        this.capacity = window > 0 ? window + maxChunk - 1 : 64;
        allocate(capacity);
    }

    private void allocate(int cap) {
        if (format == Format.F32) {
            keys = new float[heads * cap * dim];
            values = new float[heads * cap * dim];
        } else {
            keys16 = new short[heads * cap * dim];
            values16 = new short[heads * cap * dim];
        }
    }

    /** How this cache stores its keys and values. */
    public Format format() {
        return format;
    }

    /** The buffers and counters, for saving a decoding state ({@link #restore} reverses it). */
    public record Snapshot(float[] keys, float[] values, int capacity, int length, long position) {}

    public Snapshot snapshot() {
        return new Snapshot(floats(keys, keys16), floats(values, values16), capacity, length, position);
    }

    /** The buffer as fp32: a copy (a bf16 buffer widened exactly). */
    private static float[] floats(float[] f32, short[] bf16) {
        if (f32 != null) return f32.clone();
        float[] out = new float[bf16.length];
        widen(bf16, 0, out, 0, out.length);
        return out;
    }

    /** Stores fp32 values into this cache's buffers (rounded once for bf16). */
    private void store(float[] k, float[] v) {
        if (format == Format.F32) {
            keys = k;
            values = v;
        } else {
            keys16 = new short[k.length];
            values16 = new short[v.length];
            for (int i = 0; i < k.length; i++) {
                keys16[i] = PackedMatrix.toBf16(k[i]);
                values16[i] = PackedMatrix.toBf16(v[i]);
            }
        }
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
        c.store(s.keys().clone(), s.values().clone());
        c.capacity = s.capacity();
        c.length = s.length();
        c.position = s.position();
        return c;
    }

    /** Saves keys and values [heads, capacity, d] and the counters capacity, length and position. */
    @Override
    public void saveState(String prefix, Map<String, Tensor> tensors, Map<String, String> meta) {
        tensors.put(prefix + "keys", Tensor.of(floats(keys, keys16), heads, capacity, dim));
        tensors.put(prefix + "values", Tensor.of(floats(values, values16), heads, capacity, dim));
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
        store(k, v);
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

    /** Memory held by this cache in units of 4 bytes, an fp32's (for state-size reports: a bf16 cache holds half). */
    @Override
    public long floats() {
        return format == Format.F32 ? 2L * keys.length : keys16.length;
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
                write(kf, k.offset() + (h * t + i) * dim, true, h, slot);
                write(vf, v.offset() + (h * t + i) * dim, false, h, slot);
            }
        }
    }

    /**
     * Writes the d values at {@code src[from..]} as the key (or value) of {@code head} at
     * {@code slot} (a slot {@link #reserve} returned), rounded to bf16 by a bf16 cache.
     */
    public void write(float[] src, int from, boolean key, int head, int slot) {
        int at = (head * capacity + slot) * dim;
        if (format == Format.F32) {
            System.arraycopy(src, from, key ? keys : values, at, dim);
        } else {
            short[] dst = key ? keys16 : values16;
            for (int i = 0; i < dim; i++) dst[at + i] = PackedMatrix.toBf16(src[from + i]);
        }
    }

    /**
     * Makes room for one more position and returns its slot; the caller writes its keys and values
     * for every head with {@link #write}, or at {@code (head * capacity() + slot) * d} of the
     * buffers (read them after this call: growing replaces them).
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

    /** The fp32 key buffer [heads, capacity, d], shared, not copied (for the decode step); null for a bf16 cache. */
    public float[] keyBuffer() {
        return keys;
    }

    /** The fp32 value buffer [heads, capacity, d], shared, not copied; null for a bf16 cache. */
    public float[] valueBuffer() {
        return values;
    }

    /** The bf16 key buffer [heads, capacity, d], shared; null for an fp32 cache. */
    public short[] keyBits() {
        return keys16;
    }

    /** The bf16 value buffer [heads, capacity, d], shared; null for an fp32 cache. */
    public short[] valueBits() {
        return values16;
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
        Object k = format == Format.F32 ? keys : keys16, v = format == Format.F32 ? values : values16;
        allocate(next);
        Object k2 = format == Format.F32 ? keys : keys16, v2 = format == Format.F32 ? values : values16;
        for (int h = 0; h < heads; h++) {
            System.arraycopy(k, h * capacity * dim, k2, h * next * dim, length * dim);
            System.arraycopy(v, h * capacity * dim, v2, h * next * dim, length * dim);
        }
        capacity = next;
    }

    /**
     * Keys of one head in position order, [1, length, d]: a view without copying while the buffer
     * is in order (full attention, or a ring that has not wrapped), else a copy.
     */
    public Tensor keysOfHead(int head) {
        return ofHead(true, head);
    }

    /** Values of one head, like {@link #keysOfHead}. */
    public Tensor valuesOfHead(int head) {
        return ofHead(false, head);
    }

    /**
     * Keys of positions [from, to) of one head, [1, to - from, d], a view of a cache that holds
     * every position from 0 (full history: window 0, as qTTT keeps it).
     */
    public Tensor keysOfHead(int head, int from, int to) {
        return rangeOfHead(true, head, from, to);
    }

    /** Values of positions [from, to) of one head, like {@link #keysOfHead(int, int, int)}. */
    public Tensor valuesOfHead(int head, int from, int to) {
        return rangeOfHead(false, head, from, to);
    }

    private Tensor rangeOfHead(boolean key, int head, int from, int to) {
        // Every position given is still held (so none was overwritten: the slots are in order).
        if (length != position) throw new IllegalStateException("this cache does not hold every position from 0");
        if (from < 0 || to > length || from > to) {
            throw new IllegalArgumentException("positions [" + from + ", " + to + ") out of the " + length + " cached");
        }
        return run(key, (head * capacity + from) * dim, to - from);
    }

    /**
     * n positions from {@code at} of the key (or value) buffer as a tensor [1, n, d]: a view of an
     * fp32 buffer, a widened copy of a bf16 one (in the open arena scope, if any).
     */
    private Tensor run(boolean key, int at, int n) {
        if (format == Format.F32) return Tensor.wrap(new org.ttt4j.core.tensor.Storage.F32(key ? keys : values), at, 1, n, dim);
        Tensor out = Tensor.zeros(1, n, dim);
        widen(key ? keys16 : values16, at, out.f32(), out.offset(), n * dim);
        return out;
    }

    private static void widen(short[] src, int from, float[] dst, int to, int n) {
        for (int i = 0; i < n; i++) dst[to + i] = PackedMatrix.fromBf16(src[from + i]);
    }

    /** Whether slot i holds the i-th oldest position (no ring wrap-around yet). */
    private boolean inOrder() {
        return window == 0 || position <= capacity;
    }

    private Tensor ofHead(boolean key, int head) {
        if (inOrder()) return run(key, head * capacity * dim, length);
        // A wrapped ring: this head's positions in order are two runs, oldest (at the next write slot) first.
        // Copy just this head: copying every head for each of them made decoding cost heads^2 x window.
        float[] out = new float[length * dim];
        int start = (int) (position % capacity), tail = capacity - start;
        if (format == Format.F32) {
            float[] buf = key ? keys : values;
            System.arraycopy(buf, (head * capacity + start) * dim, out, 0, tail * dim);
            System.arraycopy(buf, head * capacity * dim, out, tail * dim, start * dim);
        } else {
            short[] buf = key ? keys16 : values16;
            widen(buf, (head * capacity + start) * dim, out, 0, tail * dim);
            widen(buf, head * capacity * dim, out, tail * dim, start * dim);
        }
        return Tensor.wrap(new org.ttt4j.core.tensor.Storage.F32(out), 0, 1, length, dim);
    }
}
