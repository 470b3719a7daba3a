package org.ttt4j.lm.api;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.ttt4j.lm.hf.HfFolder;
import org.ttt4j.lm.io.AtomicFiles;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.BpeTokenizer;
import org.ttt4j.lm.tokenizer.HfTokenizer;
import org.ttt4j.lm.tokenizer.Tokenizer;
import org.ttt4j.lm.tokenizer.Tokenizers;
import org.ttt4j.lm.train.CheckpointStore;
import org.ttt4j.lm.train.RunSetup;

/**
 * Opens a trained model with its tokenizer from any of the three folders ttt4j writes: a run
 * folder (its latest checkpoint), a checkpoint folder ({@code checkpoints/step-N}), or an exported
 * model folder ({@code ttt4j export}: its BPE in {@code tokenizer/}, any other tokenizer named in
 * {@value #TOKENIZER_SPEC}). Also finds the demo model shipped on the classpath.
 */
public final class ModelFolders {
    private ModelFolders() {}

    /** An exported model folder's tokenizer spec file (when its tokenizer is not a BPE folder). */
    public static final String TOKENIZER_SPEC = "tokenizer.spec";

    /** The name that stands for the shipped demo model where a model folder is asked for (unless a folder of that name exists). */
    public static final String DEMO = "demo";

    /** The classpath folder of the shipped demo model (a TTT-E2E model, see docs/evaluation.md for the commands that trained it). */
    public static final String DEMO_RESOURCE = "/org/ttt4j/lm/demo-model/";

    /** The files of the shipped demo model, relative to {@link #DEMO_RESOURCE}. */
    public static final List<String> DEMO_FILES = List.of("config.json", "model.safetensors", "tokenizer/ranks.tiktoken",
            "tokenizer/tokenizer.json");

    /**
     * A loaded model: its decoder with the saved weights, its tokenizer, and the checkpoint it came
     * from (folder, config, weights and, for a checkpoint of a run, the trainer state).
     *
     * @param model the decoder holding the saved weights
     * @param tokenizer the tokenizer the model was trained with
     * @param checkpoint what was read from disk
     */
    public record Loaded(Decoder model, Tokenizer tokenizer, CheckpointStore.Loaded checkpoint) {}

    /**
     * Where a checkpoint's run keeps its own BPE: {@code <run>/tokenizer}, two levels above the
     * checkpoint folder.
     *
     * @param checkpointFolder a checkpoint folder ({@code <run>/checkpoints/step-N})
     * @return the run's tokenizer folder (which may not exist)
     */
    public static Path runTokenizer(Path checkpointFolder) {
        Path abs = checkpointFolder.toAbsolutePath();
        return abs.getParent() == null || abs.getParent().getParent() == null ? abs.resolve("tokenizer")
                : abs.getParent().getParent().resolve("tokenizer");
    }

    /**
     * Loads the model and tokenizer of a run, checkpoint or exported model folder, or of a Hugging
     * Face folder (a Llama-family or official TTT {@code config.json} with its {@code tokenizer.json}).
     * The tokenizer is never guessed: it comes from the checkpoint's {@code trainer.json}, the
     * folder's own {@code tokenizer/}, {@value #TOKENIZER_SPEC} or {@code tokenizer.json}, or the
     * run's {@code tokenizer/} folder.
     *
     * @param path a run folder, a checkpoint folder, an exported model folder or a Hugging Face folder
     * @return the model, its tokenizer and the checkpoint read
     * @throws IOException naming the folder when no checkpoint or no tokenizer is found, or a file is damaged
     * @throws IllegalArgumentException when the tokenizer has more ids than the model's vocabulary
     */
    public static Loaded load(Path path) throws IOException {
        if (path.toString().equals(DEMO) && !Files.exists(path)) path = demoFolder();
        if (HfFolder.is(path)) return loadHf(path);
        var ck = CheckpointStore.loadWeights(path);
        Decoder model = new Decoder(ck.config(), 0);
        CheckpointStore.copyInto(ck.model(), model.params().all(), "checkpoint " + ck.folder());
        return new Loaded(model, tokenizer(ck), ck);
    }

    /** A Hugging Face folder: its weights through {@link HfFolder}, its tokenizer from {@code tokenizer.json}. */
    private static Loaded loadHf(Path folder) throws IOException {
        Path tokenizerJson = folder.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IOException(folder + ": no tokenizer.json (a Hugging Face model folder brings its tokenizer)");
        }
        Decoder model = HfFolder.load(folder);
        Tokenizer tok = HfTokenizer.load(tokenizerJson);
        if (tok.vocabSize() > model.config().vocabSize()) {
            throw new IllegalArgumentException(tokenizerJson + ": the tokenizer has " + tok.vocabSize() + " ids but config.json's vocab_size is "
                    + model.config().vocabSize());
        }
        return new Loaded(model, tok, new CheckpointStore.Loaded(folder, model.config(), model.params().all(), null, null));
    }

    /** The tokenizer a checkpoint (or exported folder) names; see {@link #load}. */
    private static Tokenizer tokenizer(CheckpointStore.Loaded ck) throws IOException {
        Path own = ck.folder().resolve("tokenizer"), specFile = ck.folder().resolve(TOKENIZER_SPEC);
        Path runTokenizer = runTokenizer(ck.folder());
        Tokenizer tok;
        if (ck.state() == null && Files.isDirectory(own)) {
            tok = BpeTokenizer.load(own); // an exported model folder
        } else if (ck.state() == null && Files.isRegularFile(ck.folder().resolve("tokenizer.json")) && !Files.exists(specFile)) {
            tok = HfTokenizer.load(ck.folder().resolve("tokenizer.json")); // a converted Hugging Face model
        } else if (ck.state() != null && ck.state().tokenizer().equals(org.ttt4j.lm.train.RunSetup.HF_SPEC)) {
            tok = org.ttt4j.lm.train.RunSetup.hfTokenizer(runTokenizer); // a run trained from a Hugging Face tokenizer
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
        return tok;
    }

    /**
     * The shipped demo model as a folder on disk: copied once from the classpath to the cache
     * ({@code $TTT4J_CACHE} or {@code ~/.cache/ttt4j}), in a folder named after its contents, so an
     * upgrade never reads a stale copy. Each file is written atomically.
     *
     * @return an exported model folder that {@link #load} opens
     * @throws IOException when the demo model is missing from the classpath or the cache cannot be written
     */
    public static Path demoFolder() throws IOException {
        byte[][] contents = new byte[DEMO_FILES.size()][];
        int hash = 17;
        for (int i = 0; i < contents.length; i++) {
            try (InputStream in = ModelFolders.class.getResourceAsStream(DEMO_RESOURCE + DEMO_FILES.get(i))) {
                if (in == null) throw new IOException("the demo model is missing from the classpath (" + DEMO_RESOURCE + DEMO_FILES.get(i) + ")");
                contents[i] = in.readAllBytes();
            }
            hash = 31 * hash + Arrays.hashCode(contents[i]);
        }
        Path dir = RunSetup.cacheRoot().resolve("demo-model-" + Integer.toHexString(hash));
        for (int i = 0; i < contents.length; i++) {
            Path f = dir.resolve(DEMO_FILES.get(i));
            if (Files.isRegularFile(f) && Files.size(f) == contents[i].length) continue;
            Files.createDirectories(f.getParent());
            AtomicFiles.write(f, contents[i]);
        }
        return dir;
    }
}
