package org.ttt4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.ttt4j.lm.io.AtomicFiles;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.io.StateFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j export}: a trained run's weights as a self-contained model folder (config.json,
 * model.safetensors, the tokenizer), without optimizer state: what is shipped, e.g. the demo model.
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a run's latest checkpoint as a self-contained model folder (no optimizer state).",
                "The folder holds config.json, model.safetensors and the tokenizer; every command that takes a",
                "--model accepts it."})
public final class ExportCommand extends CommandIo implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "MODEL", required = true, description = "the run (its latest checkpoint), checkpoint or model folder to export") Path run;
    @Option(names = "--out", required = true, description = "model folder to write (must not exist or be empty)") Path out;
    @Option(names = "--half", description = "store weights as F16 (half the size; they load back as FP32; default: F32)") boolean half;

    @Override
    public Integer call() throws Exception {
        try (var lock = org.ttt4j.lm.io.FolderLock.acquireSibling(out, "export")) {
            return export();
        }
    }

    private int export() throws Exception {
        var loaded = Checkpoints.load(run);
        if (Files.exists(out)) {
            try (var entries = Files.list(out)) {
                if (entries.findAny().isPresent()) throw new IllegalArgumentException("--out " + out + " exists and is not empty");
            }
        }
        // Written into a temporary sibling and renamed whole: an export that fails (a full disk) leaves
        // no half-written folder to block the next one.
        AtomicFiles.replaceDirectory(out, tmp -> {
            StateFile.write(tmp.resolve("config.json"), loaded.checkpoint().config());
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("source", loaded.checkpoint().folder().toString());
            meta.put("tokenizer", loaded.tokenizer().name());
            Path weights = tmp.resolve("model.safetensors");
            if (half) SafeTensors.writeHalf(weights, loaded.checkpoint().model(), meta);
            else SafeTensors.write(weights, loaded.checkpoint().model(), meta);
            Path bpe = Checkpoints.runTokenizer(loaded.checkpoint().folder());
            if (loaded.tokenizer() instanceof org.ttt4j.lm.tokenizer.BpeTokenizer && Files.isDirectory(bpe)) {
                Files.createDirectories(tmp.resolve("tokenizer"));
                try (var files = Files.list(bpe)) {
                    for (Path f : files.toList()) Files.write(tmp.resolve("tokenizer").resolve(f.getFileName()), Files.readAllBytes(f));
                }
            } else {
                Files.writeString(tmp.resolve(Checkpoints.TOKENIZER_SPEC), loaded.tokenizer().name());
            }
        });
        long bytes;
        try (var files = Files.walk(out)) {
            bytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        stdout().printf("exported %s (step %s, %,d parameters, %s) to %s: %.2f MB%n", loaded.checkpoint().folder(),
                loaded.checkpoint().state() == null ? "?" : loaded.checkpoint().state().step(), loaded.model().params().count(),
                half ? "F16" : "F32", out, bytes / 1e6);
        return 0;
    }
}
