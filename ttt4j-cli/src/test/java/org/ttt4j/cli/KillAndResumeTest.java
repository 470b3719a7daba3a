package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real training process killed with SIGKILL after a checkpoint, or stopped with SIGTERM (which
 * saves first), then resumed, must log exactly the losses of an uninterrupted run.
 */
class KillAndResumeTest {
    @TempDir
    Path tmp;

    private Path corpus() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("corpus"));
        var rng = new SplittableRandom(3);
        String[] words = {"alpha", "beta", "gamma", "delta", "class", "void", "return", "int", "value", "(", ")", "{", "}", ";"};
        for (int f = 0; f < 30; f++) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 3000; i++) sb.append(words[rng.nextInt(words.length)]).append(i % 12 == 11 ? "\n" : " ");
            Files.writeString(dir.resolve("doc" + f + ".txt"), sb.toString());
        }
        return dir;
    }

    private ProcessBuilder train(Path corpus, Path out) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "--add-modules=jdk.incubator.vector", "-Dttt4j.threads=2",
                "-cp", System.getProperty("java.class.path"), "org.ttt4j.cli.Main", "train",
                "--preset", "tiny", "--tokenizer", "bytes", "--corpus", corpus.toString(), "--out", out.toString(),
                "--steps", "60", "--batch", "8", "--checkpoint-every", "10", "--eval-every", "20", "--log-every", "10");
        var pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.resolveSibling(out.getFileName() + ".log").toFile());
        pb.environment().put("TTT4J_CACHE", tmp.resolve("cache").toString());
        return pb;
    }

    private static List<String> losses(Path run) throws Exception {
        List<String> r = new ArrayList<>();
        var json = new ObjectMapper();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            var n = json.readTree(line);
            r.add(n.get("step").asText() + ":" + (n.has("loss") ? "loss=" + n.get("loss").asText() : "val=" + n.get("val_loss").asText()));
        }
        return r;
    }

    @Test
    void killedOrStoppedRunsResumeToTheUninterruptedLosses() throws Exception {
        Path corpus = corpus();
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        Files.createDirectories(a);
        Files.createDirectories(b);
        Process full = train(corpus, a).start();
        assertTrue(full.waitFor(300, TimeUnit.SECONDS), "uninterrupted run timed out");
        assertEquals(0, full.exitValue(), () -> read(tmp.resolve("a.log")));

        Process victim = train(corpus, b).start();
        Path mark = b.resolve("checkpoints").resolve("step-00000020");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (!Files.isDirectory(mark) && victim.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
        assertTrue(victim.isAlive(), "the run finished before it could be killed: " + read(tmp.resolve("b.log")));
        victim.destroyForcibly(); // SIGKILL: no shutdown hook runs
        victim.waitFor();
        List<String> partial = losses(b);
        assertTrue(partial.size() < losses(a).size(), "the killed run stopped early");

        Process resumed = train(corpus, b).start();
        assertTrue(resumed.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, resumed.exitValue(), () -> read(tmp.resolve("b.log")));
        assertTrue(read(tmp.resolve("b.log")).contains("resuming from"), "the second run resumed");
        assertEquals(losses(a), losses(b));
        // Same inputs, same bytes: the last checkpoint's files of the two runs (two JVMs each) are identical.
        Path lastA = a.resolve("checkpoints").resolve("step-00000060"), lastB = b.resolve("checkpoints").resolve("step-00000060");
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "config.json", "trainer.json")) {
            assertEquals(sha256(lastA.resolve(f)), sha256(lastB.resolve(f)), f + " of the uninterrupted and the resumed run");
        }

        // SIGTERM (what Ctrl-C's SIGINT also triggers): the run saves where it is, then exits.
        Path c = tmp.resolve("c");
        Files.createDirectories(c);
        Process stopped = train(corpus, c).start();
        Path first = c.resolve("checkpoints").resolve("step-00000010");
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (!Files.isDirectory(first) && stopped.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
        Thread.sleep(300);
        assertTrue(stopped.isAlive(), "the run finished before it could be stopped");
        stopped.destroy();
        assertTrue(stopped.waitFor(120, TimeUnit.SECONDS));
        assertEquals(143, stopped.exitValue(), "the documented status after SIGTERM (128 + 15)");
        // "saved", or "already saved" when the signal lands just after a periodic checkpoint.
        assertTrue(read(tmp.resolve("c.log")).contains("interrupted: "), read(tmp.resolve("c.log")));
        Process again = train(corpus, c).start();
        assertTrue(again.waitFor(300, TimeUnit.SECONDS));
        assertEquals(losses(a), losses(c));
    }

    private static String sha256(Path p) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "(no log: " + e + ")";
        }
    }
}
