package org.ttt4j.cli;

import org.ttt4j.cli.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ttt4j} command: one subcommand per task. */
@Command(name = "ttt4j", mixinStandardHelpOptions = true, version = "ttt4j 0.1.0-SNAPSHOT",
        description = "Language models that keep learning at test time, in pure Java.",
        subcommands = {TrainCommand.class, EvalCommand.class, GenerateCommand.class, InspectCommand.class, PlotCommand.class,
                TokenizerCommand.class, BenchCommand.class, InfoCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Launcher commands (handled by ./ttt4j itself):",
                "  ./ttt4j test            run the whole test suite (what CI runs)",
                "  ./ttt4j -Dname=value    JVM options before the command, e.g. -Dttt4j.threads=1,",
                "                          -Dttt4j.simd=false (scalar reference kernels everywhere)"})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
