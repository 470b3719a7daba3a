package org.ttt4j.lm.data;

import java.util.List;

/**
 * The JSON manifest of a token cache directory ({@code manifest.json}): what was tokenised with
 * what, and how many tokens each shard holds, so that a truncated shard is detected from its
 * length alone. Written last, after every shard is synced.
 *
 * @param format            cache layout version ({@link #FORMAT})
 * @param fingerprint       hash of corpus entries, globs, split and tokenizer; the cache key
 * @param corpus            description of the corpus source
 * @param tokenizer         tokenizer name
 * @param vocabSize         tokenizer vocabulary size
 * @param documentBoundary  id written after every document
 * @param dtype             "uint16" ({@code vocab <= 65536}) or "int32", little-endian
 * @param splitSeed         seed of the train/validation split
 * @param validationFraction fraction of documents held out
 * @param train             train split
 * @param validation        validation split
 */
public record ShardManifest(int format, String fingerprint, String corpus, String tokenizer, int vocabSize,
                            int documentBoundary, String dtype, long splitSeed, double validationFraction,
                            SplitManifest train, SplitManifest validation) {
    public static final int FORMAT = 1;

    /**
     * One split: its shards in order, and the document index ({@code NAME.index}: per document an
     * int64 start and an int32 length, little-endian; {@code NAME.ids}: one id per line).
     */
    public record SplitManifest(String name, long documents, long tokens, List<Shard> shards) {}

    /** One shard file with its token and document counts. */
    public record Shard(String file, long tokens, long documents) {}

    public int bytesPerToken() {
        return dtype.equals("uint16") ? 2 : 4;
    }
}
