package org.ttt4j.lm.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;

/** Resolves the tokenizer names used on command lines and in configs and checkpoints. */
public final class Tokenizers {
    /** What {@link #byName} accepts, for messages. */
    public static final String ACCEPTED =
            "bytes, gpt2 (= r50k_base), r50k_base, cl100k_base, or the path of a trained BPE folder"
                    + " (containing " + BpeVocabulary.SIDECAR_FILE + " and " + BpeVocabulary.RANKS_FILE + ")";

    private Tokenizers() {
    }

    /**
     * @param spec "bytes", "gpt2"/"r50k_base", "cl100k_base" (case-insensitive), or a folder written by
     *             {@link BpeVocabulary#save}; a relative folder is looked up as given first, then under {@code dir}
     * @param dir  base folder for relative BPE paths; may be null
     * @throws IllegalArgumentException for anything else, listing the accepted names
     * @throws UncheckedIOException     if a BPE folder exists but cannot be read
     */
    public static Tokenizer byName(String spec, Path dir) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("no tokenizer given; accepted: " + ACCEPTED);
        }
        switch (spec.trim().toLowerCase(Locale.ROOT)) {
            case "bytes", "byte":
                return ByteTokenizer.instance();
            case "gpt2", "r50k_base", "r50k":
                return TiktokenTokenizer.r50k();
            case "cl100k_base", "cl100k":
                return TiktokenTokenizer.cl100k();
            default:
                break;
        }
        Path folder = bpeFolder(spec.trim(), dir);
        if (folder == null) {
            throw new IllegalArgumentException("unknown tokenizer '" + spec + "'; accepted: " + ACCEPTED);
        }
        try {
            return BpeTokenizer.load(folder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load BPE tokenizer from " + folder + ": " + e.getMessage(), e);
        }
    }

    private static Path bpeFolder(String spec, Path dir) {
        Path p;
        try {
            p = Path.of(spec);
        } catch (InvalidPathException e) {
            return null;
        }
        if (Files.isRegularFile(p.resolve(BpeVocabulary.SIDECAR_FILE))) {
            return p;
        }
        if (dir != null && !p.isAbsolute() && Files.isRegularFile(dir.resolve(p).resolve(BpeVocabulary.SIDECAR_FILE))) {
            return dir.resolve(p);
        }
        return null;
    }
}
