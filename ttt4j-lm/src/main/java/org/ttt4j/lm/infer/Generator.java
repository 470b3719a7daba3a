package org.ttt4j.lm.infer;

import java.util.Arrays;
import java.util.function.Consumer;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.methods.MethodSession;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.methods.qttt.QtttSession;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.Tokenizer;

/**
 * Prefill then decode with KV caches (a ring of the window for sliding-window blocks, so memory
 * stays flat however long the context). Text is streamed to a callback as soon as its bytes form
 * complete UTF-8 characters.
 */
public final class Generator {
    /** Prompt tokens fed per forward pass during prefill. */
    public static final int PREFILL_CHUNK = 64;

    private final Decoder model;
    private final Tokenizer tokenizer;

    public Generator(Decoder model, Tokenizer tokenizer) {
        if (tokenizer.vocabSize() > model.config().vocabSize()) {
            throw new IllegalArgumentException("tokenizer " + tokenizer.name() + " has " + tokenizer.vocabSize()
                    + " ids but the model's vocabulary is " + model.config().vocabSize());
        }
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /** What was produced and why it stopped. */
    public record Output(String text, int[] tokens, String stopReason, double prefillMsPerToken, double decodeMsPerToken) {}

    public Output generate(String prompt, SamplingOptions options, Consumer<String> onText) {
        try {
            return generate(prompt, options, onText, null, null);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e); // no state file involved: cannot happen
        }
    }

    /**
     * With a TTT-E2E model, {@code loadState} continues a saved session (the prompt extends its
     * sequence) and {@code saveState} saves the session after reading the prompt, before decoding.
     */
    public Output generate(String prompt, SamplingOptions options, Consumer<String> onText, java.nio.file.Path loadState,
                           java.nio.file.Path saveState) throws java.io.IOException {
        return generate(prompt, options, onText, loadState, saveState, null, null);
    }

    /**
     * With {@code qttt}, the prompt is read once with every layer's keys and values kept, the query
     * projections adapt to it (qTTT; each step reported to {@code onStep}), and decoding uses them;
     * the model's own weights stay as they were.
     */
    public Output generate(String prompt, SamplingOptions options, Consumer<String> onText, java.nio.file.Path loadState,
                           java.nio.file.Path saveState, QtttOptions qttt, Consumer<QtttSession.Step> onStep) throws java.io.IOException {
        return generate(tokenizer.encode(prompt), options, onText, loadState, saveState, qttt, onStep);
    }

    /**
     * As {@link #generate(String, SamplingOptions, Consumer, java.nio.file.Path, java.nio.file.Path, QtttOptions, Consumer)}
     * from a prompt already encoded (e.g. a chat template's prompt, see {@code ChatTemplate.encode}).
     */
    public Output generate(int[] promptTokens, SamplingOptions options, Consumer<String> onText, java.nio.file.Path loadState,
                           java.nio.file.Path saveState, QtttOptions qttt, Consumer<QtttSession.Step> onStep) throws java.io.IOException {
        if (qttt != null && (loadState != null || saveState != null)) {
            throw new IllegalArgumentException("qTTT adapts to one prompt: it does not combine with saving or loading a session state");
        }
        int[] promptIds = promptTokens.clone();
        for (int id : promptIds) {
            if (id < 0 || id >= model.config().vocabSize()) {
                throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary [0, " + model.config().vocabSize() + ")");
            }
        }
        // An empty prompt starts a document, unless it continues a saved session exactly where it stopped.
        if (promptIds.length == 0 && loadState == null) promptIds = new int[] {tokenizer.documentBoundary()};
        try (var s = GradMode.disabled()) {
            // TTT-E2E models learn while they read (a session with its inner loop); others decode with caches.
            long t0 = System.nanoTime(); // reading the prompt (with qTTT, adapting to it too)
            java.util.function.Function<int[], Tensor> feed;
            MethodSession session = null;
            QtttSession adapted = null;
            if (qttt != null) {
                adapted = QtttSession.prefill(model, promptIds.length >= 2 ? promptIds : new int[] {tokenizer.documentBoundary(), promptIds[0]},
                        PREFILL_CHUNK);
                adapted.adapt(qttt, onStep);
                feed = adapted::feed;
            } else {
                // Each method reads its way (TTT-E2E models learn while they read); any session can be saved and continued.
                Method method = Methods.of(model.config());
                session = loadState != null ? method.loadSession(model, loadState)
                        : method.openSession(model, InferenceSession.maxChunk(model, PREFILL_CHUNK));
                feed = session::feed;
            }
            float[] last = session != null && loadState != null ? session.lastLogits() : adapted != null ? adapted.lastLogits() : null;
            int[] counted = promptIds; // the tokens the repetition penalty counts
            if (last == null && promptIds.length == 0) promptIds = new int[] {tokenizer.documentBoundary()};
            for (int at = 0; adapted == null && at < promptIds.length; at += PREFILL_CHUNK) {
                int[] chunk = Arrays.copyOfRange(promptIds, at, Math.min(promptIds.length, at + PREFILL_CHUNK));
                last = InferenceSession.lastRow(feed.apply(chunk));
            }
            if (saveState != null) session.save(saveState);
            long t1 = System.nanoTime();
            MethodSession decoding = session;
            QtttSession adapting = adapted;
            java.util.function.IntFunction<float[]> step = adapting != null ? t -> InferenceSession.lastRow(adapting.feed(new int[] {t}))
                    : decoding::next;
            return decode(step, last, counted, options, onText, promptIds.length, t0, t1);
        }
    }

    /**
     * Continues a sequence that {@code session} has read (its logits after the last token are
     * {@code last}; {@code context} are its tokens, for the repetition penalty): the session goes on
     * learning (TTT-E2E) or caching as it decodes. Run under {@code GradMode.disabled()}.
     */
    public Output continueFrom(InferenceSession session, float[] last, int[] context, SamplingOptions options, Consumer<String> onText) {
        long t = System.nanoTime();
        return decode(session::next, last, context, options, onText, 0, t, t);
    }

    /** Samples and reads tokens; {@code step} reads one and returns the logits after it (a buffer it may reuse). */
    private Output decode(java.util.function.IntFunction<float[]> step, float[] last, int[] context, SamplingOptions options,
                          Consumer<String> onText, int promptTokens, long t0, long t1) {
        Decoding d = new Decoding(tokenizer, model.config().vocabSize(), context, options, onText);
        while (!d.done()) {
            int next = d.pick(last);
            if (!d.done()) last = step.apply(next);
        }
        long t2 = System.nanoTime();
        int n = d.tokens().length;
        return d.output((t1 - t0) / 1e6 / Math.max(1, promptTokens), n > 0 ? (t2 - t1) / 1e6 / n : 0);
    }
}
