package org.ttt4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.BpeTokenizer;
import org.ttt4j.lm.tokenizer.Tokenizer;
import org.ttt4j.lm.tokenizer.Tokenizers;
import org.ttt4j.lm.train.CheckpointStore;

/** Loading a trained model and its tokenizer from a run folder or a checkpoint folder. */
final class Checkpoints {
    private Checkpoints() {}

    record Loaded(Decoder model, Tokenizer tokenizer, CheckpointStore.Loaded checkpoint) {}

    static Loaded load(Path path) throws IOException {
        var ck = CheckpointStore.load(path);
        Decoder model = new Decoder(ck.config(), 0);
        CheckpointStore.copyInto(ck.model(), model.params().all(), "checkpoint " + ck.folder());
        String spec = ck.state() == null ? "bytes" : ck.state().tokenizer();
        // A BPE trained for the run lives in <run>/tokenizer, two levels above the checkpoint folder.
        Path runTokenizer = ck.folder().getParent().getParent().resolve("tokenizer");
        Tokenizer tok = spec.startsWith("bpe:") && Files.isDirectory(runTokenizer)
                ? BpeTokenizer.load(runTokenizer) : Tokenizers.byName(spec, ck.folder());
        if (tok.vocabSize() > ck.config().vocabSize()) {
            throw new IllegalArgumentException("tokenizer " + spec + " has " + tok.vocabSize() + " ids, the model only "
                    + ck.config().vocabSize());
        }
        return new Loaded(model, tok, ck);
    }
}
