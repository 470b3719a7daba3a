package org.ttt4j.lm.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.methods.ttt.OfficialTttConfig;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.TiedHead;

/**
 * A Hugging Face model folder: {@code config.json} ({@link HfConfig}) and the weights in
 * {@code model.safetensors} or in shards listed by {@code model.safetensors.index.json}. Weights in
 * F32, F16 or BF16 are read from memory-mapped files straight into the model's fp32 tensors.
 */
public final class HfFolder {
    private HfFolder() {}

    /** Whether {@code folder} holds a Hugging Face {@code config.json} (a Llama-family or an official TTT one). */
    public static boolean is(Path folder) {
        Path config = folder.resolve("config.json");
        if (!Files.isRegularFile(config)) return false;
        try {
            JsonNode json = new ObjectMapper().readTree(config.toFile());
            return HfConfig.isHf(json); // official TTT configs name a model_type too
        } catch (IOException e) {
            // Unreadable: a folder laid out the Hugging Face way is reported as one (by config(), naming the file).
            return Files.isRegularFile(folder.resolve("model.safetensors.index.json")) || Files.isRegularFile(folder.resolve("tokenizer.json"));
        }
    }

    /** The ttt4j config of the folder. */
    public static ModelConfig config(Path folder) throws IOException {
        Path file = folder.resolve("config.json");
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not a JSON document: " + e.getMessage(), e);
        }
        // The official TTT checkpoints' configs (ttt-lm-pytorch's TTTConfig), else the Llama family's.
        return (OfficialTttConfig.isOfficial(json) ? OfficialTttConfig.toModelConfig(json, file) : HfConfig.toModelConfig(json, file)).validate();
    }

    /** The model of the folder, its parameters the folder's weights. */
    public static Decoder load(Path folder) throws IOException {
        ModelConfig config = config(folder);
        Map<String, Tensor> weights = weights(folder);
        // A tied head may still be stored; it must be the embedding.
        weights = new LinkedHashMap<>(TiedHead.drop(weights, config, folder));
        weights.keySet().removeIf(n -> n.endsWith(".rotary_emb.inv_freq")); // buffers some checkpoints store
        Decoder model;
        try {
            model = new Decoder(config, new Params(weights));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(folder + ": " + e.getMessage(), e);
        }
        var unused = new TreeSet<>(weights.keySet());
        unused.removeAll(model.params().all().keySet());
        if (!unused.isEmpty()) throw new IllegalArgumentException(folder + ": weights the config has no place for: " + unused);
        return model;
    }

    /** Every weight of the folder by name, from the single file or the shards of the index. */
    static Map<String, Tensor> weights(Path folder) throws IOException {
        Path single = folder.resolve("model.safetensors"), index = folder.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(single)) return new LinkedHashMap<>(read(single));
        if (!Files.isRegularFile(index)) {
            throw new IOException(folder + ": no weights (neither model.safetensors nor model.safetensors.index.json)");
        }
        JsonNode map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        if (!map.isObject() || map.isEmpty()) throw new IOException(index + ": field weight_map is missing or empty");
        Map<String, String> shardOf = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            var e = it.next();
            String shard = e.getValue().asText();
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                throw new IOException(index + ": field weight_map." + e.getKey() + " names \"" + shard + "\", not a file of this folder");
            }
            shardOf.put(e.getKey(), shard);
        }
        Map<String, Tensor> all = new LinkedHashMap<>();
        for (String shard : new TreeSet<>(shardOf.values())) {
            Path file = folder.resolve(shard);
            if (!Files.isRegularFile(file)) throw new IOException(index + ": shard " + shard + " is missing");
            for (var e : read(file).entrySet()) {
                if (!shard.equals(shardOf.get(e.getKey()))) {
                    throw new IOException(file + ": holds tensor " + e.getKey() + ", which the index places in " + shardOf.get(e.getKey()));
                }
                all.put(e.getKey(), e.getValue());
            }
        }
        var missing = new TreeSet<>(shardOf.keySet());
        missing.removeAll(all.keySet());
        if (!missing.isEmpty()) throw new IOException(index + ": tensors listed but in no shard: " + missing);
        return all;
    }

    private static Map<String, Tensor> read(Path file) throws IOException {
        SafeTensors.Contents c = SafeTensors.read(file);
        SafeTensors.requireFinite(file, c.tensors());
        return c.tensors();
    }
}
