package org.ttt4j.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/**
 * What every command prints goes through picocli's writers ({@link CommandLine#getOut()} and
 * {@link CommandLine#getErr()}), so that a caller, e.g. a test, can collect it with
 * {@link CommandLine#setOut} and {@link CommandLine#setErr}.
 */
public abstract class CommandIo {
    @CommandLine.Spec
    protected CommandLine.Model.CommandSpec spec;

    /** The command's standard output. */
    protected PrintWriter stdout() {
        return spec.commandLine().getOut();
    }

    /** The command's standard error. */
    protected PrintWriter stderr() {
        return spec.commandLine().getErr();
    }

    /** {@link #stdout()} as a PrintStream, for library code that logs to one. */
    protected PrintStream stdoutStream() {
        return stream(stdout());
    }

    /** A PrintStream that writes (UTF-8) into {@code w}: each print call is passed on whole and flushed. */
    public static PrintStream stream(PrintWriter w) {
        OutputStream bytes = new OutputStream() {
            private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

            @Override public void write(int b) {
                pending.write(b);
            }

            @Override public void write(byte[] b, int off, int len) {
                pending.write(b, off, len);
            }

            @Override public void flush() {
                w.write(pending.toString(StandardCharsets.UTF_8));
                pending.reset();
                w.flush();
            }
        };
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }
}
