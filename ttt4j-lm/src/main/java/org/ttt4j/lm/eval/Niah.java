package org.ttt4j.lm.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.UUID;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.data.CorpusSource;
import org.ttt4j.lm.infer.InferenceSession;
import org.ttt4j.lm.infer.Sampler;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.Tokenizer;

/**
 * RULER-style single-needle retrieval (Hsieh et al. 2024, the S-NIAH tasks): a needle sentence
 * holding a value is hidden at a relative depth of a haystack of a given length in tokens; the
 * prompt ends with a question and the start of its answer, and the model's greedy continuation
 * must begin with the value (exact match of its first word).
 * <ul>
 *   <li>S-NIAH-1: a pass-key (7-digit number) in the repeated-noise haystack;</li>
 *   <li>S-NIAH-2: a 7-digit number keyed by a word, in an essay haystack;</li>
 *   <li>S-NIAH-3: a UUID keyed by a word, in an essay haystack.</li>
 * </ul>
 */
public final class Niah {
    private Niah() {}

    public enum Task {
        S_NIAH_1("s-niah-1", false), S_NIAH_2("s-niah-2", true), S_NIAH_3("s-niah-3", true);

        public final String id;
        public final boolean essay;

        Task(String id, boolean essay) {
            this.id = id;
            this.essay = essay;
        }

        public static Task byId(String id) {
            for (Task t : values()) if (t.id.equals(id)) return t;
            throw new IllegalArgumentException("unknown needle task \"" + id + "\" (known: s-niah-1, s-niah-2, s-niah-3)");
        }
    }

    /** RULER's noise haystack: the same five sentences over and over. */
    static final String NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ";

    /** One prompt: its tokens, where the needle starts (token index) and the value the answer must begin with. */
    public record Case(Task task, int context, double depth, int[] prompt, int needleToken, String key, String answer) {}

    /** Haystack text and needle keys; essays are concatenated documents read from a random place. */
    public record Material(List<String> essays, List<String> keys) {
        public Material {
            if (essays.isEmpty()) throw new IllegalArgumentException("the essay haystack has no text");
            if (keys.isEmpty()) throw new IllegalArgumentException("no needle keys (words)");
        }

        /** A needle key: a lower-case word of 5 to 10 letters. */
        private static final Pattern KEY = Pattern.compile("[a-z]{5,10}"), KEY_IN_TEXT = Pattern.compile("\\b[a-z]{5,10}\\b");

        /** The system word list RULER draws keys from (Debian's wamerican), when installed. */
        public static final Path DICTIONARY = Path.of("/usr/share/dict/american-english");

        /**
         * Essays: the source's documents in id order, up to {@code maxBytes} in all. Keys: the words of
         * {@code dictionary} if it exists, else the essays' own lower-case words of 5 to 10 letters.
         */
        public static Material load(CorpusSource source, long maxBytes, Path dictionary) throws IOException {
            List<String> essays = new ArrayList<>();
            long bytes = 0;
            for (var info : source.entries()) {
                if (bytes >= maxBytes) break;
                byte[] content = source.read(info).content();
                essays.add(new String(content, StandardCharsets.UTF_8));
                bytes += content.length;
            }
            Set<String> keys = new LinkedHashSet<>();
            if (dictionary != null && Files.isRegularFile(dictionary)) {
                for (String line : Files.readAllLines(dictionary, StandardCharsets.UTF_8)) if (KEY.matcher(line).matches()) keys.add(line);
            } else {
                for (String e : essays) {
                    var m = KEY_IN_TEXT.matcher(e);
                    while (m.find() && keys.size() < 5000) keys.add(m.group());
                }
            }
            return new Material(essays, List.copyOf(keys));
        }
    }

    /**
     * The prompt of {@code task} at {@code context} tokens (the haystack fills what the instructions,
     * needle and question leave) with the needle at {@code depth} in [0, 1] of the haystack, placed
     * at the sentence boundary at or before that point.
     */
    public static Case build(Task task, Tokenizer tok, int context, double depth, Material material, SplittableRandom rng) {
        if (!(depth >= 0 && depth <= 1)) throw new IllegalArgumentException("needle depth must be in [0, 1], got " + depth);
        String key = material.keys().get(rng.nextInt(material.keys().size()));
        String value = task == Task.S_NIAH_3 ? new UUID(rng.nextLong(), rng.nextLong()).toString() : String.valueOf(1_000_000 + rng.nextInt(9_000_000));
        String what = task == Task.S_NIAH_3 ? "uuid" : "number";
        String intro, needle, question;
        if (task == Task.S_NIAH_1) {
            intro = "A special magic number is hidden within the following text. Make sure to memorize it.\n";
            needle = "The pass key is " + value + ". Remember it. " + value + " is the pass key. ";
            question = "\nWhat is the pass key? The pass key is";
        } else {
            intro = "A special magic " + what + " is hidden within the following text. Make sure to memorize it.\n";
            needle = "One of the special magic " + what + "s for " + key + " is: " + value + ". ";
            question = "\nWhat is the special magic " + what + " for " + key + " mentioned in the provided text? The special magic " + what
                    + " for " + key + " mentioned in the provided text is";
        }
        int fixed = tok.encode(intro + needle + question).length;
        int budget = context - fixed;
        if (budget < 1) {
            throw new IllegalArgumentException(task.id + ": context " + context + " is too short: the instructions, needle and question alone take "
                    + fixed + " tokens");
        }
        String hay = haystack(task, tok, budget, material, rng);
        int at = (int) Math.round(depth * hay.length());
        int boundary = at >= hay.length() ? hay.length() : Math.max(0, hay.lastIndexOf(". ", at - 1) + 2);
        if (boundary > at) boundary = 0;
        String before = intro + hay.substring(0, boundary);
        int needleToken = tok.encode(before).length;
        int[] prompt = tok.encode(before + needle + hay.substring(boundary) + question);
        return new Case(task, context, depth, prompt, needleToken, key, value);
    }

    /** Haystack text of about {@code budget} tokens (cut at a token boundary, whole characters). */
    private static String haystack(Task task, Tokenizer tok, int budget, Material material, SplittableRandom rng) {
        StringBuilder text = new StringBuilder();
        if (task.essay) {
            int doc = rng.nextInt(material.essays().size());
            // Start at a random place of a random document; bytes-per-token is at least 1, so 8 per token is plenty.
            String first = material.essays().get(doc);
            text.append(first, rng.nextInt(Math.max(1, first.length() / 2)), first.length());
            while (text.length() < 8L * budget) {
                doc = (doc + 1) % material.essays().size();
                text.append("\n\n").append(material.essays().get(doc));
            }
        } else {
            while (text.length() < 8L * budget) text.append(NOISE);
        }
        int[] ids = tok.encode(text.length() > 16 * budget ? text.substring(0, 16 * budget) : text.toString());
        int[] cut = Arrays.copyOf(ids, Math.min(budget, ids.length));
        String s = new String(tok.decode(cut), StandardCharsets.UTF_8);
        return s.endsWith("\uFFFD") ? s.substring(0, s.length() - 1) : s;
    }

    /** The greedy continuation of {@code prompt}, at most {@code maxTokens} tokens, stopping at a newline or the document boundary. */
    public static String greedyAnswer(Decoder model, Tokenizer tok, int[] prompt, int maxTokens, int piece) {
        return new String(tok.decode(greedyTokens(model, tok, prompt, maxTokens, piece)), StandardCharsets.UTF_8);
    }

    /** The tokens of {@link #greedyAnswer}. */
    public static int[] greedyTokens(Decoder model, Tokenizer tok, int[] prompt, int maxTokens, int piece) {
        try (var off = GradMode.disabled()) {
            InferenceSession s = InferenceSession.open(model, piece);
            float[] logits = s.read(prompt);
            int[] out = new int[maxTokens];
            int n = 0;
            while (n < maxTokens) {
                int next = Sampler.argmax(logits);
                if (next == tok.documentBoundary()) break;
                out[n++] = next;
                if (new String(tok.decode(Arrays.copyOf(out, n)), StandardCharsets.UTF_8).stripLeading().contains("\n")) break; // the answer line is over
                if (n < maxTokens) logits = InferenceSession.lastRow(s.feed(new int[] {next}));
            }
            return Arrays.copyOf(out, n);
        }
    }

    /** Exact match: the answer's first word, without trailing punctuation, is the value. */
    public static boolean matches(String generated, String value) {
        String[] words = generated.strip().split("\\s+", 2);
        String first = words.length == 0 ? "" : words[0].replaceAll("[.,;:!?\"')]+$", "");
        return first.toLowerCase(Locale.ROOT).equals(value.toLowerCase(Locale.ROOT));
    }
}
