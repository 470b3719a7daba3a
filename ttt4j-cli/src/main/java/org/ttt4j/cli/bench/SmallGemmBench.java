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
import org.ttt4j.core.kernel.SmallGemm;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench small-gemm}: the matrix products of one TTT mini-batch ({@link SmallGemm}, one
 * thread, operands in L1) against OpenBLAS's {@code cblas_sgemm} on the same shapes in the same
 * run, both as a fraction of the one-thread FMA peak measured beside each shape. The OpenBLAS side
 * is a small C program shipped in the jar, compiled here with the system C compiler against the
 * system's libopenblas (skipped, saying so, when either is missing).
 */
@Command(name = "small-gemm", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The TTT mini-batch's matrix products (b x d x d and friends, one thread, L1-resident operands):",
                "ttt4j's SmallGemm against OpenBLAS cblas_sgemm in the same run, rounds alternating, best of each, as GFLOP/s",
                "and fractions of the one-thread FMA peak measured before and after each shape.",
                "The OpenBLAS peer is compiled with the system C compiler (cc) against libopenblas (scripts/install-peers.sh)."})
public final class SmallGemmBench implements Callable<Integer> {
    @Option(names = "--b", defaultValue = "16", description = "mini-batch b (default: ${DEFAULT-VALUE})") int b;
    @Option(names = "--d", defaultValue = "64", description = "head width d (default: ${DEFAULT-VALUE})") int d;
    @Option(names = "--hidden", defaultValue = "256", description = "TTT-MLP hidden width (default: ${DEFAULT-VALUE})") int hidden;
    @Option(names = "--rounds", defaultValue = "5", description = "timed rounds per shape, best reported (default: ${DEFAULT-VALUE})") int rounds;
    @Option(names = "--no-openblas", description = "skip the OpenBLAS peer") boolean noOpenblas;
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

    @Override
    public Integer call() throws Exception {
        if (b < 1 || d < 1 || hidden < 1 || rounds < 1) throw new IllegalArgumentException("--b, --d, --hidden and --rounds must be positive");
        if (Math.max(d, hidden) > 2048) {
            throw new IllegalArgumentException("--d " + d + " / --hidden " + hidden + ": widths above 2048 are not small products (bench gemm measures large ones)");
        }
        List<Shape> shapes = shapes();
        System.out.printf("ttt4j bench small-gemm: the TTT mini-batch's products, b %d, d %d, hidden %d; one thread; best of %d alternating rounds%n",
                b, d, hidden, rounds);
        Path peer = noOpenblas ? null : buildPeer();
        System.out.printf("%n%-28s %-18s %9s %8s %9s %8s %7s%n", "product", "m x k x n", "ttt4j", "of peak", "OpenBLAS", "of peak", "ratio");
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
            String blas = "-", blasFrac = "-", ratio = "-";
            if (peer != null) {
                double og = s.flops() / theirNs;
                row.put("openblas_gflops", og);
                row.put("openblas_fraction_of_peak", og / peak);
                row.put("ratio_vs_openblas", gflops / og);
                blas = String.format("%.1f", og);
                blasFrac = String.format("%.2f", og / peak);
                ratio = String.format("%.2f", gflops / og);
            }
            System.out.printf("%-28s %-18s %9.1f %8.2f %9s %8s %7s%n", s.what(), s.dims(), gflops, gflops / peak, blas, blasFrac, ratio);
            rows.add(row);
        }
        System.out.println();
        var json = new ObjectMapper();
        for (var r : rows) System.out.println(json.writeValueAsString(r));
        return 0;
    }

    /** The products of a TTT-Linear (d x d) and a TTT-MLP (d x hidden x d) mini-batch, each shape once. */
    private List<Shape> shapes() {
        List<Shape> all = List.of(
                new Shape("linear: X W, Xbar W", b, d, d, false),
                new Shape("linear: Xbar X^T", b, d, b, false),
                new Shape("linear: P G", b, b, d, false),
                new Shape("linear: W -= X^T G", d, b, d, true),
                new Shape("mlp: X W1, G2 W2^T", b, d, hidden, false),
                new Shape("mlp: X2 W2", b, hidden, d, false),
                new Shape("mlp: X2bar X2^T", b, hidden, b, false),
                new Shape("mlp: P G1", b, b, hidden, false),
                new Shape("mlp: W1 -= X^T G1", d, b, hidden, true),
                new Shape("mlp: W2 -= X2^T G2", hidden, b, d, true));
        // Same dimensions under another name (d == hidden, say) are measured once.
        var seen = new LinkedHashSet<String>();
        return all.stream().filter(s -> seen.add(s.dims())).toList();
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
            System.out.println("OpenBLAS peer skipped: no libopenblas.so* found (scripts/install-peers.sh installs libopenblas0-pthread; --openblas PATH names one)");
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
            System.out.println("OpenBLAS peer skipped: cannot run the C compiler \"" + cc + "\" (" + e.getMessage() + ")");
            return null;
        }
        if (status != 0) {
            System.out.println("OpenBLAS peer skipped: " + String.join(" ", cmd) + " failed:\n" + out.strip());
            return null;
        }
        System.out.println("OpenBLAS peer: " + lib + ", built with " + cc + " -O2 -march=native");
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
