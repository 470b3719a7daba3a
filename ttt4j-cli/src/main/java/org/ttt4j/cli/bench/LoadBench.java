package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.ttt4j.cli.CommandIo;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.hf.HfFolder;
import org.ttt4j.lm.model.Decoder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench load}: the time and memory to open a Hugging Face model folder: the first
 * open in this JVM, then a second (warm: classes loaded, files in the page cache), with the heap
 * the model holds against the size of its weights in fp32.
 */
@Command(name = "load", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time and memory to open a Hugging Face model folder (first and warm), against its fp32 size.")
public final class LoadBench extends CommandIo implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR", required = true, description = "a Hugging Face model folder (config.json, safetensors)") Path folder;

    @Override
    public Integer call() throws Exception {
        long onDisk;
        try (Stream<Path> files = Files.list(folder)) {
            onDisk = files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).mapToLong(f -> f.toFile().length()).sum();
        }
        stdout().printf("ttt4j bench load: %s, %.2f GB of safetensors%n%n", folder, onDisk / 1e9);
        stdout().printf("%-8s %10s %14s %14s %8s%n", "open", "seconds", "heap GB", "fp32 GB", "ratio");
        var json = new ObjectMapper();
        StringBuilder lines = new StringBuilder();
        for (String open : new String[] {"first", "warm"}) {
            collect();
            long before = used();
            long t0 = System.nanoTime();
            Decoder model = HfFolder.load(folder);
            double seconds = (System.nanoTime() - t0) / 1e9;
            collect();
            long held = used() - before;
            long fp32 = model.params().count() * 4;
            try (var off = GradMode.disabled()) {
                model.logits(new int[] {1, 2, 3}, 1, 3, 0); // the model computes
            }
            stdout().printf("%-8s %10.2f %14.2f %14.2f %8.2f%n", open, seconds, held / 1e9, fp32 / 1e9, (double) held / fp32);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("bench", "load");
            row.put("open", open);
            row.put("model", folder.toString());
            row.put("safetensors_bytes", onDisk);
            row.put("parameters", model.params().count());
            row.put("seconds", seconds);
            row.put("heap_bytes", held);
            row.put("fp32_bytes", fp32);
            row.put("heap_over_fp32", (double) held / fp32);
            row.put("committed_heap_bytes", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted());
            lines.append(json.writeValueAsString(row)).append('\n');
        }
        stdout().println();
        stdout().print(lines);
        return 0;
    }

    private static void collect() {
        for (int i = 0; i < 3; i++) System.gc();
    }

    private static long used() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }
}
