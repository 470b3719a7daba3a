package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.kernel.Gemm;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.kernel.Simd;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench gemm}: fp32 GEMM speed of {@link Gemm} against numpy/OpenBLAS measured in
 * the same run, and against the machine's FMA peak.
 *
 * <p>Timing: each repetition runs one shape back to back for at least {@code --min-time}
 * seconds and counts completed calls; ttt4j and numpy repetitions alternate (this machine's
 * speed drifts with other load) and the best repetition of each is reported.
 */
@Command(name = "gemm", mixinStandardHelpOptions = true,
        description = {"fp32 matrix multiply: ttt4j GFLOP/s vs numpy (OpenBLAS) and the FMA peak.",
                "Threads come from -Dttt4j.threads (numpy gets the same count through "
                        + "OPENBLAS_NUM_THREADS). Prints a table, then one JSON object per line."})
public class GemmBench extends CommandIo implements Callable<Integer> {

    @Option(names = "--sizes", split = ",", paramLabel = "N",
            description = "Square sizes (default: ${DEFAULT-VALUE}).", defaultValue = "256,512,1024,2048")
    int[] sizes;

    @Option(names = "--no-model-shapes",
            description = "Skip the model shapes (4096x256 @ 256x768, 4096x768 @ 768x256, "
                    + "64 x 64x64 @ 64x64; default: measured).")
    boolean noModelShapes;

    @Option(names = "--repeat", paramLabel = "R", defaultValue = "5",
            description = "Timed repetitions per shape and library; the best is reported "
                    + "(default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--min-time", paramLabel = "SECONDS", defaultValue = "0.25",
            description = "Minimum length of one timed repetition (default: ${DEFAULT-VALUE}).")
    double minTime;

    @Option(names = "--no-numpy", description = "Do not run numpy (default: it runs).")
    boolean noNumpy;

    @Option(names = "--python", paramLabel = "EXE", defaultValue = "python3",
            description = "Python interpreter for the numpy side (default: ${DEFAULT-VALUE}).")
    String python;

    private static final VectorSpecies<Float> F = Simd.F;

    /** Keeps JIT from discarding benchmark results. */

    public GemmBench() {}

    /** One product shape: op(A) m x k times op(B) k x n, batch times. */
    record Shape(int m, int n, int k, int batch) {
        String label() {
            return (batch > 1 ? batch + " x " : "") + m + "x" + k + " @ " + k + "x" + n;
        }

        double flops() {
            return 2.0 * m * n * k * batch;
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintStream out = stdoutStream();
        if (repeat < 1 || minTime <= 0) {
            stderr().println("--repeat must be >= 1 and --min-time > 0");
            return 2;
        }
        int threads = Parallel.threads();
        out.printf("ttt4j bench gemm: %d thread(s) (-Dttt4j.threads), %d-lane fp32 vectors, "
                        + "SIMD %s, vector bounds checks %s%n", threads, F.length(),
                Simd.enabled() ? "on" : "OFF (scalar reference)",
                System.getProperty("jdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK", "2").equals("0")
                        ? "off" : "on");
        out.printf("timing: best of %d repetitions of >= %.2f s each, ttt4j and numpy alternating%n%n",
                repeat, minTime);

        // FMA peak: register-only loop, first on this thread, then on every pool thread.
        double peak1 = FmaPeak.measure(1), peakAll = threads == 1 ? peak1 : FmaPeak.measure(threads);
        out.printf("fp32 FMA peak: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d thread(s)%n%n",
                peak1, peakAll, threads);

        List<Shape> shapes = new ArrayList<>();
        for (int s : sizes) shapes.add(new Shape(s, s, s, 1));
        if (!noModelShapes) {
            shapes.add(new Shape(4096, 768, 256, 1));
            shapes.add(new Shape(4096, 256, 768, 1));
            shapes.add(new Shape(64, 64, 64, 64));
        }

        List<Map<String, Object>> rows = new ArrayList<>();
        try (NumpyWorker numpy = noNumpy ? null : NumpyWorker.start(python, threads, out)) {
            warmUp();
            out.printf("%-26s %9s %9s %7s %8s%n", "shape (m x k @ k x n)", "ttt4j", "numpy",
                    "ratio", "of peak");
            out.printf("%-26s %9s %9s %7s %8s%n", "", "GFLOP/s", "GFLOP/s", "", "");
            for (Shape s : shapes) {
                Map<String, Object> row = measure(s, threads, peakAll, numpy);
                rows.add(row);
                Double np = (Double) row.get("numpy_gflops");
                Double ratio = (Double) row.get("ratio_vs_openblas");
                out.printf("%-26s %9.1f %9s %7s %7.0f%%%n", s.label(), (Double) row.get("gflops"),
                        np == null ? "-" : String.format("%.1f", np),
                        ratio == null ? "-" : String.format("%.2f", ratio),
                        100 * (Double) row.get("fraction_of_peak"));
            }
        }

        out.println();
        ObjectMapper json = new ObjectMapper();
        out.println(json.writeValueAsString(peakRow(1, peak1)));
        if (threads > 1) out.println(json.writeValueAsString(peakRow(threads, peakAll)));
        for (Map<String, Object> row : rows) out.println(json.writeValueAsString(row));
        return 0;
    }

    private static Map<String, Object> peakRow(int threads, double gflops) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("bench", "fma_peak");
        row.put("threads", threads);
        row.put("gflops", round(gflops));
        return row;
    }

    private Map<String, Object> measure(Shape s, int threads, double peak, NumpyWorker numpy) {
        Random r = new Random(42);
        float[] a = random(r, (long) s.batch * s.m * s.k);
        float[] b = random(r, (long) s.batch * s.k * s.n);
        float[] c = new float[s.batch * s.m * s.n];
        Runnable call = s.batch == 1
                ? () -> Gemm.sgemm(false, false, s.m, s.n, s.k, a, 0, s.k, b, 0, s.n, c, 0, s.n, false)
                : () -> Gemm.sgemmBatched(s.batch, false, false, s.m, s.n, s.k, a, 0, s.m * s.k,
                        b, 0, s.k * s.n, c, 0, s.m * s.n, false);
        timed(call, s.flops(), minTime); // warm-up on this shape (JIT, caches, packing buffers)
        double best = 0, bestNp = 0;
        boolean npOk = numpy != null;
        for (int rep = 0; rep < repeat; rep++) {
            best = Math.max(best, timed(call, s.flops(), minTime));
            if (npOk) {
                Double g = numpy.measure(s, minTime);
                if (g == null) npOk = false;
                else bestNp = Math.max(bestNp, g);
                settle();
            }
        }
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("bench", "gemm");
        row.put("shape", s.m + "x" + s.n + "x" + s.k);
        row.put("m", s.m);
        row.put("n", s.n);
        row.put("k", s.k);
        row.put("batch", s.batch);
        row.put("threads", threads);
        row.put("gflops", round(best));
        row.put("numpy_gflops", npOk ? round(bestNp) : null);
        row.put("ratio_vs_openblas", npOk ? round(best / bestNp) : null);
        row.put("fraction_of_peak", round(best / peak));
        row.put("timing", "best of " + repeat + " x >= " + minTime + " s");
        return row;
    }

    /**
     * Lets OpenBLAS's worker threads go to sleep before ttt4j is timed: after a call they spin
     * (with sched_yield) for about 2^28 cycles waiting for more work, which would take CPU time
     * from the first part of the next ttt4j repetition.
     */
    private static void settle() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs call repeatedly for at least minSeconds; returns GFLOP/s over that stretch. */
    private static double timed(Runnable call, double flopsPerCall, double minSeconds) {
        long limit = (long) (minSeconds * 1e9);
        long count = 0, t0 = System.nanoTime(), elapsed;
        do {
            call.run();
            count++;
            elapsed = System.nanoTime() - t0;
        } while (elapsed < limit);
        return flopsPerCall * count / elapsed;
    }

    /** Brings the kernels to C2 on small shapes first, so the first timed shape is not penalised. */
    private static void warmUp() {
        Random r = new Random(1);
        float[] a = random(r, 64 * 96 * 96), b = random(r, 64 * 96 * 96), c = new float[64 * 96 * 96];
        long end = System.nanoTime() + 1_500_000_000L;
        while (System.nanoTime() < end) {
            Gemm.sgemmBatched(64, false, false, 64, 64, 64, a, 0, 64 * 64, b, 0, 64 * 64, c, 0,
                    64 * 64, false);
            Gemm.sgemm(false, false, 96 * 4, 96 * 4, 96 * 4, a, 0, 96 * 4, b, 0, 96 * 4, c, 0,
                    96 * 4, false);
            Gemm.sgemm(false, false, 61, 77, 300, a, 0, 300, b, 0, 77, c, 0, 77, false);
        }
    }

    // ---------------------------------------------------------------------------------------
    // numpy subprocess

    /** A python3 + numpy process answering timing requests (see gemm_numpy.py). */
    static final class NumpyWorker implements AutoCloseable {
        private final Process process;
        private final BufferedReader in;
        private final Writer toPython;
        private final PrintStream log;
        private final Path script;

        private NumpyWorker(Process process, Path script, PrintStream log) {
            this.process = process;
            this.script = script;
            this.log = log;
            this.in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.toPython = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        }

        /** Starts the worker, or prints why not and returns null (ratios are then null). */
        static NumpyWorker start(String python, int threads, PrintStream log) {
            Path script = null;
            try (InputStream res = GemmBench.class.getResourceAsStream("gemm_numpy.py")) {
                if (res == null) throw new IOException("resource gemm_numpy.py not found");
                script = Files.createTempFile("ttt4j-gemm-numpy", ".py");
                Files.copy(res, script, StandardCopyOption.REPLACE_EXISTING);
                ProcessBuilder pb = new ProcessBuilder(python, "-u", script.toString());
                String t = Integer.toString(threads);
                pb.environment().put("OPENBLAS_NUM_THREADS", t);
                pb.environment().put("OMP_NUM_THREADS", t);
                pb.environment().put("MKL_NUM_THREADS", t);
                pb.redirectError(ProcessBuilder.Redirect.DISCARD);
                Process p = pb.start();
                NumpyWorker w = new NumpyWorker(p, script, log);
                String hello = w.in.readLine();
                if (hello == null || !hello.startsWith("READY")) {
                    log.println("note: numpy comparison skipped (" + (hello == null
                            ? python + " exited" : hello.replaceFirst("^ERR ", "")) + ")");
                    w.close();
                    return null;
                }
                log.println("numpy " + hello.substring(5).trim() + " via " + python
                        + ", OPENBLAS_NUM_THREADS=" + t);
                return w;
            } catch (IOException e) {
                log.println("note: numpy comparison skipped (cannot run " + python + ": "
                        + e.getMessage() + ")");
                deleteQuietly(script);
                return null;
            }
        }

        /** GFLOP/s of one timed stretch, or null if the worker failed. */
        Double measure(Shape s, double minSeconds) {
            try {
                toPython.write(s.m + " " + s.n + " " + s.k + " " + s.batch + " " + minSeconds + "\n");
                toPython.flush();
                String line = in.readLine();
                if (line == null) throw new IOException("numpy worker exited");
                return Double.parseDouble(line.trim());
            } catch (IOException | NumberFormatException e) {
                log.println("note: numpy measurement failed (" + e.getMessage() + "); ratios are null");
                return null;
            }
        }

        @Override
        public void close() {
            try {
                toPython.write("quit\n");
                toPython.flush();
            } catch (IOException ignored) {
                // already gone
            }
            try {
                if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) process.destroy();
            } catch (InterruptedException e) {
                process.destroy();
                Thread.currentThread().interrupt();
            }
            deleteQuietly(script);
        }

        private static void deleteQuietly(Path p) {
            if (p == null) return;
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a temp file; the OS cleans up
            }
        }
    }

    private static float[] random(Random r, long n) {
        float[] x = new float[Math.toIntExact(n)];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 2 - 1;
        return x;
    }

    private static Double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
