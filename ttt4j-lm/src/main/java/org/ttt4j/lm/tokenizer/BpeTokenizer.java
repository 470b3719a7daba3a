package org.ttt4j.lm.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A byte-level BPE vocabulary trained here ({@link BpeTrainer}), encoded by jtokkit: the ranks are
 * handed to jtokkit through {@link GptBytePairEncodingParams}, so encoding runs in the same tested
 * tiktoken algorithm as GPT-2's. Lossless on any bytes (invalid UTF-8 falls back to the single-byte
 * ranks 0..255); the document boundary is the id right after the learned ranks.
 */
public final class BpeTokenizer implements Tokenizer {
    /** Regex flags used for the pre-tokenisation pattern, in training and in jtokkit alike. */
    static final int PATTERN_FLAGS = Pattern.UNICODE_CHARACTER_CLASS;

    private final BpeVocabulary vocabulary;
    private final JtokkitCodec codec;

    /** A tokenizer for an in-memory vocabulary (for instance straight from {@link BpeTrainer#train}). */
    public BpeTokenizer(BpeVocabulary vocabulary) {
        this.vocabulary = vocabulary;
        List<byte[]> ranks = vocabulary.ranks();
        Map<byte[], Integer> encoder = new HashMap<>(ranks.size() * 2);
        byte[][] table = new byte[vocabulary.vocabSize()][];
        for (int r = 0; r < ranks.size(); r++) {
            encoder.put(ranks.get(r), r);
            table[r] = ranks.get(r);
        }
        table[vocabulary.boundary()] = new byte[0];
        GptBytePairEncodingParams params = new GptBytePairEncodingParams(vocabulary.name(),
                Pattern.compile(vocabulary.pattern(), PATTERN_FLAGS), encoder,
                Map.of(BpeVocabulary.BOUNDARY_TOKEN, vocabulary.boundary()));
        Encoding enc = Encodings.newLazyEncodingRegistry().registerGptBytePairEncoding(params)
                .getEncoding(vocabulary.name())
                .orElseThrow(() -> new IllegalStateException("jtokkit did not register " + vocabulary.name()));
        this.codec = new JtokkitCodec(vocabulary.name(), enc, table, vocabulary.boundary());
    }

    /** Loads a folder written by {@link BpeVocabulary#save} (ranks.tiktoken + tokenizer.json). */
    public static BpeTokenizer load(Path dir) throws IOException {
        return new BpeTokenizer(BpeVocabulary.load(dir));
    }

    public BpeVocabulary vocabulary() {
        return vocabulary;
    }

    @Override
    public String name() {
        return codec.name();
    }

    @Override
    public int vocabSize() {
        return codec.vocabSize();
    }

    @Override
    public int documentBoundary() {
        return codec.boundary();
    }

    @Override
    public int[] encode(byte[] utf8) {
        return codec.encode(utf8);
    }

    @Override
    public byte[] decode(int[] ids) {
        return codec.decode(ids);
    }

    @Override
    public String toString() {
        return "BpeTokenizer[" + name() + ", " + vocabSize() + " ids]";
    }
}
