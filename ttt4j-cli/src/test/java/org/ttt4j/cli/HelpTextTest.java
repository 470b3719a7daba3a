package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine;

/**
 * The help of every command and subcommand (bench included): every option and positional
 * parameter has a description, every one with a default value or a non-null initial value says
 * what its default is (picocli's ${DEFAULT-VALUE} or the word "default"), and every command's
 * first description line, the one the command lists show, is a whole sentence.
 */
class HelpTextTest {
    @Test
    void everyOptionIsDescribedWithItsDefault() {
        List<String> problems = new ArrayList<>();
        walk(Main.commandLine(), problems);
        assertEquals(List.of(), problems, String.join("\n", problems));
    }

    @Test
    void commandSummariesAreWholeSentences() {
        List<String> problems = new ArrayList<>();
        summaries(Main.commandLine(), problems);
        assertEquals(List.of(), problems, String.join("\n", problems));
        var out = new StringWriter();
        var cl = Main.commandLine().setOut(new PrintWriter(out));
        assertEquals(0, cl.execute("--help"));
        // The listing shows each command's first line: it ends a sentence.
        String listing = out.toString().substring(out.toString().indexOf("Commands:"), out.toString().indexOf("Launcher commands"));
        for (String command : List.of("plot", "retrieval", "check-torch", "generate", "inspect")) {
            assertTrue(listing.contains("  " + command + " "), listing);
        }
    }

    private static void walk(CommandLine cl, List<String> problems) {
        String name = cl.getCommandSpec().qualifiedName(" ");
        for (ArgSpec arg : cl.getCommandSpec().args()) {
            if (arg instanceof OptionSpec o && (o.usageHelp() || o.versionHelp())) continue;
            String what = name + " " + (arg instanceof OptionSpec o ? o.longestName() : "positional " + arg.paramLabel());
            String text = String.join(" ", arg.description()).strip();
            if (text.isEmpty()) {
                problems.add(what + ": no description");
                continue;
            }
            boolean hasDefault = arg.defaultValue() != null || arg.initialValue() != null;
            if (hasDefault && !text.contains("${DEFAULT-VALUE}") && !text.toLowerCase(Locale.ROOT).contains("default")) {
                problems.add(what + ": has a default (" + (arg.defaultValue() != null ? arg.defaultValue() : arg.initialValue())
                        + ") its description does not mention: \"" + text + "\"");
            }
        }
        for (CommandLine sub : cl.getSubcommands().values()) walk(sub, problems);
    }

    private static void summaries(CommandLine cl, List<String> problems) {
        for (CommandLine sub : cl.getSubcommands().values()) {
            String[] d = sub.getCommandSpec().usageMessage().description();
            String first = d.length == 0 ? "" : d[0].strip();
            if (!first.endsWith(".")) problems.add(sub.getCommandSpec().qualifiedName(" ") + ": the listed first line is not a whole sentence: \"" + first + "\"");
            summaries(sub, problems);
        }
    }
}
