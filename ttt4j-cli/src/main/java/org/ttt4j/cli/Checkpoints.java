package org.ttt4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.io.StateFile;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
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
        return load(path, new WeightsOption());
    }

    /**
     * A ttt4j model folder in {@code dir}: config.json, model.safetensors ({@code meta} plus the
     * source and tokenizer; F16 with {@code half}) and the tokenizer of {@code source}.
     */
    static void writeModelFolder(Path dir, ModelConfig config, Map<String, Tensor> weights, Map<String, String> meta, Loaded source,
                                 boolean half) throws IOException {
        StateFile.write(dir.resolve("config.json"), config);
        writeWeights(dir, weights, meta, source, half);
        writeTokenizer(dir, source);
    }

    static void writeWeights(Path dir, Map<String, Tensor> weights, Map<String, String> meta, Loaded source, boolean half) throws IOException {
        Map<String, String> m = new LinkedHashMap<>(meta);
        m.put("source", source.checkpoint().folder().toString());
        m.put("tokenizer", source.tokenizer().name());
        Path file = dir.resolve("model.safetensors");
        if (half) SafeTensors.writeHalf(file, weights, m);
        else SafeTensors.write(file, weights, m);
    }

    /**
     * The source's tokenizer beside a model folder's weights: a BPE as {@code tokenizer/}, a
     * Hugging Face {@code tokenizer.json} (and {@code tokenizer_config.json}) at the top, or the name
     * of a built-in one in {@value #TOKENIZER_SPEC}.
     */
    static void writeTokenizer(Path dir, Loaded source) throws IOException {
        Path to = source.tokenizer() instanceof org.ttt4j.lm.tokenizer.HfTokenizer ? dir : dir.resolve("tokenizer");
        if (!copyTokenizer(source, to)) Files.writeString(dir.resolve(TOKENIZER_SPEC), source.tokenizer().name());
    }

    /**
     * Copies the files of the source's own tokenizer into {@code to} (those not there yet): a BPE
     * folder's files, or a Hugging Face tokenizer.json with its tokenizer_config.json. They are in
     * an exported folder's {@code tokenizer/}, at the top of a Hugging Face or converted folder, or
     * in a run's {@code tokenizer/}. False when the tokenizer has no files (a built-in one).
     */
    static boolean copyTokenizer(Loaded source, Path to) throws IOException {
        Path folder = source.checkpoint().folder(), own = folder.resolve("tokenizer");
        boolean hf = source.tokenizer() instanceof org.ttt4j.lm.tokenizer.HfTokenizer;
        // A Hugging Face folder keeps tokenizer.json at its top, beside a tokenizer/ that may hold a BPE's own files.
        Path from = source.checkpoint().state() != null ? runTokenizer(folder) : hf || !Files.isDirectory(own) ? folder : own;
        List<Path> files;
        if (hf) {
            files = java.util.stream.Stream.of("tokenizer.json", "tokenizer_config.json").map(from::resolve).filter(Files::isRegularFile).toList();
        } else if (source.tokenizer() instanceof org.ttt4j.lm.tokenizer.BpeTokenizer && !from.equals(folder) && Files.isDirectory(from)) {
            try (var list = Files.list(from)) {
                files = list.toList();
            }
        } else {
            return false;
        }
        if (files.isEmpty()) return false;
        Files.createDirectories(to);
        // readAllBytes, not copy: anything but a file in a tokenizer's folder is an error, not an empty folder copied.
        for (Path f : files) if (!Files.exists(to.resolve(f.getFileName()))) Files.write(to.resolve(f.getFileName()), Files.readAllBytes(f));
        return true;
    }

    /** The model at {@code path} with its weight matrices and KV caches stored as {@code weights} says. */
    static Loaded load(Path path, WeightsOption weights) throws IOException {
        ModelFolders.Loaded l = ModelFolders.load(path);
        weights.applyTo(l.model());
        return new Loaded(l.model(), l.tokenizer(), l.checkpoint());
    }
}
