package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.ttt4j.cli.report.Plots;
import org.ttt4j.lm.eval.LossByPosition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ttt4j plot}: training curves of runs from their metrics.jsonl, or loss by token index from eval results. */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = {"Plot training curves of runs, or loss by token index of eval results, into a PNG.",
                "Draws the training and validation loss of one or more run folders, or (--positions) the loss by",
                "token index of results that `eval` wrote, from one or several evaluations, in one plot."})
public final class PlotCommand extends CommandIo implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "RUN", description = "run folders, each with its metrics.jsonl (not model folders: a plot"
            + " needs the training log)") List<Path> runs;
    @Option(names = "--out", defaultValue = "runs/loss.png", description = "the PNG to write (default: ${DEFAULT-VALUE})") Path out;
    @Option(names = "--smooth", defaultValue = "20", description = "moving-average window of the training loss, in steps"
            + " (default: ${DEFAULT-VALUE})") int smooth;
    @Option(names = "--positions", paramLabel = "[NAME=]FILE", description = "a loss_by_position.json written by eval: one curve per"
            + " model in it, labelled 'NAME: label' when NAME is given (repeatable; instead of run folders)") List<String> positions;
    @Option(names = "--only", split = ",", paramLabel = "LABEL", description = "with --positions: only the curves with these labels (default: all)")
    List<String> only;
    @Option(names = "--title", description = "plot title (default: what is plotted)") String title;

    @Override
    public Integer call() throws Exception {
        boolean hasRuns = runs != null && !runs.isEmpty(), hasPositions = positions != null && !positions.isEmpty();
        if (hasRuns == hasPositions) throw new IllegalArgumentException("give run folders or --positions files (one of the two)");
        if (hasPositions) return positions();
        if (only != null) throw new IllegalArgumentException("--only applies to --positions");
        List<Plots.Curve> curves = new ArrayList<>();
        for (Path run : runs) curves.add(curve(run, run.getFileName().toString(), smooth));
        Plots.trainingCurves(curves, title != null ? title : "training loss (moving average of " + smooth + " steps) and validation loss", out);
        stdout().println("wrote " + out);
        return 0;
    }

    private int positions() throws java.io.IOException {
        var json = new ObjectMapper();
        List<LossByPosition> curves = new ArrayList<>();
        for (String spec : positions) {
            int eq = spec.indexOf('=');
            String name = eq > 0 && !Files.exists(Path.of(spec)) ? spec.substring(0, eq) : null;
            Path file = Path.of(name == null ? spec : spec.substring(eq + 1));
            if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--positions: no such file " + file);
            var results = json.readTree(file.toFile()).path("results");
            if (!results.isArray() || results.isEmpty()) {
                throw new IllegalArgumentException("--positions " + file + ": expected a loss_by_position.json written by eval (a \"results\" list)");
            }
            for (var r : results) {
                LossByPosition p = json.treeToValue(r, LossByPosition.class);
                String label = name == null ? p.label() : name + ": " + p.label();
                if (only == null || only.contains(label)) {
                    curves.add(new LossByPosition(label, p.documents(), p.buckets(), p.meanLoss(), p.byContext()));
                }
            }
        }
        if (curves.isEmpty()) throw new IllegalArgumentException("--only " + only + ": no curve has any of these labels");
        Plots.lossByPosition(curves, title != null ? title : "loss by token index", out);
        stdout().println("wrote " + out + " (" + curves.size() + " curves)");
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
