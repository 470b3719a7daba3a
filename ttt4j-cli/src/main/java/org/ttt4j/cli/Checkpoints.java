package org.ttt4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.BpeTokenizer;
import org.ttt4j.lm.tokenizer.Tokenizer;
import org.ttt4j.lm.tokenizer.Tokenizers;
import org.ttt4j.lm.train.CheckpointStore;

/**
 * Loading a trained model and its tokenizer from a run folder, a checkpoint folder or an exported
 * model folder ({@code ttt4j export}: its BPE in {@code tokenizer/}, any other tokenizer named in
 * {@value #TOKENIZER_SPEC}).
 */
final class Checkpoints {
    private Checkpoints() {}

    /** An exported model folder's tokenizer spec (when it is not a BPE folder). */
    static final String TOKENIZER_SPEC = "tokenizer.spec";

    /** Where a checkpoint's run keeps its own BPE: {@code <run>/tokenizer}, two levels above the checkpoint folder. */
    static Path runTokenizer(Path checkpointFolder) {
        Path abs = checkpointFolder.toAbsolutePath();
        return abs.getParent() == null || abs.getParent().getParent() == null ? abs.resolve("tokenizer")
                : abs.getParent().getParent().resolve("tokenizer");
    }

    record Loaded(Decoder model, Tokenizer tokenizer, CheckpointStore.Loaded checkpoint) {}

    static Loaded load(Path path) throws IOException {
        var ck = CheckpointStore.loadWeights(path);
        Decoder model = new Decoder(ck.config(), 0);
        CheckpointStore.copyInto(ck.model(), model.params().all(), "checkpoint " + ck.folder());
        Path own = ck.folder().resolve("tokenizer"), specFile = ck.folder().resolve(TOKENIZER_SPEC);
        Tokenizer tok;
        Path runTokenizer = runTokenizer(ck.folder());
        if (ck.state() == null && Files.isDirectory(own)) {
            tok = BpeTokenizer.load(own); // an exported model folder
        } else if (ck.state() == null && !Files.exists(specFile)) {
            // A checkpoint that lost its trainer.json: its run's own BPE if the run has one, never a guess.
            if (!Files.isDirectory(runTokenizer)) {
                throw new IOException(ck.folder() + " names no tokenizer: expected trainer.json (a checkpoint of a run), tokenizer/ or "
                        + TOKENIZER_SPEC + " (an exported model folder), or a tokenizer/ folder in its run (" + runTokenizer + ")");
            }
            tok = BpeTokenizer.load(runTokenizer);
        } else {
            String spec = ck.state() != null ? ck.state().tokenizer() : Files.readString(specFile).strip();
            if (spec.startsWith("bpe:") && !Files.isDirectory(runTokenizer)) {
                throw new IOException(ck.folder() + " was trained with its run's own tokenizer (" + spec + "), but " + runTokenizer
                        + " is missing");
            }
            tok = spec.startsWith("bpe:") ? BpeTokenizer.load(runTokenizer) : Tokenizers.byName(spec, ck.folder());
        }
        if (tok.vocabSize() > ck.config().vocabSize()) {
            throw new IllegalArgumentException("tokenizer " + tok.name() + " has " + tok.vocabSize() + " ids, the model only "
                    + ck.config().vocabSize());
        }
        return new Loaded(model, tok, ck);
    }
}
