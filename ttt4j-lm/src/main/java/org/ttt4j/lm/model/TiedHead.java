package org.ttt4j.lm.model;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.ttt4j.core.tensor.Tensor;

/**
 * A state dict saved from PyTorch with a tied LM head often carries {@code lm_head.weight} next to
 * {@code model.embed_tokens.weight} (the same tensor written twice). A ttt4j model with
 * {@code tied_embeddings} has no separate head parameter: this drops the copy after checking it
 * is the embedding, value for value. Loaders call {@link #drop} before copying weights in.
 */
public final class TiedHead {
    private TiedHead() {}

    public static final String HEAD = "lm_head.weight", EMBEDDING = "model.embed_tokens.weight";

    /**
     * {@code weights} without a tied {@code lm_head.weight} (the same map when there is none or the
     * config does not tie the head).
     *
     * @param file the weights' file, named in errors
     * @throws IllegalArgumentException naming the file and the field when the head differs from the embedding
     */
    public static Map<String, Tensor> drop(Map<String, Tensor> weights, ModelConfig config, Path file) {
        Tensor head = weights.get(HEAD);
        if (!config.tiedEmbeddings() || head == null) return weights;
        Tensor embedding = weights.get(EMBEDDING);
        if (embedding == null) {
            throw new IllegalArgumentException(file + ": field " + HEAD + " is present but " + EMBEDDING + " is missing");
        }
        if (!java.util.Arrays.equals(head.shape(), embedding.shape())) {
            throw new IllegalArgumentException(file + ": field " + HEAD + " has shape " + java.util.Arrays.toString(head.shape())
                    + ", the embedding " + java.util.Arrays.toString(embedding.shape()) + ": the config ties them (tie_word_embeddings)");
        }
        for (int i = 0, n = head.size(); i < n; i++) {
            if (head.get(i) != embedding.get(i)) {
                throw new IllegalArgumentException(file + ": field " + HEAD + " differs from " + EMBEDDING + " at element " + i + " ("
                        + head.get(i) + " vs " + embedding.get(i) + "), but the config ties them (tie_word_embeddings): an untied model"
                        + " needs tie_word_embeddings false");
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>(weights);
        out.remove(HEAD);
        return out;
    }
}
