package org.ttt4j.lm.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/** The registered {@link ModelPart}s, in the order of their registry lines. */
public final class ModelParts {
    private static final List<ModelPart> ALL = load();

    private ModelParts() {}

    private static List<ModelPart> load() {
        List<ModelPart> parts = new ArrayList<>();
        for (ModelPart p : ServiceLoader.load(ModelPart.class, ModelPart.class.getClassLoader())) {
            if (parts.stream().anyMatch(q -> q.name().equals(p.name()))) {
                throw new IllegalStateException("two methods are registered as \"" + p.name() + "\"");
            }
            parts.add(p);
        }
        return List.copyOf(parts);
    }

    /** Every registered part. */
    public static List<ModelPart> all() {
        return ALL;
    }

    /** Every mixer name of the {@code mixers} pattern, in registry order. */
    public static List<String> mixerNames() {
        return ALL.stream().flatMap(p -> p.mixerNames().stream()).toList();
    }

    /** The part that builds mixer {@code name}. */
    public static Optional<ModelPart> ofMixer(String name) {
        return ALL.stream().filter(p -> p.mixerNames().contains(name)).findFirst();
    }

    /** The part that owns config section {@code section}. */
    public static Optional<ModelPart> ofSection(String section) {
        return ALL.stream().filter(p -> section.equals(p.section())).findFirst();
    }
}
