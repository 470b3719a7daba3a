package org.ttt4j.lm.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A deterministic sample of a corpus, for short runs that would otherwise tokenise a whole large
 * corpus to read a small part of it: every validation document of the whole corpus (so the split,
 * and the held-out text, are exactly the whole corpus's), and training documents in the order of a
 * fixed hash of their ids until their stored bytes reach a target. The same corpus and target
 * always give the same documents, listed in id order like any source; a different sample has
 * different entries and therefore its own token cache. When the target covers the training
 * documents anyway, {@link #of} returns the source itself, unchanged.
 */
public final class SampledSource implements CorpusSource {
    /** Bytes of text sampled per training token a run consumes: about 4 times its tokens at 4 bytes per BPE token. */
    public static final int BYTES_PER_TOKEN = 16;
    /** The seed of the hash that orders the training documents (not the split's: the two choices are independent). */
    static final long ORDER_SEED = 0x5A3B1E;

    private final CorpusSource inner;
    private final List<DocumentInfo> entries;
    private final String description;

    private SampledSource(CorpusSource inner, List<DocumentInfo> entries, String description) {
        this.inner = inner;
        this.entries = entries;
        this.description = description;
    }

    /**
     * The validation documents of {@code source} under {@code split} and training documents of at
     * least {@code targetBytes} stored bytes in all (or all of them); {@code source} itself when that
     * is every document.
     */
    public static CorpusSource of(CorpusSource source, Split split, long targetBytes) {
        if (targetBytes < 1) throw new IllegalArgumentException("sample target must be >= 1 byte, got " + targetBytes);
        List<DocumentInfo> all = source.entries();
        Set<String> held = split.validationIds(all);
        Split order = new Split(ORDER_SEED, 0);
        List<DocumentInfo> train = new ArrayList<>(all.stream().filter(e -> !held.contains(e.id())).toList());
        train.sort(Comparator.comparingDouble((DocumentInfo e) -> order.hash(e.id())).thenComparing(DocumentInfo::id));
        Set<String> keep = new HashSet<>(held);
        long bytes = 0;
        int taken = 0;
        for (DocumentInfo e : train) {
            if (bytes >= targetBytes) break;
            keep.add(e.id());
            bytes += e.size();
            taken++;
        }
        if (taken == train.size()) return source;
        List<DocumentInfo> chosen = all.stream().filter(e -> keep.contains(e.id())).toList();
        String what = String.format("%s, sampled: %d of %d training documents (%.1f MB) and the %d validation documents", source.description(),
                taken, train.size(), bytes / 1e6, held.size());
        return new SampledSource(source, chosen, what);
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public Globs globs() {
        return inner.globs();
    }

    @Override
    public List<DocumentInfo> entries() {
        return entries;
    }

    @Override
    public Document read(DocumentInfo info) {
        return inner.read(info);
    }

    @Override
    public void close() {
        inner.close();
    }
}
