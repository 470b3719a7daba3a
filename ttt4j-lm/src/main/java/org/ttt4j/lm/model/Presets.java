package org.ttt4j.lm.model;

import java.util.List;

/**
 * Named model sizes. {@code tiny} runs in seconds (tests), {@code small} trains to a useful loss
 * in about an hour on two cores, {@code demo} is the shipped TTT-E2E model of {@code ttt4j demo}
 * (a few MB; trains in minutes), {@code bench} is fixed for benchmarks (the issue tracker defines
 * it: width 256, 4 layers, 4 heads, SwiGLU 688, vocab 8192, context 512).
 */
public final class Presets {
    private Presets() {}

    public static final List<String> NAMES = List.of("tiny", "demo", "small", "bench");

    public static ModelConfig byName(String name) {
        return switch (name) {
            case "tiny" -> ModelConfig.builder().build();
            case "demo" -> ModelConfig.builder().vocabSize(8192).dModel(128).layers(4).heads(4).dFf(344).context(1024).window(64).build();
            case "small" -> ModelConfig.builder().vocabSize(8192).dModel(256).layers(6).heads(4).dFf(688).context(256).window(64).build();
            case "bench" -> ModelConfig.builder().vocabSize(8192).dModel(256).layers(4).heads(4).dFf(688).context(512).window(128).build();
            default -> throw new IllegalArgumentException("unknown preset \"" + name + "\" (known: " + String.join(", ", NAMES) + ")");
        };
    }
}
