package org.ttt4j.lm.methods;

import java.util.List;
import java.util.Optional;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.ModelParts;

/** The registered methods ({@link Method}), in registry order. */
public final class Methods {
    private Methods() {}

    /** Every registered method. */
    public static List<Method> all() {
        return ModelParts.all().stream().filter(p -> p instanceof Method).map(p -> (Method) p).toList();
    }

    /** The method named {@code name}. */
    public static Optional<Method> named(String name) {
        return all().stream().filter(m -> m.name().equals(name)).findFirst();
    }

    /**
     * The method that trains, scores and reads a model of config {@code c}: the one that governs it
     * (TTT-E2E), else the method of its first block's mixer.
     */
    public static Method of(ModelConfig c) {
        for (Method m : all()) if (m.governs(c)) return m;
        String mixer = c.blockMixers().getFirst().name();
        return named(mixer).orElseThrow(() -> new IllegalStateException("mixer \"" + mixer + "\" has no registered method"));
    }
}
