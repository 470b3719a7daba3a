package org.ttt4j.lm.methods;

/**
 * A command-line option a method adds to {@code ttt4j train}, e.g. {@code --ttt-mini-batch}: the
 * CLI shows it in {@code --help} and hands its value back through {@link OptionValues}.
 *
 * @param name         the option, with its dashes
 * @param type         Integer, Double, Boolean or String; Boolean options take true or false, unless {@code flag}
 * @param description  the help text; should say the default
 * @param flag         a switch without a value (type Boolean)
 */
public record MethodOption(String name, Class<?> type, String description, boolean flag) {
    public MethodOption {
        if (!name.startsWith("--")) throw new IllegalArgumentException("method option " + name + " must start with --");
        if (type != Integer.class && type != Double.class && type != Boolean.class && type != String.class) {
            throw new IllegalArgumentException("method option " + name + ": type " + type.getSimpleName() + " is not Integer, Double, Boolean or String");
        }
        if (flag && type != Boolean.class) throw new IllegalArgumentException("method option " + name + ": a flag is Boolean");
    }

    public static MethodOption of(String name, Class<?> type, String description) {
        return new MethodOption(name, type, description, false);
    }

    public static MethodOption flag(String name, String description) {
        return new MethodOption(name, Boolean.class, description, true);
    }
}
