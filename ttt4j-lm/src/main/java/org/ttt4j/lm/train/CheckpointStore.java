package org.ttt4j.lm.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.io.AtomicFiles;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.io.StateFile;
import org.ttt4j.lm.model.ModelConfig;

/**
 * Checkpoint folders {@code <run>/checkpoints/step-00001200/} holding {@code config.json},
 * {@code model.safetensors} (Hugging Face names), {@code optimizer.safetensors} and
 * {@code trainer.json}. Each folder appears under its final name only once complete (written in
 * a temporary folder, fsynced, renamed), so a kill at any moment leaves the last good checkpoint.
 */
public final class CheckpointStore {
    private static final String PREFIX = "step-";

    private final Path dir;

    public CheckpointStore(Path runDir) {
        this.dir = runDir.resolve("checkpoints");
    }

    /** A loaded checkpoint. */
    public record Loaded(Path folder, ModelConfig config, Map<String, Tensor> model, Map<String, Tensor> optimizer,
                         TrainerState state) {}

    public Path save(ModelConfig config, Map<String, Tensor> params, Map<String, Tensor> optimizer, TrainerState state,
                     int keepLast) throws IOException {
        Path target = dir.resolve(String.format("%s%08d", PREFIX, state.step()));
        Map<String, String> meta = Map.of("format", "pt", "producer", "ttt4j", "step", Long.toString(state.step()));
        SafeTensors.requireFinite(target.resolve("model.safetensors"), params);
        if (optimizer != null) SafeTensors.requireFinite(target.resolve("optimizer.safetensors"), optimizer);
        AtomicFiles.replaceDirectory(target, tmp -> {
            StateFile.write(tmp.resolve("config.json"), config);
            SafeTensors.write(tmp.resolve("model.safetensors"), params, meta);
            if (optimizer != null) SafeTensors.write(tmp.resolve("optimizer.safetensors"), optimizer, meta);
            StateFile.write(tmp.resolve("trainer.json"), state);
        });
        prune(keepLast);
        return target;
    }

    /** Complete checkpoint folders, oldest first. */
    public List<Path> list() throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Files.isDirectory(p) && p.getFileName().toString().matches(PREFIX + "\\d+"))
                    .sorted().toList();
        }
    }

    public Optional<Path> latest() throws IOException {
        List<Path> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    private void prune(int keepLast) throws IOException {
        List<Path> all = new ArrayList<>(list());
        while (all.size() > keepLast) {
            Path victim = all.removeFirst();
            try (Stream<Path> files = Files.walk(victim)) {
                for (Path p : files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    /** Loads a checkpoint folder (or a run folder: its latest checkpoint), with clear errors. */
    public static Loaded load(Path folderOrRun) throws IOException {
        return load(folderOrRun, true);
    }

    /**
     * Loads what inference needs (config, weights, trainer state), not the optimizer state: a
     * damaged optimizer file does not stop a model from being used ({@code optimizer()} is null).
     */
    public static Loaded loadWeights(Path folderOrRun) throws IOException {
        return load(folderOrRun, false);
    }

    private static Loaded load(Path folderOrRun, boolean withOptimizer) throws IOException {
        Path folder = folderOrRun;
        if (!Files.exists(folder.resolve("model.safetensors"))) {
            Optional<Path> latest = new CheckpointStore(folderOrRun).latest();
            if (latest.isEmpty()) {
                throw new IOException("no checkpoint in " + folderOrRun + " (expected model.safetensors or checkpoints/step-*)");
            }
            folder = latest.get();
        }
        ModelConfig config = StateFile.read(folder.resolve("config.json"), ModelConfig.class).validate();
        Path weights = folder.resolve("model.safetensors");
        Map<String, Tensor> model = SafeTensors.read(weights).tensors();
        SafeTensors.requirePlausibleWeights(weights, model);
        Path opt = folder.resolve("optimizer.safetensors");
        Map<String, Tensor> optimizer = null;
        if (withOptimizer && Files.exists(opt)) {
            optimizer = SafeTensors.read(opt).tensors();
            SafeTensors.requireFinite(opt, optimizer);
        }
        Path st = folder.resolve("trainer.json");
        TrainerState state = Files.exists(st) ? StateFile.read(st, TrainerState.class) : null;
        return new Loaded(folder, config, model, optimizer, state);
    }

    /**
     * Copies saved tensors into the model's parameters, checking that every name exists on both
     * sides with the same shape; the message lists what differs.
     */
    public static void copyInto(Map<String, Tensor> saved, Map<String, Tensor> params, String what) {
        List<String> problems = new ArrayList<>();
        for (var e : params.entrySet()) {
            Tensor s = saved.get(e.getKey());
            if (s == null) {
                problems.add("missing " + e.getKey());
            } else if (!Arrays.equals(s.shape(), e.getValue().shape())) {
                problems.add(e.getKey() + " has shape " + Arrays.toString(s.shape()) + ", model expects "
                        + Arrays.toString(e.getValue().shape()));
            }
        }
        for (String name : saved.keySet()) if (!params.containsKey(name)) problems.add("unexpected " + name);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(what + " does not match the model: " + String.join("; ",
                    problems.subList(0, Math.min(10, problems.size()))) + (problems.size() > 10 ? "; ..." : ""));
        }
        for (var e : params.entrySet()) e.getValue().assign(saved.get(e.getKey()).to(e.getValue().dtype()));
    }
}
