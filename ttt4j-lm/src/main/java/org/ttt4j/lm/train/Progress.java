package org.ttt4j.lm.train;

import java.io.PrintStream;
import java.time.Duration;

/**
 * Progress of a long job: a redrawn bar on a terminal, plain lines otherwise (CI logs, pipes).
 */
public final class Progress {
    private final PrintStream out;
    private final boolean terminal;
    private final long total;
    private final long startNanos = System.nanoTime();
    private final long firstStep;

    public Progress(PrintStream out, long firstStep, long total) {
        this.out = out;
        this.terminal = System.console() != null && System.console().isTerminal() && !"dumb".equals(System.getenv("TERM"));
        this.total = total;
        this.firstStep = firstStep;
    }

    /** Reports step {@code step} (1-based count of steps done); {@code print} forces a plain line. */
    public void update(long step, String fields, boolean print) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        long done = step - firstStep;
        double perStep = done > 0 ? elapsed / done : 0;
        String eta = done > 0 ? format(Duration.ofSeconds((long) (perStep * (total - step)))) : "?";
        if (terminal) {
            int width = 24, filled = (int) (width * step / Math.max(1, total));
            out.printf("\r[%s%s] %d/%d %s eta %s   ", "#".repeat(filled), ".".repeat(width - filled), step, total, fields, eta);
            if (step == total) out.println();
            out.flush();
        } else if (print || step == total) {
            out.printf("step %d/%d %s eta %s%n", step, total, fields, eta);
        }
    }

    /** A message on its own line (clears the bar first). */
    public void line(String message) {
        if (terminal) out.print("\r" + " ".repeat(100) + "\r");
        out.println(message);
    }

    static String format(Duration d) {
        long s = d.getSeconds();
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60) : String.format("%dm%02ds", s / 60, s % 60);
    }
}
