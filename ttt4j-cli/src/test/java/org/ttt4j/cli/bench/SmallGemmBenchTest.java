package org.ttt4j.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.ttt4j.cli.Main;
import org.ttt4j.lm.layers.ttt.TttFusedKernel;

class SmallGemmBenchTest {
    private record Run(int status, String out) {}

    private static Run run(String... args) {
        PrintStream was = System.out;
        var buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            int status = Main.commandLine().execute(args);
            return new Run(status, buf.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(was);
        }
    }

    /** Tiny sizes: the shapes are deduplicated (d = hidden makes the TTT-MLP's repeat TTT-Linear's) and every row has its figures. */
    @Test
    void printsOneJsonLinePerDistinctShapeWithItsFigures() throws Exception {
        var r = run("bench", "small-gemm", "--b", "4", "--d", "16", "--hidden", "16", "--rounds", "1", "--no-openblas");
        assertEquals(0, r.status(), r.out());
        List<Map<String, Object>> json = parse(r.out());
        List<Map<String, Object>> shapes = json.stream().filter(m -> m.get("bench").equals("small_gemm")).toList();
        assertEquals(4, shapes.size(), r.out());
        Map<String, SmallGemmBench.Timing> timings = new HashMap<>();
        for (var m : shapes) {
            double g = num(m, "gflops"), f = num(m, "fraction_of_peak");
            assertTrue(g > 0 && f > 0, m.toString());
            assertEquals(g / num(m, "fma_peak_gflops"), f, 1e-9, m.toString());
            assertFalse(m.containsKey("openblas_gflops"), "no peer was asked for: " + m);
            String dims = m.get("m") + "x" + m.get("k") + "x" + m.get("n") + ((Boolean) m.get("trans_a") ? " (A^T)" : "");
            timings.put(dims, new SmallGemmBench.Timing(num(m, "ns_per_call"), num(m, "fma_peak_gflops")));
        }
        // The two mini-batch rows follow from the shape rows: all FLOPs over the peak's FLOPs in the same time.
        List<Map<String, Object>> batches = json.stream().filter(m -> m.get("bench").equals("small_gemm_minibatch")).toList();
        assertEquals(List.of("ttt_linear", "ttt_mlp"), batches.stream().map(m -> m.get("inner")).toList());
        var bench = new SmallGemmBench();
        bench.b = 4;
        bench.d = 16;
        bench.hidden = 16;
        for (int i = 0; i < 2; i++) {
            var mb = bench.miniBatches().get(i);
            double flops = 0, peakFlops = 0;
            for (var u : mb.uses()) {
                var t = timings.get(u.shape().dims());
                flops += u.times() * u.shape().flops();
                peakFlops += u.times() * t.ns() * t.peakGflops();
            }
            assertEquals(flops / peakFlops, num(batches.get(i), "fraction_of_peak"), 1e-9, batches.get(i).toString());
            assertEquals(Math.max(0, 1 - 0.5 * peakFlops / flops), num(batches.get(i), "rest_share_at_half_peak"), 1e-9);
            assertFalse(batches.get(i).containsKey("openblas_fraction_of_peak"));
        }
    }

    /** The mini-batches hold exactly the products whose FLOPs the fused kernel's fraction of peak counts. */
    @Test
    void miniBatchesMakeTheKernelsCountedProducts() {
        var bench = new SmallGemmBench();
        bench.b = 16;
        bench.d = 64;
        bench.hidden = 256;
        var mbs = bench.miniBatches();
        assertEquals(TttFusedKernel.forwardFlops(1, 16, 16, 64, 64), flops(mbs.get(0)), 1e-6);
        assertEquals(TttFusedKernel.forwardFlops(1, 16, 16, 64, 256, 64), flops(mbs.get(1)), 1e-6);
    }

    @Test
    void fractionAndRestShareByHand() {
        var s1 = new SmallGemmBench.Shape("one", 2, 3, 4, false); // 48 FLOPs
        var s2 = new SmallGemmBench.Shape("two", 4, 3, 2, true); // 48 FLOPs
        var mb = new SmallGemmBench.MiniBatch("x", List.of(new SmallGemmBench.Use(s1, 2), new SmallGemmBench.Use(s2, 1)));
        // 144 FLOPs; the peak would have done 2 * 1 ns * 48 + 3 ns * 16 = 144 FLOPs in the same time: all of it
        var t = Map.of(s1.dims(), new SmallGemmBench.Timing(1, 48), s2.dims(), new SmallGemmBench.Timing(3, 16));
        assertEquals(1.0, SmallGemmBench.fractionOfPeak(mb, t), 1e-12);
        var slow = Map.of(s1.dims(), new SmallGemmBench.Timing(2, 48), s2.dims(), new SmallGemmBench.Timing(3, 16)); // 240 peak FLOPs
        assertEquals(144.0 / 240, SmallGemmBench.fractionOfPeak(mb, slow), 1e-12);
        assertEquals(1 - 0.5 / 0.8, SmallGemmBench.restShareAt(0.5, 0.8), 1e-12);
        assertEquals(0, SmallGemmBench.restShareAt(0.5, 0.4));
        assertThrows(IllegalArgumentException.class, () -> SmallGemmBench.fractionOfPeak(mb, Map.of(s1.dims(), new SmallGemmBench.Timing(1, 1))));
    }

    private static double flops(SmallGemmBench.MiniBatch mb) {
        return mb.uses().stream().mapToDouble(u -> u.times() * u.shape().flops()).sum();
    }

    private static double num(Map<String, Object> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> parse(String out) throws Exception {
        var json = new ObjectMapper();
        List<Map<String, Object>> rows = new java.util.ArrayList<>();
        for (String line : out.lines().filter(l -> l.startsWith("{")).toList()) rows.add(json.readValue(line, Map.class));
        return rows;
    }

    @Test
    void aMissingCompilerSkipsThePeerAndSaysSo() {
        var r = run("bench", "small-gemm", "--b", "4", "--d", "16", "--hidden", "16", "--rounds", "1", "--cc", "/nonexistent/cc",
                "--openblas", "/nonexistent/libopenblas.so.0");
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("OpenBLAS peer skipped"), r.out());
    }

    @Test
    void absurdSizesAreRefused() {
        var r = run("bench", "small-gemm", "--d", "100000");
        assertEquals(1, r.status(), r.out());
    }
}
