package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.kernel.DecodeKernels;
import org.ttt4j.core.kernel.DecodeKernelsReference;
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
                "Then the decode attention over cached f32 and bf16 keys and values (--attend-keys), ns per key.",
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
    @Option(names = "--attend-keys", split = ",", defaultValue = "1024,4096",
            description = "cached keys per head for the decode attention rows (one query per head over --attend-heads heads of width 64,"
                    + " f32 and bf16 keys and values, one thread); none: skip them (default: ${DEFAULT-VALUE})")
    List<String> attendKeys;
    @Option(names = "--attend-heads", defaultValue = "144",
            description = "heads read per call of the attention rows: 144 is 12 layers of 12 heads, a 110M model's token (default: ${DEFAULT-VALUE})")
    int attendHeads;

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
        if (!attendKeys.contains("none")) attention(rows, bandwidth);
        stdout().println();
        var json = new ObjectMapper();
        for (var r : rows) stdout().println(json.writeValueAsString(r));
        return 0;
    }

    /**
     * The decode step's attention ({@link DecodeKernels#attend}): one query per head over a
     * cache of {@code keys} positions, for every head of --attend-heads in turn (their keys and
     * values together exceed the caches, as a token's do), on one thread: ns per cached key and
     * GB/s of keys and values read, beside the scalar reference.
     */
    private void attention(List<Map<String, Object>> rows, double bandwidth) {
        int d = 64, heads = attendHeads;
        if (heads < 1) throw new IllegalArgumentException("--attend-heads must be >= 1, got " + heads);
        stdout().printf("%n%-6s %8s %6s %11s %9s %9s %12s%n", "kv", "keys", "heads", "ns per key", "GB/s", "of bw", "ref ns/key");
        var rng = new SplittableRandom(43);
        for (String k : attendKeys) {
            int keys = Integer.parseInt(k.trim());
            if (keys < 1 || (long) heads * keys * d > Integer.MAX_VALUE - 64) throw new IllegalArgumentException("--attend-keys: " + k + " is empty or too large");
            float[] kf = new float[heads * keys * d], vf = new float[kf.length], q = new float[heads * d], out = new float[d], scores = new float[keys];
            short[] kh = new short[kf.length], vh = new short[kf.length];
            for (int i = 0; i < kf.length; i++) {
                kf[i] = (float) rng.nextGaussian();
                vf[i] = (float) rng.nextGaussian();
                kh[i] = PackedMatrix.toBf16(kf[i]);
                vh[i] = PackedMatrix.toBf16(vf[i]);
            }
            for (int i = 0; i < q.length; i++) q[i] = (float) rng.nextGaussian();
            for (boolean bf16 : new boolean[] {false, true}) {
                Runnable fast = () -> {
                    for (int h = 0; h < heads; h++) {
                        if (bf16) DecodeKernels.attend(q, h * d, kh, vh, h * keys * d, d, 0, keys - 1, 0, 0.125f, scores, out, 0);
                        else DecodeKernels.attend(q, h * d, kf, vf, h * keys * d, d, 0, keys - 1, 0, 0.125f, scores, out, 0);
                    }
                };
                Runnable reference = () -> {
                    for (int h = 0; h < heads; h++) {
                        if (bf16) DecodeKernelsReference.attend(q, h * d, kh, vh, h * keys * d, d, 0, keys - 1, 0, 0.125f, scores, out, 0);
                        else DecodeKernelsReference.attend(q, h * d, kf, vf, h * keys * d, d, 0, keys - 1, 0, 0.125f, scores, out, 0);
                    }
                };
                double seconds = Double.MAX_VALUE, ref = Double.NaN;
                for (int r = 0; r < rounds + 1; r++) seconds = Math.min(seconds, time(fast)); // the first round warms up
                if (!noReference) ref = time(reference);
                long bytes = 2L * heads * keys * d * (bf16 ? 2 : 4);
                double perKey = seconds / ((double) heads * keys) * 1e9, gbs = bytes / seconds / 1e9;
                stdout().printf("%-6s %8d %6d %11.2f %9.1f %9.2f %12s%n", bf16 ? "bf16" : "f32", keys, heads, perKey, gbs, gbs * 1e9 / bandwidth,
                        Double.isNaN(ref) ? "-" : String.format("%.2f", ref / ((double) heads * keys) * 1e9));
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("bench", "attend");
                row.put("kv_cache", bf16 ? "bf16" : "f32");
                row.put("keys", keys);
                row.put("heads", heads);
                row.put("head_dim", d);
                row.put("threads", 1);
                row.put("seconds_per_call", seconds);
                row.put("ns_per_key", perKey);
                row.put("gbytes_per_s", gbs);
                row.put("fraction_of_bandwidth", gbs * 1e9 / bandwidth);
                if (!Double.isNaN(ref)) {
                    row.put("reference_ns_per_key", ref / ((double) heads * keys) * 1e9);
                    row.put("speedup_vs_reference", ref / seconds);
                }
                rows.add(row);
            }
        }
    }

    /** Seconds per run of {@code body}, runs back to back for at least --min-time. */
    private double time(Runnable body) {
        long calls = 0, t0 = System.nanoTime(), limit = (long) (minTime * 1e9), elapsed;
        do {
            body.run();
            calls++;
            elapsed = System.nanoTime() - t0;
        } while (elapsed < limit);
        return elapsed / 1e9 / calls;
    }

    /**
     * Seconds per call, the calls of one round back to back for at least --min-time: on the
     * calling thread, split by rows over the pool ({@code parallel}), or the scalar reference.
     */
    private double measure(PackedMatrix m, float[] x, float[] y, boolean parallel, boolean reference, int grain) {
        int rowsOf = m.rows(), cols = m.cols();
        double seconds = time(() -> {
            if (reference) {
                MatVecReference.matmul(m, x, 0, cols, batch, y, 0, rowsOf, 0, rowsOf);
            } else if (parallel) {
                Parallel.forRange(rowsOf, grain, (from, to) -> product(m, x, y, from, to));
            } else {
                product(m, x, y, 0, rowsOf);
            }
        });
        sink += y[0];
        return seconds;
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
