package org.ttt4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.ttt4j.core.kernel.WeightFormat;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.Tokenizer;
import org.ttt4j.lm.train.CheckpointStore;

/**
 * Loading a trained model and its tokenizer from a run folder, a checkpoint folder or an exported
 * model folder: the commands' name for {@link ModelFolders}, the library's loader.
 */
final class Checkpoints {
    private Checkpoints() {}

    /** An exported model folder's tokenizer spec (when it is not a BPE folder). */
    static final String TOKENIZER_SPEC = ModelFolders.TOKENIZER_SPEC;

    /** Where a checkpoint's run keeps its own BPE: {@code <run>/tokenizer}, two levels above the checkpoint folder. */
    static Path runTokenizer(Path checkpointFolder) {
        return ModelFolders.runTokenizer(checkpointFolder);
    }

    record Loaded(Decoder model, Tokenizer tokenizer, CheckpointStore.Loaded checkpoint) {}

    static Loaded load(Path path) throws IOException {
        return load(path, WeightFormat.F32);
    }

    /** The model at {@code path} with its weight matrices stored as {@code weights}. */
    static Loaded load(Path path, WeightFormat weights) throws IOException {
        ModelFolders.Loaded l = ModelFolders.load(path);
        l.model().storeWeights(weights);
        return new Loaded(l.model(), l.tokenizer(), l.checkpoint());
    }
}
