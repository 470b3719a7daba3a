package org.ttt4j.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.ttt4j.cli.Main;

/** `bench infer` runs and prints its named figures (the figures themselves are measured, not tested). */
class InferBenchTest {
    @Test
    void printsOneJsonLinePerContextWithItsFigures() throws Exception {
        var out = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(new StringWriter(), true));
        assertEquals(0, cl.execute("bench", "infer", "--dims", "8m", "--contexts", "16,32", "--tokens", "2"));
        var lines = out.toString().lines().filter(l -> l.startsWith("{")).toList();
        assertEquals(2, lines.size(), out.toString());
        var row = new ObjectMapper().readTree(lines.get(1));
        assertEquals(32, row.get("context").asInt());
        for (String f : new String[] {"decode_tokens_per_s", "prefill_tokens_per_s", "bandwidth_read_bytes_per_s", "limit_tokens_per_s",
                "fraction_of_bandwidth_limit"}) {
            assertTrue(row.get(f).asDouble() > 0, f + " in " + lines.get(1));
        }
    }
}
