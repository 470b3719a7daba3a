package org.ttt4j.lm.api;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.infer.Generator;
import org.ttt4j.lm.infer.InferenceSession;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.methods.Batched;
import org.ttt4j.lm.methods.MethodSession;
import org.ttt4j.lm.methods.Methods;

/**
 * One model reading one text, keeping what it has read as state, whatever the model's method:
 * attention keeps its keys and values (a ring of the window for sliding-window blocks), TTT layers
 * their fast weights (learned while reading), TTT-E2E models their prime MLP weights (one gradient
 * step per chunk read) and their attention windows. A session reads each token once: feed a long
 * document, then ask for continuations, save the state to a file and continue it in another process,
 * or fork it to try several continuations of one context.
 *
 * <p>Get one from {@link LanguageModel#session()} or {@link LanguageModel#loadSession}. A session is
 * not thread-safe; forks are independent of each other and of the original.
 */
public final class Session {
    private final LanguageModel model;
    private final MethodSession state;

    Session(LanguageModel model, MethodSession state) {
        this.model = model;
        this.state = state;
    }

    /** A fresh session of {@code model}, read the way its method reads. */
    static Session open(LanguageModel model) {
        int maxChunk = InferenceSession.maxChunk(model.decoder(), Generator.PREFILL_CHUNK);
        return new Session(model, Methods.of(model.config()).openSession(model.decoder(), maxChunk));
    }

    /** The session whose state {@link #save} wrote to {@code file}. */
    static Session load(LanguageModel model, Path file) throws IOException {
        return new Session(model, Methods.of(model.config()).loadSession(model.decoder(), file));
    }

    /** Tokens handed to the method per call when reading (it splits them further as its caches need). */
    private static final int PIECE = Generator.PREFILL_CHUNK;

    private int maxChunk() {
        return state.maxChunk();
    }

    /**
     * The model this session reads with.
     *
     * @return the model
     */
    public LanguageModel model() {
        return model;
    }

    /**
     * The number of tokens read so far, generated tokens included.
     *
     * @return the position of the next token
     */
    public long position() {
        return state.position();
    }

    /**
     * The size of the state the session holds now (caches, fast weights): its memory beyond the model's own.
     *
     * @return the number of floats
     */
    public long stateFloats() {
        return state.stateFloats();
    }

    /**
     * Reads {@code text}. Texts fed one after the other are tokenized separately: at a piece
     * boundary the tokens may differ from those of the joined text.
     *
     * @param text the text to read next
     * @return this session
     */
    public Session feed(String text) {
        return feed(model.encode(Objects.requireNonNull(text, "text")));
    }

    /**
     * Reads token ids, the model learning from them as it reads where its method does.
     *
     * @param ids ids of the model's tokenizer (see {@link LanguageModel#encode}); may be empty
     * @return this session
     */
    public Session feed(int[] ids) {
        readIds(ids, false);
        return this;
    }

    /**
     * Reads token ids like {@link #feed(int[])} and returns the logits after each of them (row i: the
     * next-token logits after {@code ids[i]}); meant for short inputs, as it holds n × vocabulary floats.
     *
     * @param ids ids of the model's tokenizer
     * @return logits [ids.length][vocabulary]
     */
    public float[][] feedLogits(int[] ids) {
        return readIds(ids, true);
    }

    private float[][] readIds(int[] ids, boolean keep) {
        model.checkIds(Objects.requireNonNull(ids, "ids"));
        int v = model.config().vocabSize();
        float[][] rows = keep ? new float[ids.length][] : null;
        try (var off = GradMode.disabled()) {
            // Pieces of a fixed size, whatever the method: a loaded or forked session is fed exactly as the original.
            for (int at = 0; at < ids.length; at += PIECE) {
                int n = Math.min(PIECE, ids.length - at);
                Tensor logits = state.feed(Arrays.copyOfRange(ids, at, at + n));
                if (keep) {
                    float[] all = logits.toFloatArray();
                    for (int i = 0; i < n; i++) rows[at + i] = Arrays.copyOfRange(all, i * v, (i + 1) * v);
                }
            }
        }
        return rows;
    }

    /**
     * Reads one token id and returns the logits after it: the decoding loop's call. Attention,
     * TTT-E2E and TTT models run it as one packed step over the model's stored weights that
     * allocates nothing per token ({@code org.ttt4j.lm.decode.DecodeStep}).
     *
     * @param id an id of the model's tokenizer
     * @return the next-token logits (a copy)
     */
    public float[] next(int id) {
        model.checkIds(new int[] {id});
        try (var off = GradMode.disabled()) {
            return state.next(id).clone();
        }
    }

    /**
     * Reads {@code ids[i]} into {@code sessions.get(i)} for every i, decoding them together: sessions
     * of one attention model share every weight read (one matrix product for all of them), which is
     * how a server decodes many requests at once. Each session's logits are the same bits as its own
     * {@link #next}.
     *
     * @param sessions distinct sessions (of any models)
     * @param ids one id per session
     * @return the logits after each session's token, row i for session i
     */
    public static float[][] nextAll(List<Session> sessions, int[] ids) {
        if (sessions.size() != ids.length) throw new IllegalArgumentException(sessions.size() + " sessions but " + ids.length + " ids");
        List<MethodSession> states = new java.util.ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            sessions.get(i).model.checkIds(new int[] {ids[i]});
            states.add(sessions.get(i).state);
        }
        try (var off = GradMode.disabled()) {
            return Batched.next(states, ids);
        }
    }

    /**
     * The next-token logits after the last token read.
     *
     * @return a copy of the logits, or null before anything was read
     */
    public float[] lastLogits() {
        return state.lastLogits();
    }

    /**
     * Reads {@code prompt}, then generates a continuation of everything read so far, streaming its
     * text to {@code onText} in pieces that end on whole UTF-8 characters (they concatenate to the
     * returned text). The session reads the generated tokens too, so a later feed or generate
     * continues after them (a document boundary that ended the generation is not read). An empty
     * prompt continues where the session stands; a session that has read nothing starts a document.
     * The repetition penalty counts the prompt's tokens and the generated ones.
     *
     * @param prompt text to read first; may be empty
     * @param options how tokens are sampled and when to stop
     * @param onText receives each piece of text; may be null
     * @return the generated text, its tokens and why generation stopped
     */
    public Generator.Output generate(String prompt, SamplingOptions options, Consumer<String> onText) {
        Objects.requireNonNull(options, "options");
        int[] ids = model.encode(Objects.requireNonNull(prompt, "prompt"));
        if (ids.length == 0 && state.lastLogits() == null) ids = new int[] {model.tokenizer().documentBoundary()};
        feed(ids);
        int[] fed = {0};
        InferenceSession reader = new InferenceSession() {
            @Override
            public Tensor feed(int[] next) {
                fed[0] += next.length;
                float[][] rows = readIds(next, true);
                return Tensor.of(rows[rows.length - 1], 1, 1, rows[rows.length - 1].length);
            }

            @Override public long position() { return Session.this.position(); }
            @Override public long stateFloats() { return Session.this.stateFloats(); }
            @Override public int maxChunk() { return Session.this.maxChunk(); }
        };
        Generator.Output out;
        try (var off = GradMode.disabled()) {
            out = new Generator(model.decoder(), model.tokenizer()).continueFrom(reader, state.lastLogits(), ids, options, onText);
        }
        // The generator reads every token it emits but the last: read that one too.
        if (fed[0] < out.tokens().length) feed(Arrays.copyOfRange(out.tokens(), fed[0], out.tokens().length));
        return out;
    }

    /**
     * Saves the whole state to {@code file} (a safetensors file, written atomically: a crash leaves the
     * old file or the new one). The model's config goes with it, so loading it into another model is
     * refused. TTT-E2E states are the files {@code ttt4j generate --save-state} writes.
     *
     * @param file where to write
     * @throws IOException when the file cannot be written
     * @throws org.ttt4j.lm.io.SafeTensors.FormatException when the state holds NaN or an infinity
     */
    public void save(Path file) throws IOException {
        state.save(Objects.requireNonNull(file, "file"));
    }

    /**
     * An independent copy of this session: feeding either one leaves the other as it was, and the
     * copy continues bit for bit as this session would.
     *
     * @return the copy
     */
    public Session fork() {
        return new Session(model, state.fork());
    }

    @Override
    public String toString() {
        return "Session[" + model.method() + ", position " + position() + "]";
    }
}
