package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {
    private static BpeTrainer trainer(int vocabSize) {
        return new BpeTrainer(vocabSize).progress(s -> { }, 1000);
    }

    private static List<byte[]> corpus() {
        List<byte[]> docs = new ArrayList<>(TestTexts.realText(12, 40_000).values());
        Random r = new Random(5);
        for (int i = 0; i < 8; i++) {
            docs.add(TestTexts.syntheticJava(r, 20_000).getBytes(StandardCharsets.UTF_8));
        }
        docs.add(TestTexts.randomBytes(r, 3000)); // invalid bytes in the corpus are tolerated
        return docs;
    }

    @Test
    void exactSizeDeterministicAndLoadsThroughJtokkit(@TempDir Path tmp) throws IOException {
        List<byte[]> docs = corpus();
        BpeVocabulary v1 = trainer(2048).train(docs);
        BpeVocabulary v2 = trainer(2048).train(docs.iterator());
        assertEquals(2047, v1.ranks().size());
        assertEquals(2048, v1.vocabSize());
        v1.save(tmp.resolve("a"));
        v2.save(tmp.resolve("b"));
        for (String f : new String[] {BpeVocabulary.RANKS_FILE, BpeVocabulary.SIDECAR_FILE}) {
            assertEquals(-1L, Files.mismatch(tmp.resolve("a").resolve(f), tmp.resolve("b").resolve(f)), f + " differs between runs");
        }
        List<String> lines = Files.readAllLines(tmp.resolve("a").resolve(BpeVocabulary.RANKS_FILE));
        assertEquals(2047, lines.size());
        assertEquals("AA== 0", lines.get(0), "rank 0 is the byte 0 in base64");
        assertEquals("IA== 32", lines.get(32));

        BpeTokenizer t = BpeTokenizer.load(tmp.resolve("a"));
        assertEquals(2048, t.vocabSize());
        assertEquals(2047, t.documentBoundary());
        assertEquals("bpe:2048", t.name());
        long bytes = 0;
        long tokens = 0;
        for (byte[] d : docs) {
            int[] ids = t.encode(d);
            assertArrayEquals(d, t.decode(ids));
            bytes += d.length;
            tokens += ids.length;
        }
        assertTrue(tokens * 2 < bytes, "expected over 2 bytes/token on the training text, got " + (double) bytes / tokens);
        // the tokenizer encodes in jtokkit exactly as a tiktoken-style encoder of the same ranks would:
        // a learned token on its own encodes to its own id
        for (int rank = 256; rank < 2047; rank += 97) {
            byte[] tok = v1.ranks().get(rank);
            if (Utf8.validRunEnd(tok, 0, tok.length) == tok.length
                    && Pattern.compile(BpeTrainer.GPT2_PATTERN, Pattern.UNICODE_CHARACTER_CLASS)
                    .matcher(new String(tok, StandardCharsets.UTF_8)).matches()) {
                assertArrayEquals(new int[] {rank}, t.encode(tok), "rank " + rank);
            }
        }
    }

    @Test
    void commonPairsMergeFirst() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            sb.append(" the");
        }
        for (int i = 0; i < 10; i++) {
            sb.append(" cat");
        }
        sb.append(" xyz");
        BpeVocabulary v = trainer(256 + 6 + 1).train(List.of(sb.toString().getBytes(StandardCharsets.UTF_8)));
        List<String> learned = v.ranks().subList(256, v.ranks().size()).stream()
                .map(b -> new String(b, StandardCharsets.UTF_8)).toList();
        // " t", "th", "he" tie at 100: smallest bytes first (" t"), then " t"+"h" (100) beats "he" (100)
        // because " t" < "h"; then " th"+"e"; then the cat pairs (10); the singletons of xyz last
        assertEquals(List.of(" t", " th", " the", " c", " ca", " cat"), learned);
    }

    @Test
    void matchesNaiveReferenceTrainer() {
        Random r = new Random(9);
        // small alphabets give many ties and overlapping pairs (aaa), the hard cases for incremental counts
        for (int trial = 0; trial < 12; trial++) {
            List<byte[]> docs = new ArrayList<>();
            String alphabet = trial % 3 == 0 ? "ab " : trial % 3 == 1 ? "abc d" : "aab bcé\n";
            for (int d = 0; d < 5; d++) {
                StringBuilder sb = new StringBuilder();
                int n = 50 + r.nextInt(400);
                for (int i = 0; i < n; i++) {
                    sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
                }
                docs.add(sb.toString().getBytes(StandardCharsets.UTF_8));
            }
            int vocab = 257 + 5 + r.nextInt(60);
            List<byte[]> expected = naiveTrain(docs, vocab - 1);
            BpeVocabulary got = trainer(vocab).train(docs);
            assertEquals(expected.size(), got.ranks().size(), "trial " + trial);
            for (int i = 0; i < expected.size(); i++) {
                assertArrayEquals(expected.get(i), got.ranks().get(i), "trial " + trial + " rank " + i);
            }
        }
        // and on real text
        List<byte[]> real = new ArrayList<>(TestTexts.realText(3, 8_000).values());
        List<byte[]> expected = naiveTrain(real, 400 - 1);
        List<byte[]> got = trainer(400).train(real).ranks();
        assertEquals(expected.size(), got.size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), got.get(i), "real text rank " + i);
        }
    }

    @Test
    void smallCorpusStopsEarlyAndSaysSo() {
        List<String> messages = new ArrayList<>();
        BpeVocabulary v = new BpeTrainer(1000).progress(messages::add, 1000)
                .train(List.of("abab".getBytes(StandardCharsets.UTF_8)));
        assertEquals(256 + 2, v.ranks().size(), "ab, then abab");
        assertTrue(messages.stream().anyMatch(m -> m.contains("exhausted")), messages.toString());
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(100));
    }

    /** Full recount per merge: slow, obviously right, same tie-breaking and same-bytes reuse. */
    private static List<byte[]> naiveTrain(List<byte[]> docs, int targetRanks) {
        Matcher m = Pattern.compile(BpeTrainer.GPT2_PATTERN, Pattern.UNICODE_CHARACTER_CLASS).matcher("");
        Map<String, Long> freq = new TreeMap<>();
        for (byte[] d : docs) {
            int i = 0;
            while (i < d.length) {
                int end = Utf8.validRunEnd(d, i, d.length);
                if (end == i) {
                    i++;
                    continue;
                }
                m.reset(new String(d, i, end - i, StandardCharsets.UTF_8));
                while (m.find()) {
                    freq.merge(m.group(), 1L, Long::sum);
                }
                i = end;
            }
        }
        List<List<Integer>> words = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        freq.forEach((w, c) -> {
            List<Integer> s = new ArrayList<>();
            for (byte b : w.getBytes(StandardCharsets.UTF_8)) {
                s.add(b & 0xFF);
            }
            words.add(s);
            counts.add(c);
        });
        List<byte[]> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(new byte[] {(byte) b});
        }
        while (tokens.size() < targetRanks) {
            Map<List<Integer>, Long> pc = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<Integer> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pc.merge(List.of(s.get(i), s.get(i + 1)), counts.get(w), Long::sum);
                }
            }
            List<Integer> best = null;
            long bestCount = 0;
            for (var e : pc.entrySet()) {
                List<Integer> p = e.getKey();
                long c = e.getValue();
                int cmp = best == null ? -1 : c != bestCount ? Long.compare(bestCount, c)
                        : Arrays.compareUnsigned(tokens.get(p.get(0)), tokens.get(best.get(0))) != 0
                        ? Arrays.compareUnsigned(tokens.get(p.get(0)), tokens.get(best.get(0)))
                        : Arrays.compareUnsigned(tokens.get(p.get(1)), tokens.get(best.get(1)));
                if (cmp < 0) {
                    best = p;
                    bestCount = c;
                }
            }
            if (best == null) {
                break;
            }
            byte[] a = tokens.get(best.get(0));
            byte[] b = tokens.get(best.get(1));
            byte[] merged = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, merged, a.length, b.length);
            int c = -1;
            for (int i = 0; i < tokens.size(); i++) {
                if (Arrays.equals(tokens.get(i), merged)) {
                    c = i;
                }
            }
            if (c < 0) {
                c = tokens.size();
                tokens.add(merged);
            }
            for (List<Integer> s : words) {
                List<Integer> out = new ArrayList<>();
                for (int i = 0; i < s.size(); ) {
                    if (i + 1 < s.size() && s.get(i).equals(best.get(0)) && s.get(i + 1).equals(best.get(1))) {
                        out.add(c);
                        i += 2;
                    } else {
                        out.add(s.get(i++));
                    }
                }
                s.clear();
                s.addAll(out);
            }
        }
        return tokens;
    }
}
