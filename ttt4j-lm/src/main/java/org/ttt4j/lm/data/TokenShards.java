package org.ttt4j.lm.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * One split of a token cache, memory-mapped: the documents' tokens concatenated, each followed by
 * the boundary id, addressed by a global position across shards. Mapping instead of loading keeps
 * a multi-hundred-MB cache out of the Java heap and makes opening it instant. Thread-safe for reads.
 */
public final class TokenShards {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final boolean uint16;
    private final MemorySegment[] segments;
    private final long[] shardStart; // prefix sums, length shards + 1
    private final long[] docStart;
    private final int[] docLength;
    private final List<String> ids;

    TokenShards(Path dir, ShardManifest.SplitManifest split, String dtype, Arena arena) throws IOException {
        this.name = split.name();
        this.uint16 = dtype.equals("uint16");
        int n = split.shards().size();
        this.segments = new MemorySegment[n];
        this.shardStart = new long[n + 1];
        for (int i = 0; i < n; i++) {
            ShardManifest.Shard s = split.shards().get(i);
            try (FileChannel ch = FileChannel.open(dir.resolve(s.file()), StandardOpenOption.READ)) {
                segments[i] = ch.size() == 0 ? MemorySegment.NULL
                        : ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            shardStart[i + 1] = shardStart[i] + s.tokens();
        }
        int docs = Math.toIntExact(split.documents());
        this.docStart = new long[docs];
        this.docLength = new int[docs];
        try (FileChannel ch = FileChannel.open(dir.resolve(name + ".index"), StandardOpenOption.READ)) {
            if (docs > 0) {
                MemorySegment index = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
                for (int i = 0; i < docs; i++) {
                    docStart[i] = index.get(I64, i * 12L);
                    docLength[i] = index.get(I32, i * 12L + 8);
                }
            }
        }
        List<String> lines = Files.readAllLines(dir.resolve(name + ".ids"), StandardCharsets.UTF_8);
        if (lines.size() != docs) {
            throw new IOException(name + ".ids has " + lines.size() + " lines, manifest says " + docs + " documents");
        }
        this.ids = List.copyOf(lines);
    }

    /** "train" or "validation". */
    public String name() {
        return name;
    }

    /** Total tokens, boundaries included. */
    public long tokens() {
        return shardStart[shardStart.length - 1];
    }

    public int documents() {
        return docStart.length;
    }

    public String documentId(int doc) {
        return ids.get(doc);
    }

    /** Global position of the document's first token. */
    public long documentStart(int doc) {
        return docStart[doc];
    }

    /** Number of tokens of the document, the boundary after it excluded. */
    public int documentLength(int doc) {
        return docLength[doc];
    }

    /** The whole document's tokens (no boundary). */
    public TokenDocument document(int doc) {
        return new TokenDocument(ids.get(doc), read(docStart[doc], docLength[doc]));
    }

    /** The token at a global position. */
    public int get(long pos) {
        int[] one = new int[1];
        read(pos, one, 0, 1);
        return one[0];
    }

    public int[] read(long pos, int length) {
        int[] out = new int[length];
        read(pos, out, 0, length);
        return out;
    }

    /** Copies {@code length} tokens starting at global position {@code pos}, across shards if needed. */
    public void read(long pos, int[] dst, int offset, int length) {
        if (pos < 0 || length < 0 || pos + length > tokens()) {
            throw new IndexOutOfBoundsException("tokens [" + pos + ", " + (pos + length) + ") outside " + name
                    + " split of " + tokens() + " tokens");
        }
        int shard = Arrays.binarySearch(shardStart, pos);
        shard = shard >= 0 ? shard : -shard - 2;
        while (length > 0) {
            while (shardStart[shard + 1] <= pos) shard++;
            MemorySegment seg = segments[shard];
            long local = pos - shardStart[shard];
            int n = (int) Math.min(length, shardStart[shard + 1] - pos);
            if (uint16) {
                for (int i = 0; i < n; i++) dst[offset + i] = seg.get(U16, (local + i) * 2) & 0xFFFF;
            } else {
                MemorySegment.copy(seg, I32, local * 4, dst, offset, n);
            }
            pos += n;
            offset += n;
            length -= n;
        }
    }

    /** The {@code n} longest documents with at least {@code minTokens} tokens, longest first (ties by id). */
    public List<TokenDocument> longestDocuments(int n, int minTokens) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < documents(); i++) if (docLength[i] >= minTokens) order.add(i);
        order.sort(Comparator.<Integer>comparingInt(i -> -docLength[i]).thenComparing(i -> ids.get(i)));
        List<TokenDocument> out = new ArrayList<>();
        for (int i = 0; i < Math.min(n, order.size()); i++) out.add(document(order.get(i)));
        return out;
    }

    /**
     * Fixed evaluation batches: every document, followed by its boundary token, cut into windows of
     * {@code contextLength + 1} tokens overlapping by one, so each token after a document's first
     * is predicted exactly once. Batches are read when accessed. Short last windows are padded (see {@link Batch#lengths()}); the
     * last batch may have fewer rows. The same split always gives the same batches.
     */
    public List<Batch> windows(int batchSize, int contextLength, int padToken) {
        if (batchSize <= 0 || contextLength <= 0) throw new IllegalArgumentException("batch and context must be positive");
        int columns = contextLength + 1;
        List<long[]> windows = new ArrayList<>(); // {start, length}
        for (int d = 0; d < documents(); d++) {
            long seqLen = docLength[d] + 1L;
            for (long s = 0; s < seqLen - 1; s += contextLength) {
                windows.add(new long[] {docStart[d] + s, Math.min(columns, seqLen - s)});
            }
        }
        int batches = (windows.size() + batchSize - 1) / batchSize;
        return new java.util.AbstractList<>() { // batches are read on demand
            @Override
            public Batch get(int b) {
                int first = b * batchSize;
                int rows = Math.min(batchSize, windows.size() - first);
                int[] tokens = new int[rows * columns];
                int[] lengths = new int[rows];
                Arrays.fill(tokens, padToken);
                for (int r = 0; r < rows; r++) {
                    long[] win = windows.get(first + r);
                    lengths[r] = (int) win[1];
                    read(win[0], tokens, r * columns, lengths[r]);
                }
                return new Batch(rows, columns, tokens, lengths);
            }

            @Override
            public int size() {
                return batches;
            }
        };
    }
}
