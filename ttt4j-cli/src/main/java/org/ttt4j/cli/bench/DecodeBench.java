package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench decode}: milliseconds per decoded token after a context of 1K, 8K, 32K
 * tokens, for full attention (grows with the context) and sliding-window attention (flat), with
 * the KV state each holds. Weights are random: latency does not depend on what was learned.
 */
@Command(name = "decode", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Decode latency (ms/token) and KV-state size vs context length, full attention vs sliding window.")
public final class DecodeBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "small", description = "model size (default: ${DEFAULT-VALUE})") String preset;
    @Option(names = "--contexts", split = ",", defaultValue = "1024,8192,32768", description = "context lengths (default: ${DEFAULT-VALUE})")
    int[] contexts;
    @Option(names = "--mixers", description = "a block pattern to compare; repeat the option for each (a pattern holds commas,"
            + " e.g. --mixers full --mixers swa:5,full:1; default: full and swa)") List<String> mixers;
    @Option(names = "--window", defaultValue = "64", description = "sliding window (default: ${DEFAULT-VALUE})") int window;
    @Option(names = "--tokens", defaultValue = "32", description = "tokens decoded per measurement (default: ${DEFAULT-VALUE})") int tokens;
    @Option(names = "--chunk", defaultValue = "256", description = "prefill chunk (default: ${DEFAULT-VALUE})") int chunk;

    @Override
    public Integer call() throws Exception {
        stdout().printf("ttt4j bench decode: preset %s, %d thread(s), %d decoded tokens per point, window %d%n%n", preset,
                Parallel.threads(), tokens, window);
        stdout().printf("%-14s %9s %12s %14s %12s%n", "mixers", "context", "decode ms/tok", "prefill tok/s", "KV MiB");
        List<Map<String, Object>> rows = new ArrayList<>();
        var rng = new SplittableRandom(3);
        for (String m : mixers != null ? mixers : List.of("full", "swa")) {
            ModelConfig c = Presets.byName(preset).withMixers(m, window);
            Decoder model = new Decoder(c, 1);
            for (int ctx : contexts) {
                try (var s = GradMode.disabled()) {
                    List<MixerCache> caches = model.newCaches(chunk);
                    long t0 = System.nanoTime();
                    for (int at = 0; at < ctx; at += chunk) {
                        int[] ids = new int[Math.min(chunk, ctx - at)];
                        for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(c.vocabSize());
                        model.logits(ids, caches);
                    }
                    double prefill = ctx / ((System.nanoTime() - t0) / 1e9);
                    long t1 = System.nanoTime();
                    for (int i = 0; i < tokens; i++) model.logits(new int[] {rng.nextInt(c.vocabSize())}, caches);
                    double ms = (System.nanoTime() - t1) / 1e6 / tokens;
                    long floats = caches.stream().mapToLong(MixerCache::floats).sum();
                    double mib = floats * 4.0 / (1 << 20);
                    stdout().printf("%-14s %9d %12.2f %14.0f %12.1f%n", m, ctx, ms, prefill, mib);
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("bench", "decode");
                    row.put("preset", preset);
                    row.put("mixers", m);
                    row.put("window", window);
                    row.put("context", ctx);
                    row.put("threads", Parallel.threads());
                    row.put("ms_per_token", ms);
                    row.put("prefill_tokens_per_s", prefill);
                    row.put("kv_mib", mib);
                    rows.add(row);
                }
            }
        }
        stdout().println();
        var json = new ObjectMapper();
        for (var r : rows) stdout().println(json.writeValueAsString(r));
        return 0;
    }
}
