package org.ttt4j.lm.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.stream.Stream;
import org.ttt4j.lm.data.CorpusSource;
import org.ttt4j.lm.data.Document;
import org.ttt4j.lm.data.Split;
import org.ttt4j.lm.tokenizer.BpeTokenizer;
import org.ttt4j.lm.tokenizer.BpeTrainer;
import org.ttt4j.lm.tokenizer.BpeVocabulary;
import org.ttt4j.lm.tokenizer.Tokenizer;
import org.ttt4j.lm.tokenizer.Tokenizers;

/**
 * Resolves the pieces a run needs from command-line specs. {@code bpe:N} trains a byte-level BPE
 * of N ids on the first {@link #BPE_SAMPLE_BYTES} of the corpus's training documents (once; cached in the run folder)
 * so that one command goes from a corpus to a trained model.
 */
public final class RunSetup {
    public static final long BPE_SAMPLE_BYTES = 20L << 20;

    private RunSetup() {}

    /** The cache root: {@code $TTT4J_CACHE}, else {@code ~/.cache/ttt4j}. */
    public static Path cacheRoot() {
        String env = System.getenv("TTT4J_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "ttt4j");
    }

    /** The spec of a run whose tokenizer is a Hugging Face {@code tokenizer.json}, kept in the run's {@code tokenizer/} folder. */
    public static final String HF_SPEC = "hf";

    /** The {@code tokenizer.json} in {@code folder}, or an error naming the file. */
    public static Tokenizer hfTokenizer(Path folder) throws IOException {
        Path json = folder.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) throw new IOException(json + " is missing (the run was trained with a Hugging Face tokenizer kept there)");
        return org.ttt4j.lm.tokenizer.HfTokenizer.load(json);
    }

    /**
     * A tokenizer for {@code spec}: a name {@link Tokenizers} knows, a BPE folder, or {@code bpe:N}
     * (trained on {@code corpus} into {@code runDir/tokenizer} unless already there).
     */
    public static Tokenizer tokenizer(String spec, CorpusSource corpus, Split split, Path runDir, PrintStream log) throws IOException {
        if (spec.equals(HF_SPEC)) return hfTokenizer(runDir.resolve("tokenizer"));
        if (spec.startsWith("bpe:")) {
            int size;
            try {
                size = Integer.parseInt(spec.substring(4));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("tokenizer spec \"" + spec + "\": expected bpe:N with N a number of ids");
            }
            Path dir = runDir.resolve("tokenizer");
            if (Files.exists(dir.resolve(BpeVocabulary.SIDECAR_FILE))) return BpeTokenizer.load(dir);
            if (corpus == null) throw new IllegalArgumentException("bpe:N needs a corpus to learn from");
            log.printf("training a BPE tokenizer of %d ids on the first %d MB of %s%n", size, BPE_SAMPLE_BYTES >> 20,
                    corpus.description());
            BpeVocabulary vocab;
            // Learn from training documents only: held-out text stays unseen.
            var heldOut = split.validationIds(corpus.entries());
            try (Stream<Document> docs = corpus.documents().filter(d -> !heldOut.contains(d.id()))) {
                Iterator<Document> it = docs.iterator();
                long[] seen = {0};
                Iterator<byte[]> bytes = new Iterator<>() {
                    @Override public boolean hasNext() {
                        return seen[0] < BPE_SAMPLE_BYTES && it.hasNext();
                    }

                    @Override public byte[] next() {
                        byte[] b = it.next().content();
                        seen[0] += b.length;
                        return b;
                    }
                };
                vocab = new BpeTrainer(size).name("bpe:" + size).progress(log::println, 3000).train(bytes);
            }
            vocab.save(dir);
            return BpeTokenizer.load(dir);
        }
        return Tokenizers.byName(spec, runDir);
    }
}
