package org.ttt4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.zip.ZipFile;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.data.Corpus;
import org.ttt4j.lm.infer.Generator;
import org.ttt4j.lm.infer.InferenceSession;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.methods.e2e.E2eLoop;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ttt4j demo}: what test-time training does, in a minute. A small TTT-E2E model shipped in
 * the jar reads a long document twice: once learning from it (a gradient step on its prime MLPs
 * after every chunk), once with the same weights frozen. The per-section loss of the two readings
 * shows the learning; then the model, having read the document, writes a continuation.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Watch a model learn from a document while it reads it (TTT-E2E).",
                "The shipped demo model reads FILE (default: a large source file from the",
                "JDK's src.zip) twice, with and without test-time updates, prints the loss of",
                "each section of the document for both, then continues the document."})
public final class DemoCommand extends CommandIo implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    WeightsOption weights = new WeightsOption();

    /** The JDK source read when no file is named: 260 KB of one class, names defined far above their use. */
    static final String DEFAULT_ENTRY = "java.base/java/util/concurrent/ConcurrentHashMap.java";

    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE", description = "a text file to read (default: " + DEFAULT_ENTRY + " from src.zip)")
    Path file;
    @Option(names = "--jdk-entry", description = "read this entry of the JDK's src.zip instead (default: ${DEFAULT-VALUE})")
    String entry = DEFAULT_ENTRY;
    @Option(names = "--model", paramLabel = "MODEL", description = "a TTT-E2E model folder or run (default: the shipped demo model)") Path modelPath;
    @Option(names = "--tokens", defaultValue = "8192", description = "read at most this many tokens of the document (default: ${DEFAULT-VALUE})")
    int tokens;
    @Option(names = "--sections", defaultValue = "16", description = "rows of the loss table (default: ${DEFAULT-VALUE})") int sections;
    @Option(names = "--generate", defaultValue = "120", description = "tokens to generate after reading (0: none; default: ${DEFAULT-VALUE})")
    int generate;
    @Option(names = "--temperature", defaultValue = "0.7", description = "sampling temperature, 0 for greedy (default: ${DEFAULT-VALUE})")
    double temperature;
    @Option(names = "--repetition-penalty", defaultValue = "1.1", description = "CTRL-style penalty of tokens already read, 1 for none"
            + " (default: ${DEFAULT-VALUE})") double repetitionPenalty;
    @Option(names = "--seed", defaultValue = "7", description = "sampling seed (default: ${DEFAULT-VALUE})") long seed;

    @Override
    public Integer call() throws Exception {
        if (tokens < 2) throw new IllegalArgumentException("--tokens must be >= 2, got " + tokens);
        if (sections < 1) throw new IllegalArgumentException("--sections must be >= 1, got " + sections);
        long t0 = System.nanoTime();
        var loaded = Checkpoints.load(modelPath != null ? modelPath : ModelFolders.demoFolder(), weights);
        Decoder model = loaded.model();
        if (E2eSettings.of(model.config()) == null) throw new IllegalArgumentException("--model: the demo needs a TTT-E2E model (its config has no e2e section)");
        String name = file != null ? file.toString() : "src.zip!" + entry;
        String text = file != null ? org.ttt4j.lm.io.AtomicFiles.readUtf8(file) : readJdkEntry(entry);
        int[] all = loaded.tokenizer().encode(text);
        int[] ids = Arrays.copyOf(all, Math.min(all.length, tokens + 1));
        // End at a line break (within the last eighth) so that the continuation starts a fresh line.
        for (int k = ids.length; k > ids.length - ids.length / 8 && k > 2; k--) {
            if (new String(loaded.tokenizer().decode(new int[] {ids[k - 1]}), StandardCharsets.UTF_8).contains("\n")) {
                ids = Arrays.copyOf(ids, k);
                break;
            }
        }
        if (ids.length < 2) throw new IllegalArgumentException(name + " is too short: " + all.length + " token(s)");
        var c = model.config();
        stdout().printf("model: TTT-E2E, %,d parameters (%d blocks of width %d; the last %d learn at test time), trained on context %d%n",
                model.params().count(), c.layers(), c.dModel(), E2eSettings.of(c).suffixBlocks(c), c.context());
        stdout().printf("document: %s, %,d tokens; reading the first %,d, learning after every chunk of %d tokens%n%n", name, all.length,
                ids.length - 1, E2eSettings.of(c).chunk(c));

        int n = ids.length - 1;
        Reading reading = read(model, ids);
        float[] with = reading.with(), without = reading.without();
        InferenceSession session = reading.session();

        int per = Math.max(1, (n + sections - 1) / sections);
        stdout().println("loss (nats per token) of each section of the document:");
        stdout().printf("%-15s %14s %14s %9s   %s%n", "tokens", "without TTT", "with TTT", "gain", "gain (each # = 0.05 nats)");
        for (int from = 0; from < n; from += per) {
            int to = Math.min(n, from + per);
            double a = mean(without, from, to), b = mean(with, from, to);
            stdout().printf("%-15s %14.3f %14.3f %+9.3f   %s%n", from + "-" + (to - 1), a, b, a - b, "#".repeat((int) Math.max(0, Math.round((a - b) / 0.05))));
        }
        double a = mean(without, 0, n), b = mean(with, 0, n);
        stdout().printf("%-15s %14.3f %14.3f %+9.3f%n%n", "all", a, b, a - b);
        stdout().printf("reading took %.1f s with test-time updates and %.1f s without (%,.0f and %,.0f tokens/s)%n", reading.withSeconds(),
                reading.withoutSeconds(), n / reading.withSeconds(), n / reading.withoutSeconds());
        stdout().printf("The model without TTT sees only its %d-token attention window; with TTT, what it read earlier is in its weights.%n",
                c.window());

        if (generate > 0) {
            String read = new String(loaded.tokenizer().decode(ids), StandardCharsets.UTF_8);
            String[] lines = read.split("\n", -1);
            stdout().printf("%n--- the last lines read ---%n%s%n--- continuation (TTT-E2E, temperature %s) ---%n",
                    String.join("\n", Arrays.copyOfRange(lines, Math.max(0, lines.length - 4), lines.length)), temperature);
            var options = new SamplingOptions(temperature, 40, 1, repetitionPenalty, seed, generate, List.of());
            Generator.Output out;
            try (var off = GradMode.disabled()) {
                // The document's last token was read but not yet scored: feed it, then sample from there.
                float[] last = InferenceSession.lastRow(session.feed(new int[] {ids[n]}));
                out = new Generator(model, loaded.tokenizer()).continueFrom(session, last, ids, options, s -> {
                    stdout().print(s);
                    stdout().flush();
                });
            }
            stdout().printf("%n--- %d tokens, %.1f ms/token ---%n", out.tokens().length, out.decodeMsPerToken());
        }
        stdout().printf("%ndemo finished in %.0f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private static double mean(float[] x, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += x[i];
        return s / (to - from);
    }

    static String readJdkEntry(String entry) throws IOException {
        Path zip = Corpus.jdkSourceZip();
        if (!Files.exists(zip)) {
            throw new IOException("no " + zip + " (this JDK ships without sources): name a text file, e.g. ttt4j demo README.md");
        }
        try (ZipFile z = new ZipFile(zip.toFile())) {
            var e = z.getEntry(entry);
            if (e == null) throw new IllegalArgumentException("--jdk-entry: " + zip + " has no entry " + entry);
            try (InputStream in = z.getInputStream(e)) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
    }

    /**
     * Per-token losses of reading {@code ids} with test-time updates (a session, chunk by chunk, the
     * one generation continues) and with the same weights frozen; losses[i] predicts ids[i + 1].
     */
    record Reading(float[] with, float[] without, InferenceSession session, double withSeconds, double withoutSeconds) {}

    static Reading read(Decoder model, int[] ids) {
        var learning = E2eLoop.Options.of(model.config(), 1.0);
        var frozen = new E2eLoop.Options(learning.chunk(), 0, learning.clip(), learning.firstOrder(), 1.0);
        int n = ids.length - 1;
        float[] with = new float[n];
        InferenceSession session;
        long r0 = System.nanoTime();
        try (var off = GradMode.disabled()) {
            session = InferenceSession.open(model, learning.chunk());
            for (int at = 0; at < n; at += learning.chunk()) {
                int end = Math.min(n, at + learning.chunk());
                Tensor logits = session.feed(Arrays.copyOfRange(ids, at, end));
                float[] l = Nn.crossEntropy(Layout.reshape(logits, end - at, -1), Arrays.copyOfRange(ids, at + 1, end + 1), -1).toFloatArray();
                System.arraycopy(l, 0, with, at, end - at);
            }
        }
        long r1 = System.nanoTime();
        float[] without = E2eLoop.tokenLosses(model, ids, frozen);
        long r2 = System.nanoTime();
        return new Reading(with, without, session, (r1 - r0) / 1e9, (r2 - r1) / 1e9);
    }
}
