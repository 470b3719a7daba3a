package org.ttt4j.cli.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ttt4j bench <what>}: benchmark commands that print a table and JSON lines. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: a readable table, then one JSON object per measurement.",
        subcommands = {GemmBench.class, SmallGemmBench.class, TrainBench.class, DecodeBench.class, LayerBench.class, E2eBench.class})
public final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
