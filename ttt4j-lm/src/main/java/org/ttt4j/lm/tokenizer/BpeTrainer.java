package org.ttt4j.lm.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Learns a byte-level BPE vocabulary from a corpus, for {@link BpeTokenizer}.
 *
 * <p>Two passes, as in GPT-2 and HF tokenizers, so that tens of MB train in seconds: first the
 * corpus is cut into pre-tokens (valid UTF-8 runs split by a GPT-2-like regex; invalid bytes are
 * skipped, they are always encoded as single bytes) whose frequencies are counted; then merges run
 * on the unique words only, with pair counts kept up to date incrementally: a merge touches just
 * the words that contain its pair (an index per pair), and a max-heap with lazy re-insertion finds
 * the next best pair without a full recount.
 *
 * <p>Deterministic: the most frequent pair wins, ties go to the pair whose left token's bytes are
 * smallest (unsigned, lexicographic), then the right token's. The requested vocabulary size counts
 * every id including the document boundary, so {@code new BpeTrainer(8192)} yields a tokenizer with
 * {@code vocabSize() == 8192}: 256 bytes, 7935 learned tokens and the boundary. If two merges would
 * produce the same bytes (possible, rarely), the second reuses the existing token and costs no slot.
 */
public final class BpeTrainer {
    /** GPT-2's pre-tokenisation regex (contractions, letters, digits, other, whitespace runs). */
    public static final String GPT2_PATTERN =
            "'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private final int vocabSize;
    private String name;
    private String pattern = GPT2_PATTERN;
    private Consumer<String> progress = System.err::println;
    private long progressMillis = 3000;

    /** @param vocabSize total ids of the resulting tokenizer, boundary included; at least 257 */
    public BpeTrainer(int vocabSize) {
        if (vocabSize < 257 || vocabSize > (1 << 24)) {
            throw new IllegalArgumentException("vocabSize must be in [257, 2^24], got " + vocabSize);
        }
        this.vocabSize = vocabSize;
        this.name = "bpe:" + vocabSize;
    }

    /** The tokenizer's name (default {@code bpe:<vocabSize>}). */
    public BpeTrainer name(String name) {
        this.name = name;
        return this;
    }

    /** Pre-tokenisation regex (default {@link #GPT2_PATTERN}); it must match every character. */
    public BpeTrainer pattern(String regex) {
        Pattern.compile(regex, BpeTokenizer.PATTERN_FLAGS);
        this.pattern = regex;
        return this;
    }

    /** Where progress lines go (default System.err), and how often (default every 3 s). */
    public BpeTrainer progress(Consumer<String> sink, long everyMillis) {
        this.progress = sink;
        this.progressMillis = everyMillis;
        return this;
    }

    public BpeVocabulary train(Iterable<byte[]> documents) {
        return train(documents.iterator());
    }

    public BpeVocabulary train(Iterator<byte[]> documents) {
        long t0 = System.nanoTime();
        Map<String, long[]> freq = countWords(documents, t0);
        return merge(freq, t0);
    }

    // ---------------------------------------------------------------- pass 1: pre-token counts

    private Map<String, long[]> countWords(Iterator<byte[]> documents, long t0) {
        Matcher m = Pattern.compile(pattern, BpeTokenizer.PATTERN_FLAGS).matcher("");
        Map<String, long[]> freq = new HashMap<>(1 << 16);
        long bytes = 0;
        long docs = 0;
        long lastReport = System.nanoTime();
        while (documents.hasNext()) {
            byte[] b = documents.next();
            docs++;
            bytes += b.length;
            int i = 0;
            while (i < b.length) {
                int end = Utf8.validRunEnd(b, i, b.length);
                if (end == i) {
                    i++; // invalid byte: always its own single-byte token, nothing to learn
                    continue;
                }
                m.reset(new String(b, i, end - i, StandardCharsets.UTF_8));
                while (m.find()) {
                    freq.computeIfAbsent(m.group(), k -> new long[1])[0]++;
                }
                i = end;
            }
            long now = System.nanoTime();
            if (now - lastReport > progressMillis * 1_000_000L) {
                lastReport = now;
                progress.accept(String.format("bpe: counted %d docs, %.1f MB, %d unique pre-tokens, %.1f s",
                        docs, bytes / 1e6, freq.size(), (now - t0) / 1e9));
            }
        }
        progress.accept(String.format("bpe: counted %d docs, %.1f MB, %d unique pre-tokens, %.1f s",
                docs, bytes / 1e6, freq.size(), (System.nanoTime() - t0) / 1e9));
        return freq;
    }

    // ---------------------------------------------------------------- pass 2: merges

    /** Count and word index of one adjacent pair; the index may hold stale or repeated words. */
    private static final class PairStat {
        long count;
        int[] words = new int[2];
        int n;

        void addWord(int w) {
            if (n > 0 && words[n - 1] == w) {
                return;
            }
            if (n == words.length) {
                words = Arrays.copyOf(words, n * 2);
            }
            words[n++] = w;
        }
    }

    private record Candidate(long count, int left, int right) {
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private BpeVocabulary merge(Map<String, long[]> freq, long t0) {
        // words sorted by their bytes so that everything below is independent of hash order
        List<byte[]> wordBytes = new ArrayList<>(freq.size());
        List<Long> wordCounts = new ArrayList<>(freq.size());
        freq.entrySet().stream()
                .map(e -> Map.entry(e.getKey().getBytes(StandardCharsets.UTF_8), e.getValue()[0]))
                .sorted((x, y) -> Arrays.compareUnsigned(x.getKey(), y.getKey()))
                .forEach(e -> {
                    wordBytes.add(e.getKey());
                    wordCounts.add(e.getValue());
                });
        freq.clear();
        int nw = wordBytes.size();
        int[][] sym = new int[nw][];
        int[] len = new int[nw];
        long[] cnt = new long[nw];
        for (int w = 0; w < nw; w++) {
            byte[] wb = wordBytes.get(w);
            sym[w] = new int[wb.length];
            for (int i = 0; i < wb.length; i++) {
                sym[w][i] = wb[i] & 0xFF;
            }
            len[w] = wb.length;
            cnt[w] = wordCounts.get(w);
        }
        wordBytes.clear();

        List<byte[]> tokens = new ArrayList<>(vocabSize);
        Map<String, Integer> byBytes = new HashMap<>(vocabSize * 2);
        for (int b = 0; b < 256; b++) {
            tokens.add(new byte[] {(byte) b});
            byBytes.put(latin1(tokens.get(b)), b);
        }

        HashMap<Long, PairStat> pairs = new HashMap<>(1 << 16);
        for (int w = 0; w < nw; w++) {
            for (int i = 0; i + 1 < len[w]; i++) {
                PairStat p = pairs.computeIfAbsent(key(sym[w][i], sym[w][i + 1]), k -> new PairStat());
                p.count += cnt[w];
                p.addWord(w);
            }
        }
        Comparator<Candidate> order = (x, y) -> {
            if (x.count != y.count) {
                return Long.compare(y.count, x.count);
            }
            int c = Arrays.compareUnsigned(tokens.get(x.left), tokens.get(y.left));
            return c != 0 ? c : Arrays.compareUnsigned(tokens.get(x.right), tokens.get(y.right));
        };
        PriorityQueue<Candidate> heap = new PriorityQueue<>(Math.max(16, pairs.size()), order);
        pairs.forEach((k, p) -> heap.add(new Candidate(p.count, (int) (k >>> 32), (int) (long) k)));

        int targetRanks = vocabSize - 1;
        int totalMerges = targetRanks - 256;
        long lastReport = System.nanoTime();
        Map<Long, PairStat> touched = new HashMap<>();
        while (tokens.size() < targetRanks) {
            Candidate top = heap.poll();
            if (top == null) {
                progress.accept(String.format("bpe: corpus exhausted after %d of %d merges; vocabulary has %d ids",
                        tokens.size() - 256, totalMerges, tokens.size() + 1));
                break;
            }
            long k = key(top.left, top.right);
            PairStat p = pairs.get(k);
            if (p == null || p.count <= 0) {
                continue;
            }
            if (p.count != top.count) { // stale: counts only fall, so re-queue with the current one
                heap.add(new Candidate(p.count, top.left, top.right));
                continue;
            }
            int a = top.left;
            int b = top.right;
            byte[] merged = concat(tokens.get(a), tokens.get(b));
            String mk = latin1(merged);
            Integer existing = byBytes.get(mk);
            int c;
            if (existing != null) {
                c = existing;
            } else {
                c = tokens.size();
                tokens.add(merged);
                byBytes.put(mk, c);
            }
            int[] ws = Arrays.copyOf(p.words, p.n);
            Arrays.sort(ws);
            touched.clear();
            int prevW = -1;
            for (int w : ws) {
                if (w == prevW) {
                    continue;
                }
                prevW = w;
                int[] s = sym[w];
                int l = len[w];
                boolean has = false;
                for (int i = 0; i + 1 < l; i++) {
                    if (s[i] == a && s[i + 1] == b) {
                        has = true;
                        break;
                    }
                }
                if (!has) {
                    continue; // stale index entry
                }
                long f = cnt[w];
                for (int i = 0; i + 1 < l; i++) {
                    pairs.get(key(s[i], s[i + 1])).count -= f;
                }
                int j = 0;
                for (int i = 0; i < l; ) {
                    if (i + 1 < l && s[i] == a && s[i + 1] == b) {
                        s[j++] = c;
                        i += 2;
                    } else {
                        s[j++] = s[i++];
                    }
                }
                len[w] = j;
                for (int i = 0; i + 1 < j; i++) {
                    long pk = key(s[i], s[i + 1]);
                    PairStat q = pairs.get(pk);
                    if (q == null) {
                        q = new PairStat();
                        pairs.put(pk, q);
                    }
                    q.count += f;
                    if (s[i] == c || s[i + 1] == c) {
                        q.addWord(w);
                        touched.put(pk, q);
                    }
                }
            }
            pairs.remove(k);
            // pairs with the new token got counts that may have risen: (re-)queue them
            touched.forEach((pk, q) -> {
                if (q.count > 0) {
                    heap.add(new Candidate(q.count, (int) (pk >>> 32), (int) (long) pk));
                }
            });
            long now = System.nanoTime();
            if (now - lastReport > progressMillis * 1_000_000L) {
                lastReport = now;
                progress.accept(String.format("bpe: merges %d/%d, %.1f s", tokens.size() - 256, totalMerges,
                        (now - t0) / 1e9));
            }
        }
        progress.accept(String.format("bpe: merges %d/%d done, %.1f s", tokens.size() - 256, totalMerges,
                (System.nanoTime() - t0) / 1e9));
        return new BpeVocabulary(name, pattern, tokens);
    }

    private static byte[] concat(byte[] x, byte[] y) {
        byte[] r = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, r, x.length, y.length);
        return r;
    }

    private static String latin1(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }
}
