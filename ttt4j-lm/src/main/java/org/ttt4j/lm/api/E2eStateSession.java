package org.ttt4j.lm.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.infer.Generator;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.layers.CacheFields;
import org.ttt4j.lm.methods.e2e.E2eSession;
import org.ttt4j.lm.methods.e2e.E2eSettings;

/**
 * A session of a TTT-E2E model: an {@link E2eSession}, which takes a gradient step on its prime MLPs
 * after every chunk it reads. Its state files are {@link E2eSession}'s own (the files of
 * {@code ttt4j generate --save-state}); a fork goes through such a file in the temporary folder.
 */
final class E2eStateSession extends Session {
    /** The format tag of {@link E2eSession}'s state files. */
    static final String FORMAT = "ttt4j-e2e-session/1";

    private final E2eSession session;
    private final int maxChunk;

    private E2eStateSession(LanguageModel model, E2eSession session, int maxChunk) {
        super(model);
        this.session = session;
        // E2eSession's caches take at most this many new tokens per pass (and never more than a chunk).
        this.maxChunk = Math.min(maxChunk, E2eSettings.of(model.config()).chunk(model.config()));
        this.last = session.lastLogits();
    }

    static E2eStateSession fresh(LanguageModel model) {
        return new E2eStateSession(model, new E2eSession(model.decoder(), Generator.PREFILL_CHUNK), Generator.PREFILL_CHUNK);
    }

    /** A session continuing the state in {@code file}; see {@link LanguageModel#loadSession}. */
    static E2eStateSession load(LanguageModel model, Path file) throws IOException {
        var meta = SafeTensors.readHeader(file).metadata();
        String format = meta.get("format");
        if (CacheSession.FORMAT.equals(format)) {
            throw new IllegalArgumentException(file + ": field format is \"" + format + "\", the state of a session of a "
                    + "model without an inner loop; this model is TTT-E2E (" + FORMAT + ")");
        }
        E2eSession s = E2eSession.load(model.decoder(), file);
        return new E2eStateSession(model, s, (int) CacheFields.counter(meta, "max_chunk", 1, 1 << 20, file.toString()));
    }

    @Override
    int maxChunk() {
        return maxChunk;
    }

    @Override
    Tensor forward(int[] ids) {
        return session.feed(ids);
    }

    @Override
    public long position() {
        return session.position();
    }

    @Override
    public long stateFloats() {
        return session.stateFloats();
    }

    @Override
    void write(Path file) throws IOException {
        session.save(file);
    }

    @Override
    Session copy() {
        try {
            Path tmp = Files.createTempFile("ttt4j-fork-", ".safetensors");
            try {
                session.save(tmp);
                return new E2eStateSession(model, E2eSession.load(model.decoder(), tmp), maxChunk);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("forking a TTT-E2E session through a temporary file: " + e.getMessage(), e);
        }
    }
}
