package org.ttt4j.cli;

import java.util.concurrent.Callable;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.methods.Methods;
import picocli.CommandLine.Command;

/** Prints what the engine will use on this machine. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show the JVM, thread count and SIMD width the engine uses here, and the registered methods.")
public final class InfoCommand extends CommandIo implements Callable<Integer> {
    @Override
    public Integer call() {
        stdout().printf("java       %s (%s)%n", System.getProperty("java.version"), System.getProperty("java.vm.name"));
        stdout().printf("cores      %d%n", Runtime.getRuntime().availableProcessors());
        stdout().printf("threads    %d (-Dttt4j.threads)%n", Parallel.threads());
        stdout().printf("simd       %s, %d fp32 lanes (-Dttt4j.simd)%n", Simd.enabled() ? "on" : "off", Simd.F.length());
        stdout().printf("max heap   %d MiB%n", Runtime.getRuntime().maxMemory() >> 20);
        stdout().println("methods    (registered; mixers go into --mixers, sections into config.json)");
        for (Method m : Methods.all()) {
            stdout().printf("  %-12s %s: %s%s%s%n", m.name(), m.title(), m.summary(),
                    m.mixerNames().isEmpty() ? "" : "; mixers " + String.join(", ", m.mixerNames()),
                    m.section() == null ? "" : "; section " + m.section());
        }
        return 0;
    }
}
