package org.ttt4j.lm.model;

import java.util.List;

/**
 * What a method contributes to building a model: the sequence mixers it names in the config's
 * {@code mixers} pattern, the config section it owns, and the sub-layers it adds to a block.
 * Every method ({@code org.ttt4j.lm.methods.Method}) is one; they are found with
 * {@link java.util.ServiceLoader} (one line in
 * {@code META-INF/services/org.ttt4j.lm.model.ModelPart}), so a new method adds its own package
 * and that line, and nothing in this package changes.
 */
public interface ModelPart {
    /** The method's name in configs and on the command line, e.g. {@code "ttt_linear"} or {@code "e2e"}. */
    String name();

    /** Mixer names this part builds in the config's {@code mixers} pattern (empty for a method that is not a mixer). */
    default List<String> mixerNames() {
        return List.of();
    }

    /** The config section this part owns (e.g. {@code "ttt"}), or null. */
    default String section() {
        return null;
    }

    /** Keys visible to each query of mixer {@code mixer} in a model of config {@code c}: 0 for all. */
    default int window(String mixer, ModelConfig c) {
        return 0;
    }

    /**
     * Adds the sub-layers of mixer {@code mixer} (one of {@link #mixerNames()}) to the block being
     * built, and names the norm before the block's MLP ({@link BlockBuilder#mlpNormName}).
     */
    default void addMixer(BlockBuilder block, String mixer) {
        throw new UnsupportedOperationException(name() + " builds no mixer \"" + mixer + "\"");
    }

    /**
     * Adds the sub-layers this part puts between the mixer and the MLP of the block being built;
     * called for every registered part, in registry order (TTT-E2E adds its prime MLP here).
     */
    default void addBeforeMlp(BlockBuilder block) {}

    /** Checks this part's section against the whole config; throws naming the field. */
    default void validate(ModelConfig c) {}
}
