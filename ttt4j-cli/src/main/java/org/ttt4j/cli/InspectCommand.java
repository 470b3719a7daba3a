package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.model.ReferenceNames;
import org.ttt4j.lm.train.CheckpointStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ttt4j inspect}: what a checkpoint or safetensors file holds, without loading weights. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Show a model's config, trainer state, tensors and parameter count.",
                "For a .safetensors file, its header: the tensors' names, types and shapes."})
public final class InspectCommand extends CommandIo implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "MODEL", required = true, description = "a run, checkpoint or model folder, or a .safetensors file") Path path;

    @Override
    public Integer call() throws Exception {
        Path file = path;
        if (Files.isDirectory(path) && org.ttt4j.lm.hf.HfFolder.is(path)) {
            // A Hugging Face folder: its config as ttt4j reads it, then the tensors of every weights file.
            var json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            stdout().println("Hugging Face folder " + path);
            stdout().println("read as: " + json.writeValueAsString(org.ttt4j.lm.hf.HfFolder.config(path)));
            long total = 0;
            int count = 0;
            try (var files = Files.list(path)) {
                for (Path f : files.filter(p -> p.getFileName().toString().matches("model.*\\.safetensors")).sorted().toList()) {
                    for (var t : SafeTensors.readHeader(f).tensors().values()) {
                        stdout().printf("%-60s %-5s %-16s %s%n", t.name(), t.dtype(), Arrays.toString(t.shape()), f.getFileName());
                        total += t.numel();
                        count++;
                    }
                }
            }
            stdout().printf("%d tensors, %,d parameters%n", count, total);
            return 0;
        }
        if (Files.isDirectory(path)) {
            Path folder = Files.exists(path.resolve("model.safetensors")) ? path
                    : new CheckpointStore(path).latest().orElseThrow(() -> new IllegalArgumentException("no checkpoint in " + path));
            stdout().println("checkpoint " + folder);
            var json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            // The config is read and validated as a model config, so a damaged one is reported rather than printed.
            org.ttt4j.lm.io.StateFile.read(folder.resolve("config.json"), org.ttt4j.lm.model.ModelConfig.class).validate();
            stdout().println("config: " + json.writeValueAsString(json.readTree(folder.resolve("config.json").toFile())));
            Path state = folder.resolve("trainer.json");
            if (Files.exists(state)) stdout().println("trainer: " + json.writeValueAsString(json.readTree(state.toFile())));
            file = folder.resolve("model.safetensors");
        }
        var header = SafeTensors.readHeader(file);
        long total = 0;
        // The last column maps each tensor onto the PyTorch TTT reference's state dict: "=" for the
        // same name and shape convention, "-" where the reference has no such tensor.
        stdout().printf("%-60s %-5s %-16s %s%n", "tensor", "dtype", "shape", "reference");
        int mapped = 0;
        for (var t : header.tensors().values()) {
            boolean ref = ReferenceNames.reference(t.name()) != null;
            if (ref) mapped++;
            stdout().printf("%-60s %-5s %-16s %s%n", t.name(), t.dtype(), Arrays.toString(t.shape()), ref ? "=" : "-");
            total += t.numel();
        }
        stdout().printf("%d tensors, %,d parameters; %d named as in the PyTorch TTT reference%n", header.tensors().size(), total, mapped);
        return 0;
    }
}
