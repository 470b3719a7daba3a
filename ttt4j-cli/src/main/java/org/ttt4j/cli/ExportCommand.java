package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.ttt4j.lm.api.HfExport;
import org.ttt4j.lm.io.AtomicFiles;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.io.StateFile;
import org.ttt4j.lm.methods.ttt.OfficialTttConfig;
import org.ttt4j.lm.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j export}: a trained run's weights as a self-contained model folder (config.json,
 * model.safetensors, the tokenizer), without optimizer state: what is shipped, e.g. the demo model.
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a run's latest checkpoint as a self-contained model folder (no optimizer state).",
                "The folder holds config.json, model.safetensors and the tokenizer; every command that takes a",
                "--model accepts it (--format ttt4j). --format hf writes a folder that Hugging Face transformers loads",
                "(AutoModelForCausalLM, AutoTokenizer): attention models as Llama, sliding-window ones as Mistral.",
                "--format ttt writes TTT-Linear/TTT-MLP models with the official ttt-lm-pytorch TTTConfig config.json."})
public final class ExportCommand extends CommandIo implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "MODEL", required = true, description = "the run (its latest checkpoint), checkpoint or model folder to export") Path run;
    @Option(names = "--out", required = true, description = "model folder to write (must not exist or be empty)") Path out;
    @Option(names = "--half", description = "store weights as F16 (half the size; they load back as FP32; default: F32)") boolean half;
    @Option(names = "--format", defaultValue = "ttt4j", description = "ttt4j: ttt4j's own config.json; hf: transformers' Llama/Mistral"
            + " config.json with tokenizer.json (attention models only); ttt: ttt-lm-pytorch's TTTConfig config.json (TTT-Linear/TTT-MLP"
            + " models only) (default: ${DEFAULT-VALUE})") String format;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Override
    public Integer call() throws Exception {
        try (var lock = org.ttt4j.lm.io.FolderLock.acquireSibling(out, "export")) {
            return export();
        }
    }

    private int export() throws Exception {
        if (!List.of("ttt4j", "hf", "ttt").contains(format)) throw new IllegalArgumentException("--format: unknown \"" + format + "\" (known: ttt4j, hf, ttt)");
        var loaded = Checkpoints.load(run);
        if (org.ttt4j.lm.hf.HfFolder.is(loaded.checkpoint().folder())) {
            throw new IllegalArgumentException("--model " + run + " is a Hugging Face folder already (its tokenizer is its tokenizer.json):"
                    + " export writes folders of models trained here");
        }
        ModelConfig config = loaded.checkpoint().config();
        // Checked before any file is written: what the chosen format cannot express is refused with the reason.
        ObjectNode foreignConfig = null, hfTokenizer = null;
        if (format.equals("hf")) {
            String why = HfExport.refusal(config);
            if (why != null) throw new IllegalArgumentException("--format hf: cannot export " + run + ": " + why);
            foreignConfig = HfExport.config(config, loaded.tokenizer(), half ? "float16" : "float32");
            hfTokenizer = HfExport.tokenizerJson(loaded.tokenizer());
        } else if (format.equals("ttt")) {
            try {
                foreignConfig = OfficialTttConfig.fromModelConfig(config, loaded.tokenizer().documentBoundary(), loaded.tokenizer().documentBoundary());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--format ttt: cannot export " + run + ": " + e.getMessage(), e);
            }
            foreignConfig.put("torch_dtype", half ? "float16" : "float32");
            try {
                hfTokenizer = HfExport.tokenizerJson(loaded.tokenizer());
            } catch (IllegalArgumentException e) {
                stderr().println("note: no tokenizer.json written: " + e.getMessage());
            }
        }
        ObjectNode writtenConfig = foreignConfig, writtenTokenizer = hfTokenizer;
        if (Files.exists(out)) {
            try (var entries = Files.list(out)) {
                if (entries.findAny().isPresent()) throw new IllegalArgumentException("--out " + out + " exists and is not empty");
            }
        }
        // Written into a temporary sibling and renamed whole: an export that fails (a full disk) leaves
        // no half-written folder to block the next one.
        AtomicFiles.replaceDirectory(out, tmp -> {
            Map<String, String> meta = new LinkedHashMap<>();
            if (!format.equals("ttt4j")) meta.put("format", "pt"); // transformers reads only safetensors marked as PyTorch's
            if (writtenConfig == null) {
                Checkpoints.writeModelFolder(tmp, config, loaded.checkpoint().model(), meta, loaded, half);
                return;
            }
            Files.writeString(tmp.resolve("config.json"), JSON.writeValueAsString(writtenConfig));
            if (writtenTokenizer != null) {
                Files.writeString(tmp.resolve("tokenizer.json"), JSON.writeValueAsString(writtenTokenizer));
                Files.writeString(tmp.resolve("tokenizer_config.json"), JSON.writeValueAsString(HfExport.tokenizerConfig(loaded.tokenizer(), config.context())));
            }
            Checkpoints.writeWeights(tmp, loaded.checkpoint().model(), meta, loaded, half);
            Checkpoints.writeTokenizer(tmp, loaded);
        });
        long bytes;
        try (var files = Files.walk(out)) {
            bytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        stdout().printf("exported %s (step %s, %,d parameters, %s, format %s) to %s: %.2f MB%n", loaded.checkpoint().folder(),
                loaded.checkpoint().state() == null ? "?" : loaded.checkpoint().state().step(), loaded.model().params().count(),
                half ? "F16" : "F32", format, out, bytes / 1e6);
        return 0;
    }
}
