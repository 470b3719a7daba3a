package org.ttt4j.cli;

import org.ttt4j.cli.bench.BenchCommand;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** The {@code ttt4j} command: one subcommand per task. */
@Command(name = "ttt4j", mixinStandardHelpOptions = true, version = "ttt4j 0.1.0-SNAPSHOT",
        description = "Language models that keep learning at test time, in pure Java.",
        subcommands = {DemoCommand.class, TrainCommand.class, EvalCommand.class, ScoreCommand.class, ExperimentCommand.class, ExportCommand.class, ConvertCommand.class, GenerateCommand.class, InspectCommand.class, PlotCommand.class,
                TokenizerCommand.class, BenchCommand.class, RetrievalCommand.class, ServeCommand.class, CheckTorchCommand.class, InfoCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Launcher commands (handled by ./ttt4j itself):",
                "  ./ttt4j test            run the whole test suite (what CI runs)",
                "  ./ttt4j -Dname=value    JVM options before the command:",
                "      -Dttt4j.threads=N    engine threads (default: all cores)",
                "      -Dttt4j.simd=false   scalar reference kernels everywhere",
                "      -Dttt4j.debug=true   stack traces on errors"})
public final class Main extends CommandIo implements Runnable {

    @Override
    public void run() {
        spec.commandLine().usage(stdout());
    }

    public static void main(String[] args) {
        try {
            System.exit(commandLine().execute(args));
        } catch (OutOfMemoryError e) {
            // Not bad input but a heap too small for the job: say so and how to give it more.
            System.err.printf("out of memory (the JVM's heap is at most %,d MiB): give it more with e.g. ./ttt4j -Xmx16g %s,"
                    + " or lower --context/--batch%n", Runtime.getRuntime().maxMemory() >> 20, args.length > 0 ? args[0] + " ..." : "");
            System.exit(1);
        }
    }

    /**
     * The command line with the error policy: bad input (a wrong option value, a missing or corrupt
     * file, an invalid config) prints one line naming the command and the problem and exits with 1;
     * the stack trace only with {@code -Dttt4j.debug=true}.
     */
    public static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (Boolean.getBoolean("ttt4j.debug")) e.printStackTrace();
            String what = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (e instanceof java.nio.file.NoSuchFileException) what = "no such file: " + what;
            cmd.getErr().println(cmd.getCommandName() + ": " + what);
            if (!(e instanceof IllegalArgumentException || e instanceof java.io.IOException || e instanceof IllegalStateException)) {
                cmd.getErr().println("(unexpected " + e.getClass().getName() + "; run with -Dttt4j.debug=true for the stack trace)");
            }
            return 1;
        });
    }
}
