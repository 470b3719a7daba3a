package org.ttt4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the command line in-process for tests: the exit status, with what it wrote to stderr collected in {@code err}. */
final class Cli {
    private Cli() {}

    /** Java-looking text, enough for a BPE of a few hundred ids. */
    static final String CODE = "public static void main(String[] args) { return value; } ".repeat(300);

    /**
     * A tiny model trained for {@code steps} steps on {@code text} (written to {@code dir/t.txt})
     * with {@code tokenizer}, in {@code dir/run}; fails the test if training fails.
     */
    static java.nio.file.Path trainTiny(java.nio.file.Path dir, String tokenizer, String text, int steps) throws java.io.IOException {
        java.nio.file.Path corpus = dir.resolve("t.txt"), run = dir.resolve("run");
        java.nio.file.Files.writeString(corpus, text);
        var err = new StringWriter();
        int code = run(err, "train", "--preset", "tiny", "--tokenizer", tokenizer, "--corpus", corpus.toString(), "--steps", "" + steps,
                "--batch", "2", "--context", "16", "--eval-batches", "0", "--checkpoint-every", "" + steps, "--out", run.toString());
        org.junit.jupiter.api.Assertions.assertEquals(0, code, err::toString);
        return run;
    }

    /** What a command printed, and its exit status. */
    record Printed(int status, String out, String err) {}

    /** Runs the command line in-process, collecting what it prints on both writers. */
    static Printed printed(String... args) {
        return printed(Main.commandLine(), args);
    }

    static Printed printed(picocli.CommandLine cl, String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute(args);
        return new Printed(status, out.toString(), err.toString());
    }

    static int run(StringWriter err, String... args) {
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(new StringWriter()));
        return cl.execute(args);
    }
}
