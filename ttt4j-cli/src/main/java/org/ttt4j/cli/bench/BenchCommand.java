package org.ttt4j.cli.bench;

import org.ttt4j.cli.CommandIo;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** {@code ttt4j bench <what>}: benchmark commands that print a table and JSON lines. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: a readable table, then one JSON object per measurement.",
        subcommands = {GemmBench.class, SmallGemmBench.class, TrainBench.class, DecodeBench.class, LayerBench.class, E2eBench.class, LoadBench.class, TokenizerBench.class, InferBench.class, MatVecBench.class, ServeBench.class})
public final class BenchCommand extends CommandIo implements Runnable {

    @Override
    public void run() {
        spec.commandLine().usage(stdout());
    }
}
