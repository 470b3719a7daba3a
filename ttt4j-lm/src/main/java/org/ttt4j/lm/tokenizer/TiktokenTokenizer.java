package org.ttt4j.lm.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;

/**
 * OpenAI's published byte-level BPE vocabularies, r50k_base (GPT-2) and cl100k_base, encoded by
 * jtokkit (which embeds their ranks, so nothing is downloaded). Any byte sequence round-trips:
 * invalid UTF-8 falls back to single-byte tokens (see {@link JtokkitCodec}). The document boundary
 * is the vocabulary's {@code <|endoftext|>}, and {@link #vocabSize()} ends right after it, so the
 * other specials of cl100k (FIM, endofprompt) are not ids of this tokenizer.
 *
 * <p>Instances are immutable, thread-safe and cached: building the decode table takes a moment.
 */
public final class TiktokenTokenizer implements Tokenizer {
    private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();
    private static final ConcurrentHashMap<EncodingType, TiktokenTokenizer> CACHE = new ConcurrentHashMap<>();

    private final JtokkitCodec codec;

    private TiktokenTokenizer(EncodingType type, int endOfText) {
        Encoding enc = REGISTRY.getEncoding(type);
        byte[][] table = new byte[endOfText + 1][];
        IntArrayList one = new IntArrayList(1);
        one.add(0);
        for (int id = 0; id < endOfText; id++) {
            one.set(0, id);
            try {
                table[id] = enc.decodeBytes(one);
            } catch (NullPointerException unknownId) { // jtokkit's way of saying "no such token"
                table[id] = null;
            }
        }
        table[endOfText] = new byte[0];
        codec = new JtokkitCodec(type.getName(), enc, table, endOfText);
    }

    /** GPT-2's vocabulary (50,257 ids; boundary 50256). */
    public static TiktokenTokenizer r50k() {
        return CACHE.computeIfAbsent(EncodingType.R50K_BASE, t -> new TiktokenTokenizer(t, 50256));
    }

    /** GPT-3.5/4's vocabulary (ids up to the boundary 100257, so vocabSize 100258). */
    public static TiktokenTokenizer cl100k() {
        return CACHE.computeIfAbsent(EncodingType.CL100K_BASE, t -> new TiktokenTokenizer(t, 100257));
    }

    /** "gpt2" or "r50k_base", or "cl100k_base" (case-insensitive). */
    public static TiktokenTokenizer of(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gpt2", "r50k_base", "r50k" -> r50k();
            case "cl100k_base", "cl100k" -> cl100k();
            default -> throw new IllegalArgumentException("unknown tiktoken vocabulary '" + name
                    + "'; accepted: gpt2, r50k_base, cl100k_base");
        };
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
        return "TiktokenTokenizer[" + name() + "]";
    }
}
