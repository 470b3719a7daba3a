package org.ttt4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the command line in-process for tests: the exit status, with what it wrote to stderr collected in {@code err}. */
final class Cli {
    private Cli() {}

    static int run(StringWriter err, String... args) {
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(new StringWriter()));
        return cl.execute(args);
    }
}
