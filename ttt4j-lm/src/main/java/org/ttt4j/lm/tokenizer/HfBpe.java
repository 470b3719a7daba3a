package org.ttt4j.lm.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of a Hugging Face tokenizer.json: a word (one pre-token) to ids. Symbols start as
 * the word's code points (each looked up in the vocabulary, else its UTF-8 bytes as {@code <0xXX>}
 * tokens when byte fallback is on, else the unknown token); then the pair of adjacent symbols with
 * the lowest merge rank is merged, leftmost first on ties, until no listed pair remains.
 */
final class HfBpe {
    private final Map<String, Integer> vocab;
    private final LongIntMap pairRank;   // (left id, right id) -> rank
    private final int[] mergeResult;     // rank -> merged id
    private final boolean ignoreMerges;
    private final int unkId;             // -1: none
    private final boolean fuseUnk;
    private final int[] byteFallback;    // byte -> id of <0xXX>, or null when byte fallback is off
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();
    private static final int CACHE_LIMIT = 100_000;
    private static final int CACHE_MAX_WORD = 256;

    HfBpe(Map<String, Integer> vocab, long[] pairs, int[] mergeResult, boolean ignoreMerges, int unkId, boolean fuseUnk,
          int[] byteFallback) {
        this.vocab = vocab;
        this.mergeResult = mergeResult;
        this.pairRank = new LongIntMap(pairs.length * 2 + 16);
        for (int r = pairs.length - 1; r >= 0; r--) pairRank.put(pairs[r], r); // the first listing of a pair wins
        this.ignoreMerges = ignoreMerges;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
    }

    static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    /** Appends the ids of {@code word} to {@code out}. */
    void encode(String word, IntList out) {
        if (word.isEmpty()) return;
        if (word.length() <= CACHE_MAX_WORD) {
            int[] hit = cache.get(word);
            if (hit != null) {
                out.addAll(hit);
                return;
            }
        }
        int[] ids = encodeUncached(word);
        if (word.length() <= CACHE_MAX_WORD && cache.size() < CACHE_LIMIT) cache.put(word, ids);
        out.addAll(ids);
    }

    private int[] encodeUncached(String word) {
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) return new int[] {whole};
        }
        IntList sym = new IntList(word.length());
        boolean lastUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int n = Character.charCount(cp);
            Integer id = vocab.get(word.substring(i, i + n));
            i += n;
            if (id != null) {
                sym.add(id);
                lastUnk = false;
                continue;
            }
            if (byteFallback != null) {
                byte[] bytes = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) all &= byteFallback[b & 0xff] >= 0;
                if (all) {
                    for (byte b : bytes) sym.add(byteFallback[b & 0xff]);
                    lastUnk = false;
                    continue;
                }
            }
            if (unkId >= 0) {
                if (!(fuseUnk && lastUnk)) sym.add(unkId);
                lastUnk = true;
            }
        }
        return merge(sym.toArray());
    }

    private int[] merge(int[] ids) {
        int n = ids.length;
        if (n < 2) return ids;
        int[] next = new int[n];
        int[] prev = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            int r = pairRank.get(pair(ids[i], ids[i + 1]));
            if (r >= 0) heap.push(((long) r << 32) | i);
        }
        int alive = n;
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            if (dead[pos]) continue;
            int right = next[pos];
            if (right < 0 || pairRank.get(pair(ids[pos], ids[right])) != rank) continue; // stale entry
            ids[pos] = mergeResult[rank];
            dead[right] = true;
            alive--;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            int p = prev[pos];
            if (p >= 0) {
                int r = pairRank.get(pair(ids[p], ids[pos]));
                if (r >= 0) heap.push(((long) r << 32) | p);
            }
            if (next[pos] >= 0) {
                int r = pairRank.get(pair(ids[pos], ids[next[pos]]));
                if (r >= 0) heap.push(((long) r << 32) | pos);
            }
        }
        int[] out = new int[alive];
        for (int i = 0, k = 0; i >= 0; i = next[i]) out[k++] = ids[i];
        return out;
    }

    /** A growable int array. */
    static final class IntList {
        int[] a;
        int size;

        IntList(int capacity) {
            a = new int[Math.max(4, capacity)];
        }

        void add(int v) {
            if (size == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[size++] = v;
        }

        void addAll(int[] v) {
            if (size + v.length > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, size + v.length));
            System.arraycopy(v, 0, a, size, v.length);
            size += v.length;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }

    /** Open addressing long -> non-negative int; get answers -1 for absent keys. */
    static final class LongIntMap {
        private final long[] keys;
        private final int[] values;
        private final boolean[] used;
        private final int mask;

        LongIntMap(int expected) {
            int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
            keys = new long[cap];
            values = new int[cap];
            used = new boolean[cap];
            mask = cap - 1;
        }

        private int slot(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 29)) & mask;
        }

        void put(long k, int v) {
            int i = slot(k);
            while (used[i] && keys[i] != k) i = (i + 1) & mask;
            used[i] = true;
            keys[i] = k;
            values[i] = v;
        }

        int get(long k) {
            int i = slot(k);
            while (used[i]) {
                if (keys[i] == k) return values[i];
                i = (i + 1) & mask;
            }
            return -1;
        }
    }

    /** A binary min-heap of longs. */
    static final class LongHeap {
        private long[] h;
        private int size;

        LongHeap(int capacity) {
            h = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == h.length) h = Arrays.copyOf(h, h.length * 2);
            int i = size++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (h[p] <= v) break;
                h[i] = h[p];
                i = p;
            }
            h[i] = v;
        }

        long pop() {
            long top = h[0];
            long last = h[--size];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= size) break;
                if (c + 1 < size && h[c + 1] < h[c]) c++;
                if (h[c] >= last) break;
                h[i] = h[c];
                i = c;
            }
            h[i] = last;
            return top;
        }
    }
}
