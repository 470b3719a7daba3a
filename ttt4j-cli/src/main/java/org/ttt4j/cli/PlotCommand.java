package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.ttt4j.lm.eval.Plots;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ttt4j plot}: training curves of one or more runs from their metrics.jsonl. */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = "Draw the training and validation loss of one or more run folders into a PNG.")
public final class PlotCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", description = "run folders (each holds metrics.jsonl)") List<Path> runs;
    @Option(names = "--out", defaultValue = "runs/loss.png") Path out;
    @Option(names = "--smooth", defaultValue = "20", description = "moving-average window of the training loss, in steps") int smooth;

    @Override
    public Integer call() throws Exception {
        List<Plots.Curve> curves = new ArrayList<>();
        for (Path run : runs) curves.add(curve(run, run.getFileName().toString(), smooth));
        Plots.trainingCurves(curves, "training loss (moving average of " + smooth + " steps) and validation loss", out);
        System.out.println("wrote " + out);
        return 0;
    }

    /** A run's training loss (moving average of {@code smooth} steps) and validation loss, from its metrics.jsonl. */
    static Plots.Curve curve(Path run, String label, int smooth) throws java.io.IOException {
        var json = new ObjectMapper();
        Path metrics = run.resolve("metrics.jsonl");
        if (!Files.exists(metrics)) throw new IllegalArgumentException("no metrics.jsonl in " + run);
        List<double[]> train = new ArrayList<>(), val = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            if (line.isBlank()) continue;
            var n = json.readTree(line);
            if (n.has("loss") && n.get("loss").isNumber()) train.add(new double[] {n.get("step").asDouble(), n.get("loss").asDouble()});
            if (n.has("val_loss")) val.add(new double[] {n.get("step").asDouble(), n.get("val_loss").asDouble()});
        }
        double[] steps = train.stream().mapToDouble(p -> p[0]).toArray();
        double[] loss = movingAverage(train.stream().mapToDouble(p -> p[1]).toArray(), Math.max(1, smooth));
        return new Plots.Curve(label, steps, loss, val.stream().mapToDouble(p -> p[0]).toArray(), val.stream().mapToDouble(p -> p[1]).toArray());
    }

    static double[] movingAverage(double[] x, int w) {
        double[] r = new double[x.length];
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            sum += x[i];
            if (i >= w) sum -= x[i - w];
            r[i] = sum / Math.min(i + 1, w);
        }
        return r;
    }
}
