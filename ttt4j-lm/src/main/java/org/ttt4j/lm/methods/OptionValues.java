package org.ttt4j.lm.methods;

import java.util.Map;

/** The values given on the command line for a command's options, by option name (with dashes). */
public interface OptionValues {
    /** Whether option {@code name} was given. */
    boolean given(String name);

    /** The value of option {@code name} as {@code type}, or null when it was not given. */
    <T> T get(String name, Class<T> type);

    /** Values from a map (options absent from it were not given). */
    static OptionValues of(Map<String, ?> values) {
        return new OptionValues() {
            @Override public boolean given(String name) { return values.containsKey(name) && values.get(name) != null; }
            @Override public <T> T get(String name, Class<T> type) { return type.cast(values.get(name)); }
        };
    }
}
