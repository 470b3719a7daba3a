package org.ttt4j.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.ttt4j.cli.Main;
import org.ttt4j.core.kernel.Parallel;

/** `bench matvec` runs and prints its named figures, consistent with each other (the speeds themselves are measured, not tested). */
class MatVecBenchTest {
    /** Two shapes, two formats, one row per thread count (plus the fork/join row with several threads). */
    @Test
    void printsOneJsonLinePerFormatShapeAndThreadCount() throws Exception {
        var out = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(new StringWriter(), true));
        assertEquals(0, cl.execute("bench", "matvec", "--shapes", "40x33,8x64", "--formats", "bf16,q8", "--batch", "5",
                "--rounds", "1", "--min-time", "0.01", "--attend-keys", "20,40", "--attend-heads", "3"));
        var all = out.toString().lines().filter(l -> l.startsWith("{")).toList();
        int perShape = Parallel.threads() > 1 ? 2 : 1;
        if (perShape == 2) {
            var fork = new ObjectMapper().readTree(all.getFirst());
            assertEquals("matvec_fork_join", fork.get("bench").asText());
            assertTrue(fork.get("seconds_per_call").asDouble() > 0);
        }
        var lines = all.stream().filter(l -> l.contains("\"bench\":\"matvec\"")).toList();
        assertEquals(2 * 2 * perShape, lines.size(), out.toString());
        var json = new ObjectMapper();
        var row = json.readTree(lines.get(perShape)); // 40 x 33, q8, one thread
        assertEquals("q8", row.get("format").asText());
        assertEquals(40, row.get("rows").asInt());
        assertEquals(33, row.get("cols").asInt());
        assertEquals(5, row.get("batch").asInt());
        assertEquals(1, row.get("threads").asInt());
        assertEquals(40 * 33 + 4 * 40 * 2, row.get("weight_bytes").asLong(), "q8 bytes: one per weight, 4 per scale, 2 blocks a row");
        for (String f : new String[] {"gbytes_per_s", "gflops", "bandwidth_read_bytes_per_s", "fraction_of_bandwidth", "reference_gbytes_per_s",
                "speedup_vs_reference"}) {
            assertTrue(row.get(f).asDouble() > 0, f + " in " + lines.get(perShape));
        }
        double s = row.get("seconds_per_call").asDouble();
        assertEquals(row.get("weight_bytes").asDouble() / s / 1e9, row.get("gbytes_per_s").asDouble(), 1e-9 * row.get("gbytes_per_s").asDouble());
        assertEquals(2.0 * 40 * 33 * 5 / s / 1e9, row.get("gflops").asDouble(), 1e-9 * row.get("gflops").asDouble());
        assertEquals(row.get("gbytes_per_s").asDouble() * 1e9 / row.get("bandwidth_read_bytes_per_s").asDouble(),
                row.get("fraction_of_bandwidth").asDouble(), 1e-9);
        assertEquals(8, json.readTree(lines.getLast()).get("rows").asInt());
        // the decode attention: f32 and bf16 caches at each key count, bf16 reading half the bytes in the time it took
        var attend = all.stream().filter(l -> l.contains("\"bench\":\"attend\"")).map(l -> {
            try {
                return json.readTree(l);
            } catch (Exception e) {
                throw new AssertionError(l, e);
            }
        }).toList();
        assertEquals(4, attend.size(), out.toString());
        var bf16 = attend.get(3);
        assertEquals("bf16", bf16.get("kv_cache").asText());
        assertEquals(40, bf16.get("keys").asInt());
        double t = bf16.get("seconds_per_call").asDouble();
        assertEquals(t / (3 * 40) * 1e9, bf16.get("ns_per_key").asDouble(), 1e-9 * bf16.get("ns_per_key").asDouble());
        assertEquals(2.0 * 3 * 40 * 64 * 2 / t / 1e9, bf16.get("gbytes_per_s").asDouble(), 1e-9 * bf16.get("gbytes_per_s").asDouble());
        assertTrue(bf16.get("speedup_vs_reference").asDouble() > 0);
    }
}
