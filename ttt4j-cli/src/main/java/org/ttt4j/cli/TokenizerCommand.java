package org.ttt4j.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.ttt4j.lm.data.Corpus;
import org.ttt4j.lm.data.CorpusSource;
import org.ttt4j.lm.data.Document;
import org.ttt4j.lm.tokenizer.BpeTokenizer;
import org.ttt4j.lm.tokenizer.BpeTrainer;
import org.ttt4j.lm.tokenizer.BpeVocabulary;
import org.ttt4j.lm.tokenizer.Tokenizer;
import org.ttt4j.lm.tokenizer.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/** {@code ttt4j tokenizer}: train a byte-level BPE vocabulary on a corpus, or try a tokenizer on some text. */
@Command(name = "tokenizer", mixinStandardHelpOptions = true,
        description = "Train a BPE tokenizer or encode text with one.",
        subcommands = {TokenizerCommand.Train.class, TokenizerCommand.Encode.class})
public final class TokenizerCommand extends CommandIo implements Callable<Integer> {

    @Override
    public Integer call() {
        spec.commandLine().usage(stdout());
        return 0;
    }

    /** Learns a vocabulary and reports how well it compresses its own corpus. */
    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Learn a byte-level BPE vocabulary (ranks.tiktoken + tokenizer.json) from a corpus.")
    static final class Train extends CommandIo implements Callable<Integer> {
        @Option(names = "--corpus", defaultValue = "default", paramLabel = "SPEC",
                description = "PATH[;include=GLOB,..][;exclude=GLOB,..]: a file, folder, .zip or .gz (default: the JDK's lib/src.zip).")
        String corpus;

        @Option(names = "--vocab-size", defaultValue = "8192", paramLabel = "N",
                description = "Total ids including the document boundary (default: ${DEFAULT-VALUE}).")
        int vocabSize;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write the tokenizer to.")
        Path out;

        @Option(names = "--max-bytes", defaultValue = "" + Long.MAX_VALUE, paramLabel = "N",
                description = "Read at most about this many bytes of the corpus (whole files; default: all).")
        long maxBytes;

        @Override
        public Integer call() throws IOException {
            long t0 = System.nanoTime();
            List<byte[]> docs = new ArrayList<>();
            long read = 0;
            try (CorpusSource source = Corpus.open(corpus); Stream<Document> all = source.documents()) {
                for (var it = all.iterator(); it.hasNext() && read < maxBytes; ) {
                    byte[] b = it.next().content();
                    docs.add(b);
                    read += b.length;
                }
            }
            long bytes = docs.stream().mapToLong(d -> d.length).sum();
            if (docs.isEmpty() || bytes == 0) {
                stderr().println("no text found in " + corpus);
                return 1;
            }
            stderr().printf(Locale.ROOT, "read %d documents, %.1f MB from %s in %.1f s%n",
                    docs.size(), bytes / 1e6, corpus, (System.nanoTime() - t0) / 1e9);
            long t1 = System.nanoTime();
            BpeVocabulary vocabulary = new BpeTrainer(vocabSize).train(docs);
            double trainSeconds = (System.nanoTime() - t1) / 1e9;
            vocabulary.save(out);
            BpeTokenizer tokenizer = BpeTokenizer.load(out);
            long tokens = 0;
            for (byte[] d : docs) {
                tokens += tokenizer.encode(d).length;
            }
            stdout().printf(Locale.ROOT, "tokenizer  %s -> %s%n", tokenizer.name(), out.toAbsolutePath());
            stdout().printf(Locale.ROOT, "vocab size %d (256 bytes, %d learned, boundary id %d)%n",
                    tokenizer.vocabSize(), tokenizer.vocabSize() - 257, tokenizer.documentBoundary());
            stdout().printf(Locale.ROOT, "corpus     %d documents, %d bytes, %d tokens: %.3f bytes/token%n",
                    docs.size(), bytes, tokens, (double) bytes / tokens);
            stdout().printf(Locale.ROOT, "time       %.1f s training, %.1f s total%n", trainSeconds,
                    (System.nanoTime() - t0) / 1e9);
            return 0;
        }
    }

    /** Prints the ids of a text, to see what a tokenizer does with it. */
    @Command(name = "encode", mixinStandardHelpOptions = true, description = "Print the token ids of a text and their count.")
    static final class Encode extends CommandIo implements Callable<Integer> {
        @Option(names = "--tokenizer", defaultValue = "gpt2", paramLabel = "SPEC",
                description = "bytes, gpt2, r50k_base, cl100k_base, or a trained BPE folder (default: ${DEFAULT-VALUE}).")
        String tokenizer;

        @Option(names = "--file", paramLabel = "PATH", description = "Encode this file's bytes instead of the text argument.")
        Path file;

        @Option(names = "--pieces", description = "Also print each token's text (default: ids only).")
        boolean pieces;

        @Parameters(arity = "0..*", paramLabel = "TEXT", description = "The text, several arguments joined by spaces (default: --file).")
        List<String> text = new ArrayList<>();

        @Override
        public Integer call() throws IOException {
            if ((file == null) == text.isEmpty()) {
                stderr().println("give either a TEXT argument or --file");
                return 2;
            }
            Tokenizer t;
            try {
                t = Tokenizers.byName(tokenizer, Path.of("."));
            } catch (IllegalArgumentException e) {
                stderr().println(e.getMessage());
                return 2;
            }
            byte[] bytes = file != null ? Files.readAllBytes(file) : String.join(" ", text).getBytes(StandardCharsets.UTF_8);
            int[] ids = t.encode(bytes);
            stdout().println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
            if (pieces) {
                for (int id : ids) {
                    stdout().printf(Locale.ROOT, "%8d  %s%n", id, printable(t.decode(new int[] {id})));
                }
            }
            stdout().printf(Locale.ROOT, "%d tokens, %d bytes (%.3f bytes/token) with %s%n", ids.length, bytes.length,
                    ids.length == 0 ? 0.0 : (double) bytes.length / ids.length, t.name());
            return 0;
        }

        private static String printable(byte[] b) {
            String s = new String(b, StandardCharsets.UTF_8);
            return "'" + s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + "'";
        }
    }
}
