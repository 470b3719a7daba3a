package org.ttt4j.cli;

import java.util.List;

/**
 * What {@code ttt4j experiment PRESET} trains and how it evaluates: one model size, one corpus and
 * token budget shared by every method, and the evaluation suite's settings.
 */
record ExperimentPreset(
        String name,
        String modelPreset,
        String corpus,
        String tokenizer,
        int context,
        int batch,
        int steps,
        double lr,
        int window,
        String hybrid,
        int evalDocs,
        int evalTokens,
        List<Integer> niahContexts,
        List<Double> niahDepths,
        int niahSamples,
        List<Integer> latencyContexts,
        int latencyDecode) {

    /**
     * The methods, in report order, by the names the rest of the CLI uses (the config's mixers, e2e
     * for TTT-E2E); hybrid is SWA with full-attention blocks, naive_ttt TTT-E2E trained without its
     * inner loop. Every preset trains all of them.
     */
    static final List<String> METHODS = List.of("full", "swa", "hybrid", "ttt_linear", "ttt_mlp", "e2e", "naive_ttt");

    /**
     * A method's name in what an experiment writes: its run folder, its label in the report, the
     * JSON results and the plots. These keep the spellings the published reports under
     * docs/results were written with (ttt-linear, ttt-e2e, ...), so a re-run writes the same files.
     */
    static String label(String method) {
        return switch (method) {
            case "ttt_linear" -> "ttt-linear";
            case "ttt_mlp" -> "ttt-mlp";
            case "e2e" -> "ttt-e2e";
            case "naive_ttt" -> "naive-ttt";
            default -> method;
        };
    }

    static final List<String> NAMES = List.of("smoke", "small");

    static ExperimentPreset byName(String name) {
        return switch (name) {
            // Every method, tiny, bytes: a few minutes on 2 cores; the test suite runs it on the repository's sources.
            case "smoke" -> new ExperimentPreset("smoke", "tiny", "default;include=java.base/java/util/concurrent/**", "bytes", 128, 2, 30,
                    3e-3, 16, "swa:1,full:1", 2, 512, List.of(512, 1024), List.of(0.0, 0.5, 1.0), 1, List.of(128, 1024), 8);
            // The real comparison: `small` (6 blocks, width 256, BPE 8192) on the JDK sources, 100 steps of 2 x 1,024 tokens.
            case "small" -> new ExperimentPreset("small", "small", "default", "bpe:8192", 1024, 2, 100, 3e-3, 64, "swa:5,full:1", 8, 4096,
                    List.of(1024, 2048, 4096), List.of(0.0, 0.5, 1.0), 2, List.of(1024, 4096, 16384), 32);
            default -> throw new IllegalArgumentException("unknown experiment preset \"" + name + "\" (known: " + String.join(", ", NAMES) + ")");
        };
    }

    ExperimentPreset withSteps(int newSteps) {
        return new ExperimentPreset(name, modelPreset, corpus, tokenizer, context, batch, newSteps, lr, window, hybrid, evalDocs, evalTokens,
                niahContexts, niahDepths, niahSamples, latencyContexts, latencyDecode);
    }

    ExperimentPreset withCorpus(String newCorpus) {
        return new ExperimentPreset(name, modelPreset, newCorpus, tokenizer, context, batch, steps, lr, window, hybrid, evalDocs, evalTokens,
                niahContexts, niahDepths, niahSamples, latencyContexts, latencyDecode);
    }
}
