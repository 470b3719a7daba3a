package org.ttt4j.lm.data;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizedCorpusTest {
    @TempDir
    Path tmp;
    Path corpus;
    Path cache;
    ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    TokenizedCorpus.Options options;
    static final Split SPLIT = new Split(1, 0.1);

    @BeforeEach
    void makeCorpus() throws IOException {
        corpus = tmp.resolve("corpus");
        cache = tmp.resolve("cache");
        Random r = new Random(42);
        String words = "the of and to in is that for it as with was on be by this are from at or an";
        String[] w = words.split(" ");
        for (int i = 0; i < 40; i++) {
            StringBuilder sb = new StringBuilder("doc " + i + ":");
            int n = 20 + r.nextInt(i % 7 == 0 ? 3000 : 300);
            for (int k = 0; k < n; k++) sb.append(' ').append(w[r.nextInt(w.length)]);
            Path p = corpus.resolve("d" + (i % 4) + "/file" + i + ".txt");
            Files.createDirectories(p.getParent());
            Files.writeString(p, sb.toString());
        }
        options = TokenizedCorpus.Options.defaults().withThreads(2)
                .withLog(new PrintStream(logBytes, true, StandardCharsets.UTF_8));
    }

    String log() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }

    TokenizedCorpus open(ByteTokenizer tok) {
        return open(tok, options, cache);
    }

    TokenizedCorpus open(ByteTokenizer tok, TokenizedCorpus.Options opt, Path cacheRoot) {
        try (CorpusSource src = Corpus.open(corpus.toString())) {
            return TokenizedCorpus.open(src, tok, SPLIT, cacheRoot, opt);
        }
    }

    @Test
    void documentsAreWholeInIdOrderEachFollowedByTheBoundary() throws IOException {
        ByteTokenizer tok = new ByteTokenizer();
        try (TokenizedCorpus tc = open(tok); CorpusSource src = Corpus.open(corpus.toString())) {
            assertTrue(tc.wasBuilt());
            assertEquals("uint16", tc.manifest().dtype());
            Set<String> val = SPLIT.validationIds(src.entries());
            assertFalse(val.isEmpty());
            assertEquals(val.size(), tc.validation().documents());
            assertEquals(40 - val.size(), tc.train().documents());
            long expectedPos = 0;
            int d = 0;
            for (CorpusSource.DocumentInfo e : src.entries()) {
                if (val.contains(e.id())) continue;
                TokenShards t = tc.train();
                assertEquals(e.id(), t.documentId(d));
                assertEquals(expectedPos, t.documentStart(d));
                byte[] content = Files.readAllBytes(corpus.resolve(e.id()));
                assertArrayEquals(content, tok.decode(t.document(d).tokens()));
                assertEquals(256, t.get(t.documentStart(d) + t.documentLength(d)), "boundary after " + e.id());
                expectedPos += content.length + 1;
                d++;
            }
            assertEquals(expectedPos, tc.train().tokens());
            int boundaries = 0;
            for (int t : tc.train().read(0, (int) tc.train().tokens())) if (t == 256) boundaries++;
            assertEquals(tc.train().documents(), boundaries, "exactly one boundary per document");
            assertTrue(log().contains("tokenising directory " + corpus), log());
        }
    }

    @Test
    void secondOpenReusesTheCacheAndAChangeRebuildsIt() throws IOException {
        ByteTokenizer tok = new ByteTokenizer();
        Path dir;
        try (TokenizedCorpus a = open(tok)) {
            dir = a.directory();
        }
        long calls = tok.encodeCalls.get();
        try (TokenizedCorpus b = open(tok)) {
            assertFalse(b.wasBuilt());
            assertEquals(dir, b.directory());
        }
        assertEquals(calls + 1, tok.encodeCalls.get(), "only the fingerprint probe is encoded on reuse");

        Path f = corpus.resolve("d1/file1.txt");
        Files.writeString(f, "a changed document");
        Files.setLastModifiedTime(f, FileTime.fromMillis(Files.getLastModifiedTime(f).toMillis() + 5000));
        try (TokenizedCorpus c = open(tok)) {
            assertTrue(c.wasBuilt());
            assertNotEquals(dir, c.directory());
        }
        assertTrue(tok.encodeCalls.get() > calls + 40);
        // another tokenizer gets its own cache
        try (TokenizedCorpus w = open(new ByteTokenizer(70_000, 60_000))) {
            assertTrue(w.wasBuilt());
            assertEquals("int32", w.manifest().dtype());
            assertEquals(60_000 + 'd', w.train().get(0));
            assertEquals(69_999, w.train().get(w.train().documentLength(0)));
        }
    }

    @Test
    void truncatedShardIsDetectedAndRebuilt() throws IOException {
        ByteTokenizer tok = new ByteTokenizer();
        int[] before;
        Path shard;
        try (TokenizedCorpus a = open(tok)) {
            before = a.train().read(0, (int) a.train().tokens());
            shard = a.directory().resolve(a.manifest().train().shards().get(0).file());
        }
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 10);
        }
        try (TokenizedCorpus b = open(tok)) {
            assertTrue(b.wasBuilt());
            assertArrayEquals(before, b.train().read(0, (int) b.train().tokens()));
        }
        assertTrue(log().contains("damaged (shard train-00000.bin has"), log());

        // an unfinished build of a dead process is cleaned up; a cache without manifest is rebuilt
        Path stale = cache.resolve(".tmp-whatever-" + Long.MAX_VALUE);
        Files.createDirectories(stale);
        Files.delete(shard.getParent().resolve("manifest.json"));
        try (TokenizedCorpus c = open(tok)) {
            assertTrue(c.wasBuilt());
        }
        assertFalse(Files.exists(stale));
    }

    @Test
    void outputIsBitIdenticalForAnyThreadCountAndReadsCrossShards() throws IOException {
        TokenizedCorpus.Options small = options.withShardTokens(3000);
        List<byte[]> files1 = new ArrayList<>();
        List<byte[]> files3 = new ArrayList<>();
        int[] all;
        try (TokenizedCorpus one = open(new ByteTokenizer(), small.withThreads(1), tmp.resolve("c1"));
             TokenizedCorpus three = open(new ByteTokenizer(), small.withThreads(3), tmp.resolve("c3"));
             TokenizedCorpus big = open(new ByteTokenizer(), options, tmp.resolve("cbig"))) {
            assertTrue(one.manifest().train().shards().size() > 3, "several shards");
            assertEquals(one.manifest().train().shards(), three.manifest().train().shards());
            for (ShardManifest.Shard s : one.manifest().train().shards()) {
                files1.add(Files.readAllBytes(one.directory().resolve(s.file())));
                files3.add(Files.readAllBytes(three.directory().resolve(s.file())));
            }
            for (int i = 0; i < files1.size(); i++) assertArrayEquals(files1.get(i), files3.get(i));
            assertArrayEquals(Files.readAllBytes(one.directory().resolve("train.index")),
                    Files.readAllBytes(three.directory().resolve("train.index")));
            all = big.train().read(0, (int) big.train().tokens());
            assertEquals(1, big.manifest().train().shards().size());
            assertArrayEquals(all, one.train().read(0, (int) one.train().tokens()));
            // a read spanning a shard boundary
            long edge = one.manifest().train().shards().get(0).tokens();
            assertArrayEquals(Arrays.copyOfRange(all, (int) edge - 5, (int) edge + 5), one.train().read(edge - 5, 10));
        }
    }

    @Test
    void batchesAreDeterministicAndResumeExactlyFromSerialisedState() throws IOException {
        try (TokenizedCorpus tc = open(new ByteTokenizer())) {
            BatchSampler a = tc.sampler(4, 32, 99);
            List<Batch> straight = new ArrayList<>();
            for (int i = 0; i < 10; i++) straight.add(a.next());
            Batch first = straight.get(0);
            assertEquals(4, first.rows());
            assertEquals(33, first.columns());
            int[] stream = tc.train().read(0, (int) tc.train().tokens());
            for (int r = 0; r < 4; r++) assertTrue(isSlice(stream, first.row(r)), "a row is a window of the stream");

            BatchSampler b = tc.sampler(4, 32, 99);
            for (int i = 0; i < 5; i++) assertArrayEquals(straight.get(i).tokens(), b.next().tokens());
            ObjectMapper json = new ObjectMapper();
            String saved = json.writeValueAsString(b.state());
            assertTrue(saved.contains("\"step\":5"), saved);

            BatchSampler resumed = tc.sampler(4, 32, 12345);
            resumed.restore(json.readValue(saved, SamplerState.class));
            for (int i = 5; i < 10; i++) assertArrayEquals(straight.get(i).tokens(), resumed.next().tokens(), "step " + i);
            assertArrayEquals(straight.get(3).tokens(), a.batchAt(3).tokens());
            assertFalse(Arrays.equals(first.tokens(), tc.sampler(4, 32, 100).next().tokens()), "the seed matters");

            IllegalArgumentException wrongShape = assertThrows(IllegalArgumentException.class,
                    () -> tc.sampler(8, 32, 99).restore(json.readValue(saved, SamplerState.class)));
            assertTrue(wrongShape.getMessage().contains("batch 4"), wrongShape.getMessage());
        }
    }

    private static boolean isSlice(int[] stream, int[] row) {
        outer:
        for (int s = 0; s + row.length <= stream.length; s++) {
            for (int k = 0; k < row.length; k++) if (stream[s + k] != row[k]) continue outer;
            return true;
        }
        return false;
    }

    @Test
    void validationBatchesCoverEveryHeldOutTokenOnceAndLongestDocumentsAreWhole() throws IOException {
        ByteTokenizer tok = new ByteTokenizer();
        try (TokenizedCorpus tc = open(tok)) {
            TokenShards v = tc.validation();
            List<Batch> batches = tc.validationBatches(3, 16);
            assertEquals(batches.size(), tc.validationBatches(3, 16).size());
            long targets = 0;
            for (Batch b : batches) {
                targets += b.targetCount();
                for (int r = 0; r < b.rows(); r++) {
                    for (int c = b.lengths()[r]; c < b.columns(); c++) assertEquals(256, b.get(r, c), "padding");
                }
            }
            // each document plus its boundary: every token but the first is a target exactly once
            assertEquals(v.tokens() - v.documents(), targets);
            assertArrayEquals(v.read(0, 17), batches.get(0).row(0));
            assertArrayEquals(batches.get(0).tokens(), tc.validationBatches(3, 16).get(0).tokens());

            List<TokenDocument> longest = tc.longestDocuments(2, 0);
            assertTrue(longest.size() >= 1);
            for (int i = 1; i < longest.size(); i++) assertTrue(longest.get(i - 1).length() >= longest.get(i).length());
            TokenDocument top = longest.get(0);
            assertArrayEquals(Files.readAllBytes(corpus.resolve(top.id())), tok.decode(top.tokens()));
            assertTrue(tc.longestDocuments(5, Integer.MAX_VALUE).isEmpty());
        }
    }
}
