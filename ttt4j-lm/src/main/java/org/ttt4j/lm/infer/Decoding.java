package org.ttt4j.lm.infer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;
import org.ttt4j.lm.tokenizer.Tokenizer;

/**
 * One generation, one token at a time: the caller hands in the logits after the last token read,
 * {@link #pick} samples the next token, and the caller reads it into its model unless
 * {@link #done()}. Keeping the model outside lets one loop decode many generations together (the
 * server's batched decoding) while each keeps its own sampler, stop strings and text.
 *
 * <p>Text reaches {@code onText} in pieces that end on whole UTF-8 characters; text that could
 * be the start of a stop string is held back until it is known not to be one, so a stop string
 * never reaches the stream. The pieces concatenate to {@link Generator.Output#text()}.
 */
public final class Decoding {
    private final Tokenizer tokenizer;
    private final SamplingOptions options;
    private final Consumer<String> onText;
    private final Sampler sampler;
    private final boolean[] seen;
    private final int[] out;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final StringBuilder text = new StringBuilder();
    private int n, decoded, streamed;
    private String reason;

    /**
     * @param tokenizer decodes the picked tokens
     * @param vocabSize the model's vocabulary
     * @param context the tokens read so far that the repetition penalty counts
     * @param options sampling and stopping
     * @param onText receives the text pieces; may be null
     * @throws IllegalArgumentException when a context id is outside the vocabulary
     */
    public Decoding(Tokenizer tokenizer, int vocabSize, int[] context, SamplingOptions options, Consumer<String> onText) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.options = Objects.requireNonNull(options, "options");
        this.onText = onText;
        this.sampler = new Sampler(options);
        this.seen = new boolean[vocabSize];
        for (int id : context) {
            if (id < 0 || id >= vocabSize) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocabSize + ")");
            seen[id] = true;
        }
        this.out = new int[options.maxTokens()];
        if (options.maxTokens() == 0) finish("max_tokens");
    }

    /**
     * Samples the next token after {@code logits} (left unchanged).
     *
     * @param logits the next-token logits after the last token read
     * @return the token, which belongs to the output; -1 at the end of a document (generation ends
     *         without it)
     * @throws IllegalStateException once {@link #done()}
     */
    public int pick(float[] logits) {
        if (reason != null) throw new IllegalStateException("the generation has ended (" + reason + ")");
        int next = sampler.pick(logits.clone(), seen); // the sampler rewrites its input (repetition penalty)
        if (next == tokenizer.documentBoundary()) {
            finish("end_of_document");
            return -1;
        }
        out[n++] = next;
        seen[next] = true;
        bytes.writeBytes(tokenizer.decode(new int[] {next}));
        byte[] all = bytes.toByteArray();
        int complete = completePrefix(all, decoded);
        if (complete > decoded) {
            text.append(new String(all, decoded, complete - decoded, StandardCharsets.UTF_8));
            decoded = complete;
        }
        // The stop string that starts first in the text ends it (the text before it may hold another's start).
        String hit = null;
        int cut = Integer.MAX_VALUE;
        for (String st : options.stop()) {
            int at = st.isEmpty() ? -1 : text.indexOf(st);
            if (at >= 0 && at < cut) {
                cut = at;
                hit = st;
            }
        }
        if (hit != null) {
            text.setLength(cut);
            finish("stop:" + hit);
            return next;
        }
        if (n == options.maxTokens()) {
            finish("max_tokens");
        } else {
            emit(text.length() - heldBack());
        }
        return next;
    }

    /**
     * Whether the generation has ended: the last token picked (if any) needs no logits after it.
     *
     * @return true after the last token
     */
    public boolean done() {
        return reason != null;
    }

    /**
     * The tokens picked so far, the output's.
     *
     * @return a copy
     */
    public int[] tokens() {
        return Arrays.copyOf(out, n);
    }

    /**
     * Why the generation ended: {@code max_tokens}, {@code end_of_document} or {@code stop:} and the stop string.
     *
     * @return the reason, or null while it runs
     */
    public String stopReason() {
        return reason;
    }

    /**
     * The output once done.
     *
     * @param prefillMsPerToken timing to report
     * @param decodeMsPerToken timing to report
     * @return text, tokens and reason
     */
    public Generator.Output output(double prefillMsPerToken, double decodeMsPerToken) {
        if (reason == null) throw new IllegalStateException("the generation has not ended");
        return new Generator.Output(text.toString(), tokens(), reason, prefillMsPerToken, decodeMsPerToken);
    }

    private void finish(String why) {
        reason = why;
        byte[] all = bytes.toByteArray();
        // Bytes that never formed a whole character are emitted as they are, unless a stop string cut the text.
        if (decoded < all.length && !why.startsWith("stop:")) text.append(new String(all, decoded, all.length - decoded, StandardCharsets.UTF_8));
        emit(text.length());
    }

    /** Sends text[streamed, end) to the listener. */
    private void emit(int end) {
        if (end <= streamed) return;
        String piece = text.substring(streamed, end);
        streamed = end;
        if (onText != null) onText.accept(piece);
    }

    /** The length of the longest end of the text that a stop string starts with (a stop string may be completing). */
    private int heldBack() {
        int hold = 0;
        for (String st : options.stop()) {
            for (int k = Math.min(st.length() - 1, text.length() - streamed); k > hold; k--) {
                if (CharSequence.compare(st.subSequence(0, k), text.subSequence(text.length() - k, text.length())) == 0) {
                    hold = k;
                    break;
                }
            }
        }
        return hold;
    }

    /** Length of the longest prefix of {@code b} that ends on a UTF-8 character boundary, at least {@code from}. */
    static int completePrefix(byte[] b, int from) {
        for (int end = b.length; end > from; end--) {
            var dec = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
            try {
                dec.decode(ByteBuffer.wrap(b, from, end - from));
                return end;
            } catch (CharacterCodingException e) {
                if (b.length - end >= 4) return b.length; // invalid bytes, not a split character: emit them
            }
        }
        return from;
    }
}
