package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.kernel.SmallGemm;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench small-gemm}: the matrix products of one TTT mini-batch ({@link SmallGemm}, one
 * thread, operands in L1) against OpenBLAS's {@code cblas_sgemm} on the same shapes in the same
 * run, both as a fraction of the one-thread FMA peak measured beside each shape, then summed over
 * a whole mini-batch of each inner model: the ceiling these products set for the fused kernel.
 * The OpenBLAS side is a small C program shipped in the jar, compiled here with the system C
 * compiler against the system's libopenblas (skipped, saying so, when either is missing).
 */
@Command(name = "small-gemm", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The TTT mini-batch's matrix products (b x d x d and friends, one thread, L1-resident operands).",
                "ttt4j's SmallGemm against OpenBLAS cblas_sgemm in the same run, rounds alternating, best of each, as GFLOP/s and as "
                        + "fractions of the one-thread FMA peak measured before and after each shape.",
                "Then each inner model's whole mini-batch of products back to back, and the share of a fused kernel's time that its "
                        + "other work may take for the kernel to reach half the peak with those products.",
                "The OpenBLAS peer is compiled with the system C compiler (cc) against libopenblas (scripts/install-peers.sh)."})
public final class SmallGemmBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--b", defaultValue = "16", description = "mini-batch b (default: ${DEFAULT-VALUE})") int b;
    @Option(names = "--d", defaultValue = "64", description = "head width d (default: ${DEFAULT-VALUE})") int d;
    @Option(names = "--hidden", defaultValue = "256", description = "TTT-MLP hidden width (default: ${DEFAULT-VALUE})") int hidden;
    @Option(names = "--rounds", defaultValue = "5", description = "timed rounds per shape, best reported (default: ${DEFAULT-VALUE})") int rounds;
    @Option(names = "--no-openblas", description = "skip the OpenBLAS peer (default: compared when it is installed)") boolean noOpenblas;
    @Option(names = "--cc", defaultValue = "cc", description = "C compiler for the peer (default: ${DEFAULT-VALUE})") String cc;
    @Option(names = "--openblas", description = "libopenblas to link (default: the first libopenblas.so* ldconfig lists)") String openblas;

    /** One product: C[m x n] += op(A)[m x k] B[k x n], op(A) = A^T when transA. */
    record Shape(String what, int m, int k, int n, boolean transA) {
        String dims() {
            return m + "x" + k + "x" + n + (transA ? " (A^T)" : "");
        }

        double flops() {
            return 2.0 * m * k * n;
        }
    }

    /** A shape that one mini-batch multiplies {@code times} times. */
    record Use(Shape shape, int times) {}

    /** Every product one mini-batch of an inner model makes in {@code TttFusedKernel}'s forward. */
    record MiniBatch(String inner, List<Use> uses) {}

    /** One shape's best time and the one-thread peak measured beside it. */
    record Timing(double ns, double peakGflops) {}

    /**
     * The fraction of the peak a mini-batch's products reach run back to back, each at its own
     * best time: all their FLOPs over the FLOPs the peak would have done in the same time (each
     * shape against the peak measured beside it).
     */
    static double fractionOfPeak(MiniBatch mb, Map<String, Timing> timings) {
        double flops = 0, peakFlops = 0;
        for (Use u : mb.uses()) {
            Timing t = timings.get(u.shape().dims());
            if (t == null) throw new IllegalArgumentException("no timing for " + u.shape().dims());
            flops += u.times() * u.shape().flops();
            peakFlops += u.times() * t.ns() * t.peakGflops();
        }
        return flops / peakFlops;
    }

    /**
     * The largest share of a fused kernel's time that everything but its products may take if the
     * kernel is to reach {@code target} of the peak when its products reach {@code products}:
     * 1 - target / products, and 0 when the products alone fall short.
     */
    static double restShareAt(double target, double products) {
        return Math.max(0, 1 - target / products);
    }

    @Override
    public Integer call() throws Exception {
        if (b < 1 || d < 1 || hidden < 1 || rounds < 1) throw new IllegalArgumentException("--b, --d, --hidden and --rounds must be positive");
        if (Math.max(d, hidden) > 2048) {
            throw new IllegalArgumentException("--d " + d + " / --hidden " + hidden + ": widths above 2048 are not small products (bench gemm measures large ones)");
        }
        List<Shape> shapes = shapes();
        Map<String, Timing> ours = new LinkedHashMap<>(), theirs = new LinkedHashMap<>();
        stdout().printf("ttt4j bench small-gemm: the TTT mini-batch's products, b %d, d %d, hidden %d; one thread; best of %d alternating rounds%n",
                b, d, hidden, rounds);
        Path peer = noOpenblas ? null : buildPeer();
        stdout().printf("%n%-28s %-18s %9s %8s %9s %8s %7s%n", "product", "m x k x n", "ttt4j", "of peak", "OpenBLAS", "of peak", "ratio");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Shape s : shapes) {
            long calls = Math.max(100, (long) (2e9 / s.flops())); // about 20 ms a round at 100 GFLOP/s
            // Rounds alternate between the two (this VM's speed drifts within seconds); the best of each counts.
            double before = FmaPeak.measure(1), ns = Double.MAX_VALUE, theirNs = Double.MAX_VALUE;
            var op = new Operands(s);
            op.round(calls); // warm-up
            for (int r = 0; r < rounds; r++) {
                ns = Math.min(ns, op.round(calls));
                if (peer != null) theirNs = Math.min(theirNs, runPeer(peer, s, calls));
            }
            double peak = Math.max(before, FmaPeak.measure(1)), gflops = s.flops() / ns;
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("bench", "small_gemm");
            row.put("product", s.what());
            row.put("m", s.m());
            row.put("k", s.k());
            row.put("n", s.n());
            row.put("trans_a", s.transA());
            row.put("ns_per_call", ns);
            row.put("gflops", gflops);
            row.put("fma_peak_gflops", peak);
            row.put("fraction_of_peak", gflops / peak);
            ours.put(s.dims(), new Timing(ns, peak));
            String blas = "-", blasFrac = "-", ratio = "-";
            if (peer != null) {
                double og = s.flops() / theirNs;
                row.put("openblas_gflops", og);
                row.put("openblas_fraction_of_peak", og / peak);
                row.put("ratio_vs_openblas", gflops / og);
                theirs.put(s.dims(), new Timing(theirNs, peak));
                blas = String.format("%.1f", og);
                blasFrac = String.format("%.2f", og / peak);
                ratio = String.format("%.2f", gflops / og);
            }
            stdout().printf("%-28s %-18s %9.1f %8.2f %9s %8s %7s%n", s.what(), s.dims(), gflops, gflops / peak, blas, blasFrac, ratio);
            rows.add(row);
        }
        miniBatchRows(ours, peer != null ? theirs : null, rows);
        stdout().println();
        var json = new ObjectMapper();
        for (var r : rows) stdout().println(json.writeValueAsString(r));
        return 0;
    }

    /**
     * A whole mini-batch's products, each shape at its best time: the most a fused kernel built
     * on these products could reach with nothing else to do, and so how much of its time
     * everything else (the inner LayerNorm's rows, the output rows, transposes) may take for the
     * kernel to reach half the peak.
     */
    private void miniBatchRows(Map<String, Timing> ours, Map<String, Timing> theirs, List<Map<String, Object>> rows) {
        stdout().printf("%nOne mini-batch's products back to back (b %d, d %d, hidden %d), at the best times above:%n", b, d, hidden);
        stdout().printf("%-12s %9s %14s %9s %14s%n", "inner", "ttt4j", "rest at 0.5", "OpenBLAS", "rest at 0.5");
        for (MiniBatch mb : miniBatches()) {
            double f = fractionOfPeak(mb, ours);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("bench", "small_gemm_minibatch");
            row.put("inner", mb.inner());
            row.put("b", b);
            row.put("d", d);
            row.put("hidden", hidden);
            row.put("fraction_of_peak", f);
            row.put("rest_share_at_half_peak", restShareAt(0.5, f));
            String blas = "-", blasRest = "-";
            if (theirs != null) {
                double o = fractionOfPeak(mb, theirs);
                row.put("openblas_fraction_of_peak", o);
                row.put("openblas_rest_share_at_half_peak", restShareAt(0.5, o));
                blas = String.format("%.2f", o);
                blasRest = String.format("%.0f%%", 100 * restShareAt(0.5, o));
            }
            stdout().printf("%-12s %9.2f %14s %9s %14s%n", mb.inner(), f, String.format("%.0f%%", 100 * restShareAt(0.5, f)), blas, blasRest);
            rows.add(row);
        }
        stdout().println("(\"rest at 0.5\": the largest share of the kernel's time that its non-product work may take for the kernel to reach half the peak)");
    }

    /** The products of one TTT-Linear and one TTT-MLP mini-batch, as TttFusedKernel's forward makes them (its forwardFlops counts the same). */
    List<MiniBatch> miniBatches() {
        return List.of(
                new MiniBatch("ttt_linear", List.of(
                        new Use(new Shape("X W, Xbar W", b, d, d, false), 2),
                        new Use(new Shape("Xbar X^T", b, d, b, false), 1),
                        new Use(new Shape("P G", b, b, d, false), 1),
                        new Use(new Shape("W -= X^T G", d, b, d, true), 1))),
                new MiniBatch("ttt_mlp", List.of(
                        new Use(new Shape("X W1, Xbar W1, G2 W2^T", b, d, hidden, false), 3),
                        new Use(new Shape("X2 W2, X2bar W2", b, hidden, d, false), 2),
                        new Use(new Shape("Xbar X^T", b, d, b, false), 1),
                        new Use(new Shape("X2bar X2^T", b, hidden, b, false), 1),
                        new Use(new Shape("P G1", b, b, hidden, false), 1),
                        new Use(new Shape("P G2", b, b, d, false), 1),
                        new Use(new Shape("W1 -= X^T G1", d, b, hidden, true), 1),
                        new Use(new Shape("W2 -= X2^T G2", hidden, b, d, true), 1))));
    }

    /** Each distinct shape of the mini-batches once (d == hidden, say, makes TTT-MLP's repeat TTT-Linear's), named by its first use. */
    private List<Shape> shapes() {
        var seen = new LinkedHashSet<String>();
        List<Shape> out = new ArrayList<>();
        for (MiniBatch mb : miniBatches()) {
            for (Use u : mb.uses()) {
                Shape s = u.shape();
                if (seen.add(s.dims())) out.add(new Shape(mb.inner().replace("ttt_", "") + ": " + s.what(), s.m(), s.k(), s.n(), s.transA()));
            }
        }
        return out;
    }

    /** One shape's operands, small enough to stay in L1. */
    private static final class Operands {
        final Shape s;
        final float[] a, b, c;

        Operands(Shape s) {
            this.s = s;
            var rng = new SplittableRandom(11);
            a = Tensor.uniform(DType.FP32, rng, -0.5, 0.5, s.m() * s.k()).f32();
            b = Tensor.uniform(DType.FP32, rng, -0.5, 0.5, s.k() * s.n()).f32();
            c = new float[s.m() * s.n()];
        }

        /** Nanoseconds per call of {@code calls} back-to-back SmallGemm calls. */
        double round(long calls) {
            int lda = s.transA() ? s.m() : s.k();
            long t0 = System.nanoTime();
            for (long i = 0; i < calls; i++) SmallGemm.mm(s.transA(), a, 0, lda, b, 0, s.n(), c, 0, s.n(), s.m(), s.k(), s.n(), 1e-6f, true);
            double ns = (double) (System.nanoTime() - t0) / calls;
            if (!Float.isFinite(c[0])) throw new IllegalStateException("non-finite product"); // keeps the calls live
            return ns;
        }
    }

    /** Compiles the peer into a temporary directory; null (saying why) when it cannot. */
    private Path buildPeer() throws IOException, InterruptedException {
        String lib = openblas != null ? openblas : findOpenblas();
        if (lib == null) {
            stdout().println("OpenBLAS peer skipped: no libopenblas.so* found (scripts/install-peers.sh installs libopenblas0-pthread; --openblas PATH names one)");
            return null;
        }
        Path dir = Files.createTempDirectory("ttt4j-small-gemm");
        dir.toFile().deleteOnExit();
        Path src = dir.resolve("small_gemm_openblas.c"), exe = dir.resolve("small_gemm_openblas");
        try (InputStream in = SmallGemmBench.class.getResourceAsStream("small_gemm_openblas.c")) {
            if (in == null) throw new IllegalStateException("the jar lacks small_gemm_openblas.c");
            Files.write(src, in.readAllBytes());
        }
        src.toFile().deleteOnExit();
        exe.toFile().deleteOnExit();
        List<String> cmd = List.of(cc, "-O2", "-march=native", src.toString(), "-o", exe.toString(), lib);
        String out;
        int status;
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            status = p.waitFor(5, TimeUnit.MINUTES) ? p.exitValue() : -1;
        } catch (IOException e) {
            stdout().println("OpenBLAS peer skipped: cannot run the C compiler \"" + cc + "\" (" + e.getMessage() + ")");
            return null;
        }
        if (status != 0) {
            stdout().println("OpenBLAS peer skipped: " + String.join(" ", cmd) + " failed:\n" + out.strip());
            return null;
        }
        stdout().println("OpenBLAS peer: " + lib + ", built with " + cc + " -O2 -march=native");
        return exe;
    }

    private static String findOpenblas() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("ldconfig", "-p").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(1, TimeUnit.MINUTES);
            String any = null;
            for (String line : out.split("\n")) {
                int arrow = line.indexOf("=>");
                if (!line.contains("libopenblas.so") || arrow < 0) continue;
                String path = line.substring(arrow + 2).trim();
                if (line.contains("x86-64")) return path; // ldconfig's tag for this machine's 64-bit libraries
                if (any == null) any = path;
            }
            if (any != null) return any;
        } catch (IOException e) {
            // no ldconfig: fall through to the usual place
        }
        Path debian = Path.of("/usr/lib/x86_64-linux-gnu/libopenblas.so.0");
        return Files.exists(debian) ? debian.toString() : null;
    }

    /** Nanoseconds per call of one OpenBLAS round (after its own warm-up round). */
    private double runPeer(Path exe, Shape s, long calls) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(exe.toString(), "" + s.m(), "" + s.k(), "" + s.n(), s.transA() ? "1" : "0", "" + calls, "1")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0 || !out.startsWith("{")) {
            throw new IllegalStateException("the OpenBLAS peer failed on " + s.dims() + ": " + out);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = new ObjectMapper().readValue(out, Map.class);
        return ((Number) m.get("ns_per_call")).doubleValue();
    }
}
