package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #18: generate reads its prompt from standard input; a finished run is reported, not
 * re-trained, and other --steps are refused; bad settings are refused before any work.
 */
class CliVocabularyTest {
    @Test
    void generateReadsThePromptFromStandardInputWhenNoneIsGiven(@TempDir Path tmp) throws Exception {
        Path run = Cli.trainTiny(tmp, "bytes", "abc def ghi ".repeat(400), 2);
        String[] args = {"generate", "--model", run.toString(), "--max-tokens", "6", "--temperature", "0"};
        var cl = Main.commandLine();
        GenerateCommand generate = cl.getSubcommands().get("generate").getCommand();
        generate.stdin = new ByteArrayInputStream("abc de".getBytes(StandardCharsets.UTF_8));
        var piped = Cli.printed(cl, args);
        assertEquals(0, piped.status(), piped.err());
        var argument = Cli.printed(concat(args, "abc de"));
        assertEquals(0, argument.status(), argument.err());
        assertTrue(piped.out().startsWith("abc de"), piped.out());
        assertEquals(argument.out(), piped.out(), "the same prompt from standard input as from the argument");
        // Arguments and a prompt file at once are refused, naming both.
        Path file = tmp.resolve("p.txt");
        Files.writeString(file, "abc");
        var both = Cli.printed(concat(args, "--prompt-file", file.toString(), "abc"));
        assertEquals(1, both.status());
        assertTrue(both.err().contains("--prompt-file"), both.err());
    }

    @Test
    void aFinishedRunIsReportedAndALargerStepsIsRefused(@TempDir Path tmp) throws Exception {
        Path run = Cli.trainTiny(tmp, "bytes", "abc def ghi ".repeat(400), 3);
        byte[] metrics = Files.readAllBytes(run.resolve("metrics.jsonl"));
        String[] again = {"train", "--preset", "tiny", "--tokenizer", "bytes", "--corpus", tmp.resolve("t.txt").toString(), "--steps", "3",
                "--batch", "2", "--context", "16", "--eval-batches", "0", "--checkpoint-every", "3", "--out", run.toString()};
        var same = Cli.printed(again);
        assertEquals(0, same.status(), same.err());
        assertTrue(same.out().contains("already finished at step 3 (last loss "), same.out());
        assertFalse(same.out().contains("NaN") || same.out().contains("corpus:"), "no NaN, no training: " + same.out());
        assertArrayEquals(metrics, Files.readAllBytes(run.resolve("metrics.jsonl")), "nothing trained");

        again[8] = "5";
        var more = Cli.printed(again);
        assertEquals(1, more.status(), more.out());
        assertTrue(more.err().contains("--steps 5") && more.err().contains("--steps 3") && more.err().contains("learning-rate schedule")
                && more.err().contains("ttt4j train --model " + run + " --out NEW_FOLDER --steps 5"), more.err());
        assertArrayEquals(metrics, Files.readAllBytes(run.resolve("metrics.jsonl")), "nothing trained");
        // The way out that the message names works.
        var extended = Cli.printed("train", "--model", run.toString(), "--corpus", tmp.resolve("t.txt").toString(), "--steps", "5",
                "--batch", "2", "--eval-batches", "0", "--out", tmp.resolve("longer").toString());
        assertEquals(0, extended.status(), extended.err());
        assertTrue(extended.out().contains("finished at step 5"), extended.out());
    }

    @Test
    void unknownMixersAreRefusedBeforeAnyFolderIsMade(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("t.txt"), run = tmp.resolve("run");
        Files.writeString(text, "abc def ghi ".repeat(400));
        var r = Cli.printed("train", "--preset", "tiny", "--mixers", "swa,bogus", "--tokenizer", "bpe:300", "--corpus", text.toString(),
                "--steps", "1", "--out", run.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("--mixers swa,bogus") && r.err().contains("unknown mixer \"bogus\""), r.err());
        assertFalse(Files.exists(run), "no run folder, no tokenizer trained");
    }

    @Test
    void evalChecksEveryTasksSettingsBeforeRunningAny(@TempDir Path tmp) throws Exception {
        Path run = Cli.trainTiny(tmp, "bytes", "abc def ghi\n".repeat(800), 2);
        Path out = tmp.resolve("eval");
        String[] common = {"eval", "--task", "all", "--model", run.toString(), "--corpus", tmp.resolve("t.txt").toString(), "--docs", "1",
                "--min-tokens", "16", "--doc-tokens", "32", "--out", out.toString()};
        // Settings of the later tasks (niah, latency, loss-delta's reference) are refused before the first task runs.
        for (String[] bad : new String[][] {{"--depths", "0.5,1.5"}, {"--reference", "nobody"}, {"--decode", "0"}, {"--contexts", "1"},
                {"--niah-tasks", "s-niah-9"}, {"--samples", "0"}, {"--model", tmp.resolve("missing").toString()}}) {
            var r = Cli.printed(concat(common, bad));
            assertEquals(1, r.status(), String.join(" ", bad) + ": " + r.out());
            assertTrue(r.err().contains(bad[0]), bad[0] + " named: " + r.err());
            assertFalse(r.out().contains("[eval]"), "no task ran: " + r.out());
            assertFalse(Files.exists(out), "nothing written for " + String.join(" ", bad));
        }
    }

    static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
