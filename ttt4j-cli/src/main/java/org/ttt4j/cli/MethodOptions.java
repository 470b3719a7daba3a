package org.ttt4j.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.methods.MethodOption;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.methods.OptionValues;
import picocli.CommandLine.Model.ArgGroupSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine;

/**
 * The registered methods' options of {@code ttt4j train} ({@link Method#trainOptions()}), added to
 * the command when picocli builds it, and their values after parsing: the CLI names no method's
 * option itself.
 */
public final class MethodOptions implements CommandLine.IModelTransformer {
    /** Every method's options, each name once (methods may share one, as TTT-Linear and TTT-MLP do). */
    static List<MethodOption> all() {
        Map<String, MethodOption> byName = new LinkedHashMap<>();
        for (Method m : Methods.all()) for (MethodOption o : m.trainOptions()) byName.putIfAbsent(o.name(), o);
        return List.copyOf(byName.values());
    }

    @Override
    public CommandSpec transform(CommandSpec spec) {
        ArgGroupSpec.Builder group = ArgGroupSpec.builder().exclusive(false).validate(false).multiplicity("0..1")
                .heading("Options of the methods (each from its package; ttt4j info lists the methods):%n");
        for (MethodOption o : all()) {
            if (spec.findOption(o.name()) != null) throw new IllegalStateException("method option " + o.name() + " is also an option of " + spec.name());
            OptionSpec.Builder b = OptionSpec.builder(o.name()).type(o.type()).description(o.description());
            if (o.flag()) b.arity("0");
            else b.arity("1").paramLabel("<" + o.name().substring(2) + ">");
            group.addArg(b.build());
        }
        if (!group.args().isEmpty()) spec.addArgGroup(group.build());
        return spec;
    }

    /** The values given for any option of the command that {@code spec} parsed. */
    static OptionValues values(CommandSpec spec) {
        CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
        return new OptionValues() {
            @Override
            public boolean given(String name) {
                return parsed != null && parsed.hasMatchedOption(name);
            }

            @Override
            public <T> T get(String name, Class<T> type) {
                if (!given(name)) return null;
                Object v = parsed.matchedOptionValue(name, null);
                if (v == null && type == Boolean.class) v = Boolean.TRUE; // a flag
                return type.cast(v);
            }
        };
    }
}
