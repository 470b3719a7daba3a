package org.ttt4j.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.ttt4j.cli.Main;

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
        List<String> json = r.out().lines().filter(l -> l.startsWith("{")).toList();
        assertEquals(4, json.size(), r.out());
        for (String line : json) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = new ObjectMapper().readValue(line, Map.class);
            assertEquals("small_gemm", m.get("bench"));
            double g = ((Number) m.get("gflops")).doubleValue(), f = ((Number) m.get("fraction_of_peak")).doubleValue();
            assertTrue(g > 0 && f > 0, line);
            assertEquals(g / ((Number) m.get("fma_peak_gflops")).doubleValue(), f, 1e-9, line);
            assertFalse(m.containsKey("openblas_gflops"), "no peer was asked for: " + line);
        }
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
