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
            case "tiny" -> new ModelConfig(257, 32, 2, 2, 64, 64, 10000, false, false, true, "full", 16, 1e-6, 0.02);
            case "demo" -> new ModelConfig(8192, 128, 4, 4, 344, 1024, 10000, false, false, true, "full", 64, 1e-6, 0.02);
            case "small" -> new ModelConfig(8192, 256, 6, 4, 688, 256, 10000, false, false, true, "full", 64, 1e-6, 0.02);
            case "bench" -> new ModelConfig(8192, 256, 4, 4, 688, 512, 10000, false, false, true, "full", 128, 1e-6, 0.02);
            default -> throw new IllegalArgumentException("unknown preset \"" + name + "\" (known: " + String.join(", ", NAMES) + ")");
        };
    }
}
