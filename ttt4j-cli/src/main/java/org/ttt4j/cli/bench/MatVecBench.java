package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.kernel.MatVecReference;
import org.ttt4j.core.kernel.PackedMatrix;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.kernel.Simd;
import org.ttt4j.core.kernel.WeightFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench matvec}: the decode products ({@link PackedMatrix#matvec}, or
 * {@link PackedMatrix#matmul} for a batch of vectors) per weight format and shape, on one thread
 * and split over the engine's threads by rows, as GB/s of weight bytes read, GFLOP/s, and the
 * fraction of the memory read bandwidth measured in the same run ({@code bench infer}'s
 * measure); beside them the scalar reference ({@link MatVecReference}) on one thread.
 */
@Command(name = "matvec", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Matrix-vector products over f32, bf16 and Q8 weights: GB/s of weights read against the memory bandwidth.",
                "Each format and shape on one thread and split by rows over the engine's threads (-Dttt4j.threads), best of "
                        + "--rounds alternating rounds, beside the scalar reference on one thread.",
                "Prints a table, then one JSON object per measurement."})
public final class MatVecBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--shapes", split = ",", defaultValue = "768x768,2048x768,32000x768,16384x4096",
            description = "weight shapes ROWSxCOLS; the last default (268 MB in fp32) exceeds the caches (default: ${DEFAULT-VALUE})")
    List<String> shapes;
    @Option(names = "--formats", split = ",", defaultValue = "f32,bf16,q8", description = "weight formats (default: ${DEFAULT-VALUE})")
    List<String> formats;
    @Option(names = "--batch", defaultValue = "1",
            description = "vectors per call: 1 measures matvec, more measure matmul (batched decoding) (default: ${DEFAULT-VALUE})")
    int batch;
    @Option(names = "--rounds", defaultValue = "3", description = "timed rounds per measurement, best reported (default: ${DEFAULT-VALUE})")
    int rounds;
    @Option(names = "--min-time", defaultValue = "0.2", paramLabel = "SECONDS",
            description = "minimum length of one round, calls back to back (default: ${DEFAULT-VALUE})")
    double minTime;
    @Option(names = "--no-reference", description = "skip the scalar reference (default: measured)")
    boolean noReference;

    private static volatile float sink; // keeps the products observable

    /** Weights rows x cols. */
    record Shape(int rows, int cols) {
        static Shape parse(String s) {
            String[] p = s.trim().toLowerCase(java.util.Locale.ROOT).split("x");
            if (p.length != 2) throw new IllegalArgumentException("--shapes: expected ROWSxCOLS, got \"" + s + "\"");
            var shape = new Shape(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()));
            if (shape.rows < 1 || shape.cols < 1 || (long) shape.rows * shape.cols > Integer.MAX_VALUE - 64) {
                throw new IllegalArgumentException("--shapes: " + s + " is empty or too large for one array");
            }
            return shape;
        }

        String label() {
            return rows + " x " + cols;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || rounds < 1 || minTime <= 0) throw new IllegalArgumentException("--batch and --rounds must be >= 1 and --min-time > 0");
        List<Shape> shapeList = shapes.stream().map(Shape::parse).toList();
        List<WeightFormat> formatList = formats.stream().map(WeightFormat::parse).toList();
        int threads = Parallel.threads();
        double bandwidth = InferBench.Bandwidth.measure(org.ttt4j.core.kernel.Team.engine())[0];
        stdout().printf("ttt4j bench matvec: %s, %d thread(s), %d-lane vectors, SIMD %s; best of %d rounds of >= %.2f s%n",
                batch == 1 ? "matvec (one vector)" : "matmul of " + batch + " vectors", threads, Simd.F.length(),
                Simd.enabled() ? "on" : "OFF (scalar reference)", rounds, minTime);
        stdout().printf("memory bandwidth: %.1f GB/s read with %d thread(s) (bench infer's measure)%n", bandwidth / 1e9, threads);
        List<Map<String, Object>> rows = new ArrayList<>();
        if (threads > 1) {
            double fork = forkJoinSeconds(threads);
            stdout().printf("fork/join: %.1f us per Parallel.forRange of %d empty chunks (included in the %d-thread rows)%n", fork * 1e6, threads, threads);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("bench", "matvec_fork_join");
            row.put("threads", threads);
            row.put("seconds_per_call", fork);
            rows.add(row);
        }
        stdout().println();
        stdout().printf("%-6s %-14s %9s %8s %9s %9s %9s %10s%n", "format", "rows x cols", "MB", "threads", "GB/s", "GFLOP/s", "of bw", "ref GB/s");
        var rng = new SplittableRandom(42);
        for (Shape s : shapeList) {
            float[] w = new float[s.rows * s.cols];
            for (int i = 0; i < w.length; i++) w[i] = (float) (rng.nextGaussian() * 0.05);
            float[] x = new float[batch * s.cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
            float[] y = new float[batch * s.rows];
            for (WeightFormat f : formatList) {
                PackedMatrix m = PackedMatrix.pack(w, 0, s.rows, s.cols, f);
                double reference = noReference ? Double.NaN : measure(m, x, y, false, true, 1);
                // One chunk of rows per thread: the fewest forks and joins.
                int grain = Math.max(1, (s.rows + threads - 1) / threads);
                double one = Double.MAX_VALUE, all = Double.MAX_VALUE;
                measure(m, x, y, false, false, grain); // warm-up: compiles the kernels before the timed rounds
                for (int r = 0; r < rounds; r++) { // rounds alternate (this VM's speed drifts within seconds)
                    one = Math.min(one, measure(m, x, y, false, false, grain));
                    if (threads > 1) all = Math.min(all, measure(m, x, y, true, false, grain));
                }
                rows.add(row(f, s, m.bytes(), 1, one, reference, bandwidth));
                if (threads > 1) rows.add(row(f, s, m.bytes(), threads, all, reference, bandwidth));
            }
        }
        stdout().println();
        var json = new ObjectMapper();
        for (var r : rows) stdout().println(json.writeValueAsString(r));
        return 0;
    }

    /**
     * Seconds per call, the calls of one round back to back for at least --min-time: on the
     * calling thread, split by rows over the pool ({@code parallel}), or the scalar reference.
     */
    private double measure(PackedMatrix m, float[] x, float[] y, boolean parallel, boolean reference, int grain) {
        int rowsOf = m.rows(), cols = m.cols();
        long calls = 0, t0 = System.nanoTime(), limit = (long) (minTime * 1e9), elapsed;
        do {
            if (reference) {
                MatVecReference.matmul(m, x, 0, cols, batch, y, 0, rowsOf, 0, rowsOf);
            } else if (parallel) {
                Parallel.forRange(rowsOf, grain, (from, to) -> product(m, x, y, from, to));
            } else {
                product(m, x, y, 0, rowsOf);
            }
            calls++;
            elapsed = System.nanoTime() - t0;
        } while (elapsed < limit);
        sink += y[0];
        return elapsed / 1e9 / calls;
    }

    /** Seconds per {@link Parallel#forRange} of one empty chunk per thread: the fork/join every split call pays. */
    private double forkJoinSeconds(int threads) {
        int[] touched = new int[threads];
        double best = Double.MAX_VALUE;
        for (int r = 0; r < rounds + 1; r++) { // the first round warms up
            long calls = 0, t0 = System.nanoTime(), elapsed;
            do {
                Parallel.forRange(threads, 1, (from, to) -> touched[from]++);
                calls++;
                elapsed = System.nanoTime() - t0;
            } while (elapsed < 0.05e9);
            if (r > 0) best = Math.min(best, elapsed / 1e9 / calls);
        }
        sink += touched[0];
        return best;
    }

    private void product(PackedMatrix m, float[] x, float[] y, int from, int to) {
        if (batch == 1) m.matvec(x, 0, y, 0, from, to);
        else m.matmul(x, 0, m.cols(), batch, y, 0, m.rows(), from, to);
    }

    private Map<String, Object> row(WeightFormat f, Shape s, long bytes, int threads, double seconds, double reference, double bandwidth) {
        double gbs = bytes / seconds / 1e9, gflops = 2.0 * s.rows * s.cols * batch / seconds / 1e9;
        double refGbs = bytes / reference / 1e9;
        stdout().printf("%-6s %-14s %9.1f %8d %9.1f %9.1f %9.2f %10s%n", f.label(), s.label(), bytes / 1e6, threads, gbs, gflops,
                gbs * 1e9 / bandwidth, Double.isNaN(reference) ? "-" : String.format("%.2f", refGbs));
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("bench", "matvec");
        row.put("format", f.label());
        row.put("rows", s.rows);
        row.put("cols", s.cols);
        row.put("batch", batch);
        row.put("weight_bytes", bytes);
        row.put("threads", threads);
        row.put("seconds_per_call", seconds);
        row.put("gbytes_per_s", gbs);
        row.put("gflops", gflops);
        row.put("bandwidth_read_bytes_per_s", bandwidth);
        row.put("fraction_of_bandwidth", gbs * 1e9 / bandwidth);
        if (!Double.isNaN(reference)) {
            row.put("reference_gbytes_per_s", refGbs);
            row.put("speedup_vs_reference", reference / seconds);
        }
        return row;
    }
}
