package org.ttt4j.lm.data;

import java.util.List;
import java.util.stream.Stream;

/**
 * A corpus as an ordered list of documents that are read only when asked for.
 *
 * <p>{@link #entries()} is metadata only (ids, sizes, stamps), cheap enough to list on open, and
 * is what splits and cache fingerprints are computed from; {@link #documents()} reads contents
 * lazily, one document at a time, so a corpus larger than memory can be streamed. The order is
 * sorted by id and therefore deterministic. Implementations hold open handles (a zip file):
 * close them.
 */
public interface CorpusSource extends AutoCloseable {

    /**
     * Metadata of one document: id, size in bytes as stored (compressed size for .gz files) and a
     * change stamp (last-modified millis for files, the CRC-32 for zip entries).
     */
    record DocumentInfo(String id, long size, long stamp) {}

    /** A human-readable description naming the path and globs, used in messages. */
    String description();

    /** The globs that selected the documents (part of a token cache's fingerprint). */
    Globs globs();

    /** The documents' metadata, sorted by id. Never empty (opening fails when nothing matched). */
    List<DocumentInfo> entries();

    /** Reads one document; throws {@link java.io.UncheckedIOException} naming the file on failure. */
    Document read(DocumentInfo info);

    /** The documents in id order, read lazily one at a time as the stream is consumed. */
    default Stream<Document> documents() {
        return entries().stream().map(this::read);
    }

    /** The documents whose ids are in {@code ids}, in id order, read lazily. */
    default Stream<Document> documents(java.util.Set<String> ids) {
        return entries().stream().filter(e -> ids.contains(e.id())).map(this::read);
    }

    /** Total stored bytes of all entries (for progress reports). */
    default long totalBytes() {
        long sum = 0;
        for (DocumentInfo e : entries()) sum += e.size();
        return sum;
    }

    @Override
    void close();
}
