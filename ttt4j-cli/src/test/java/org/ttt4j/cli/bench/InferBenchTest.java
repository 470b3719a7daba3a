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
        String threads = Integer.toString(org.ttt4j.core.kernel.Parallel.threads());
        assertEquals(0, cl.execute("bench", "infer", "--dims", "8m", "--contexts", "16,32", "--tokens", "2", "--chunk", "16", "--warmup", "8",
                "--weights", "f32,q8", "--kv-cache", "f32,bf16", "--threads", threads, "--batch", "1,2"));
        var json = new ObjectMapper();
        var rows = out.toString().lines().filter(l -> l.startsWith("{")).map(l -> {
            try {
                return json.readTree(l);
            } catch (Exception e) {
                throw new AssertionError(l, e);
            }
        }).toList();
        // per weight and KV cache format: prefill and decode at 2 contexts, batched decoding of 1 and 2 sessions
        assertEquals(24, rows.size(), out.toString());
        var decode = rows.stream().filter(r -> r.get("kind").asText().equals("decode") && r.get("weights").asText().equals("q8")
                && r.get("kv_cache").asText().equals("f32") && r.get("context").asInt() == 32).findFirst().orElseThrow();
        // a bf16 KV cache holds, and a token reads, half the bytes of keys and values
        var bf16 = rows.stream().filter(r -> r.get("kind").asText().equals("decode") && r.get("weights").asText().equals("q8")
                && r.get("kv_cache").asText().equals("bf16") && r.get("context").asInt() == 32).findFirst().orElseThrow();
        assertEquals(decode.get("state_bytes_read").asDouble() / 2, bf16.get("state_bytes_read").asDouble(), bf16.toString());
        assertEquals(decode.get("state_bytes").asDouble() / 2, bf16.get("state_bytes").asDouble(), bf16.toString());
        for (String f : new String[] {"tokens_per_s", "bandwidth_read_bytes_per_s", "limit_tokens_per_s", "fraction_of_bandwidth_limit",
                "ratio_vs_f32", "weight_bytes", "state_bytes_read"}) {
            assertTrue(decode.get(f).asDouble() > 0, f + " in " + decode);
        }
        // Q8 weights take about a quarter of f32's bytes
        var f32 = rows.stream().filter(r -> r.get("kind").asText().equals("decode") && r.get("weights").asText().equals("f32")).findFirst().orElseThrow();
        double quarter = decode.get("weight_bytes").asDouble() / f32.get("weight_bytes").asDouble();
        assertTrue(quarter > 0.26 && quarter < 0.29, "q8 / f32 bytes " + quarter);
        var prefill = rows.stream().filter(r -> r.get("kind").asText().equals("prefill")).findFirst().orElseThrow();
        assertTrue(prefill.get("fraction_of_gemm").asDouble() > 0, prefill.toString());
        assertEquals(4, rows.stream().filter(r -> r.get("kind").asText().equals("batch_decode") && r.get("sessions").asInt() == 2).count());
    }
}
