package org.ttt4j.lm.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.ttt4j.core.kernel.WeightFormat;
import org.ttt4j.lm.eval.Scorer;
import org.ttt4j.lm.infer.Generator;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.methods.Methods;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Mixer;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.tokenizer.ChatTemplate;
import org.ttt4j.lm.tokenizer.Tokenizer;

/**
 * A trained language model with its tokenizer: the one entry point of the library. Open one from a
 * folder ({@link #open}) or take the shipped demo model ({@link #demo}); then tokenize, score text,
 * generate with streaming, or open a {@link Session} that reads a long text once and keeps its
 * state (learning while it reads where the model's method does).
 *
 * <p>A model holds only its weights, which scoring, generating and sessions never change; nothing
 * needs closing. A {@link Session} is for one thread at a time.
 */
public final class LanguageModel {
    /** Tokens per forward pass when scoring, as the evaluation suite reads documents. */
    static final int SCORE_CHUNK = 256;

    private final Decoder model;
    private final Tokenizer tokenizer;
    private final Path folder;
    /** The chat template, read on first use: null before, empty when the folder has none. */
    private volatile Optional<ChatTemplate> chatTemplate;

    private LanguageModel(Decoder model, Tokenizer tokenizer, Path folder) {
        if (tokenizer.vocabSize() > model.config().vocabSize()) {
            throw new IllegalArgumentException("tokenizer " + tokenizer.name() + " has " + tokenizer.vocabSize()
                    + " ids but the model's vocabulary is " + model.config().vocabSize());
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.folder = folder;
    }

    /**
     * Opens a model saved by ttt4j: a run folder (its latest checkpoint), a checkpoint folder
     * ({@code <run>/checkpoints/step-N}) or an exported model folder ({@code ttt4j export}).
     *
     * @param folder the folder to open
     * @return the model with its weights and tokenizer
     * @throws IOException naming the folder or file when nothing loadable is there or a file is damaged
     */
    public static LanguageModel open(Path folder) throws IOException {
        return open(folder, WeightFormat.F32);
    }

    /**
     * Opens a model like {@link #open(Path)} with its weight matrices stored as {@code weights}:
     * {@code BF16} halves and {@code Q8} about quarters the bytes decoding reads per token, at a
     * small change in the outputs ({@link Decoder#storeWeights}).
     *
     * @param folder the folder to open
     * @param weights how the weight matrices are stored
     * @return the model with its weights and tokenizer
     * @throws IOException naming the folder or file when nothing loadable is there or a file is damaged
     */
    public static LanguageModel open(Path folder, WeightFormat weights) throws IOException {
        ModelFolders.Loaded l = ModelFolders.load(Objects.requireNonNull(folder, "folder"));
        l.model().storeWeights(Objects.requireNonNull(weights, "weights"));
        return new LanguageModel(l.model(), l.tokenizer(), l.checkpoint().folder());
    }

    /**
     * The demo model shipped in this library's jar: a small TTT-E2E model (4 blocks of width 128,
     * an 8192-id BPE) trained on Java source. It is copied once to the cache folder
     * ({@code $TTT4J_CACHE} or {@code ~/.cache/ttt4j}) and opened from there.
     *
     * @return the demo model
     * @throws IOException when the model is missing from the classpath or the cache cannot be written
     */
    public static LanguageModel demo() throws IOException {
        return open(ModelFolders.demoFolder());
    }

    /**
     * Wraps a model built in code (for example a freshly initialised {@link Decoder}) and its tokenizer.
     *
     * @param model the decoder
     * @param tokenizer its tokenizer, with at most as many ids as the model's vocabulary
     * @return the model
     * @throws IllegalArgumentException when the tokenizer has more ids than the model
     */
    public static LanguageModel of(Decoder model, Tokenizer tokenizer) {
        return new LanguageModel(Objects.requireNonNull(model, "model"), Objects.requireNonNull(tokenizer, "tokenizer"), null);
    }

    /**
     * The tokenizer the model was trained with.
     *
     * @return the tokenizer
     */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * Token ids of {@code text} (its UTF-8 bytes). The document boundary is never produced.
     *
     * @param text any text
     * @return the ids
     */
    public int[] encode(String text) {
        return tokenizer.encode(text);
    }

    /**
     * The text of {@code ids}; bytes that do not form valid UTF-8 become U+FFFD.
     *
     * @param ids token ids of this model's tokenizer
     * @return the text
     */
    public String decode(int[] ids) {
        return new String(tokenizer.decode(ids), StandardCharsets.UTF_8);
    }

    /**
     * The model's configuration, as in its {@code config.json}.
     *
     * @return the config
     */
    public ModelConfig config() {
        return model.config();
    }

    /**
     * The method the model implements, from its config: {@code "e2e"} (TTT-E2E: sliding-window
     * attention whose prime MLPs learn while reading), {@code "full"}, {@code "swa"},
     * {@code "ttt_linear"} or {@code "ttt_mlp"} when every block has that mixer, else
     * {@code "hybrid"} (see {@code config().mixers()} for the pattern).
     *
     * @return the method's name
     */
    public String method() {
        Method governing = Methods.of(model.config());
        if (governing.governs(model.config())) return governing.name();
        var names = model.config().blockMixers().stream().map(Mixer::name).distinct().toList();
        return names.size() == 1 ? names.getFirst() : "hybrid";
    }

    /**
     * The decoder itself, for the lower-level APIs ({@code org.ttt4j.lm.eval}, {@code infer}, {@code methods}).
     *
     * @return the decoder
     */
    public Decoder decoder() {
        return model;
    }

    /**
     * The folder the model was loaded from: the checkpoint folder (for a run, its latest checkpoint's).
     *
     * @return the folder, or null for a model made by {@link #of}
     */
    public Path folder() {
        return folder;
    }

    /**
     * Scores {@code text}: the loss of every token given all tokens before it, teacher-forced (a
     * TTT-E2E model learns from the text as it reads it, exactly as in evaluation).
     *
     * @param text the text to score; it needs at least two tokens to give a loss
     * @return the tokens and their losses
     */
    public Score score(String text) {
        return score(encode(text));
    }

    /**
     * Scores a sequence of token ids, like {@link #score(String)}.
     *
     * @param tokens ids of this model's tokenizer
     * @return the tokens and their losses ({@code tokens.length - 1} of them)
     */
    public Score score(int[] tokens) {
        checkIds(tokens);
        return new Score(tokens.clone(), Scorer.tokenLosses(model, tokens, SCORE_CHUNK));
    }

    /**
     * Continues {@code prompt} (an empty prompt starts a new document), streaming the text to
     * {@code onText} in pieces that end on whole UTF-8 characters; the pieces concatenate to the
     * returned text. Each call starts afresh; use {@link #session()} to keep the state.
     *
     * @param prompt the text to continue
     * @param options how tokens are sampled and when to stop, e.g. {@code SamplingOptions.greedy(100)}
     * @param onText receives each piece of text as soon as it is decoded; may be null
     * @return the generated text, its tokens and why generation stopped
     */
    public Generator.Output generate(String prompt, SamplingOptions options, Consumer<String> onText) {
        return new Generator(model, tokenizer).generate(Objects.requireNonNull(prompt, "prompt"), Objects.requireNonNull(options, "options"),
                onText);
    }

    /**
     * The model's chat template: the {@code chat_template} of the {@code tokenizer_config.json} in
     * its {@link #folder()} (a Hugging Face model folder has one next to its {@code config.json}).
     * Read once, on first use.
     *
     * @return the template, or empty when the folder has no such file or the file no template (and
     *     for a model made by {@link #of})
     * @throws java.io.UncheckedIOException when the file exists but cannot be read or is not JSON
     * @throws IllegalArgumentException naming the file and field when the template field is malformed
     */
    public Optional<ChatTemplate> chatTemplate() {
        Optional<ChatTemplate> t = chatTemplate;
        if (t == null) {
            try {
                t = folder == null ? Optional.empty() : ChatTemplate.find(folder);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            chatTemplate = t;
        }
        return t;
    }

    /**
     * Replies to a conversation: renders it with the model's {@link #chatTemplate()} (with the
     * generation prompt, so the model writes the assistant's next turn), encodes it with the model's
     * tokenizer (see {@link ChatTemplate#encode}) and generates as {@link #generate}, streaming the reply.
     *
     * @param messages the conversation, oldest first, e.g. a system and a user message
     * @param options how tokens are sampled and when to stop
     * @param onText receives each piece of the reply as soon as it is decoded; may be null
     * @return the reply, its tokens and why generation stopped
     * @throws IllegalStateException naming the folder when the model has no chat template
     * @throws IllegalArgumentException when the template refuses the conversation
     */
    public Generator.Output chat(List<ChatTemplate.Message> messages, SamplingOptions options, Consumer<String> onText) {
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(options, "options");
        ChatTemplate template = chatTemplate().orElseThrow(() -> new IllegalStateException(noChatTemplate(folder)));
        int[] prompt = template.encode(tokenizer, template.render(messages, true));
        try {
            return new Generator(model, tokenizer).generate(prompt, options, onText, null, null, null, null);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // no state file involved: cannot happen
        }
    }

    /**
     * Why a model cannot chat.
     *
     * @param folder the model's folder, or null for a model made in code
     * @return the message
     */
    public static String noChatTemplate(Path folder) {
        return folder == null ? "this model has no chat template (it was made in code, not loaded from a folder)"
                : "the model in " + folder + " has no chat template: it needs a " + ChatTemplate.FILE + " with a chat_template field in that folder";
    }

    /**
     * A fresh session that has read nothing yet: it reads text with {@link Session#feed}, keeping the
     * model's state of the text (the KV caches of attention, the fast weights of TTT layers, the prime
     * weights and windows of TTT-E2E) so that it never reads anything twice.
     *
     * @return a new session of this model
     */
    public Session session() {
        return Session.open(this);
    }

    /**
     * A session continuing the state that {@link Session#save} wrote for this model.
     *
     * @param file a session state file
     * @return the session, which continues exactly as the saved one would have
     * @throws IOException when the file cannot be read or is not a safetensors file
     * @throws IllegalArgumentException naming the file and field when the state is damaged, of another
     *     kind, or was saved by a model with another config
     */
    public Session loadSession(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        return Session.load(this, file);
    }

    /** Every id must be one of the model's. */
    void checkIds(int[] ids) {
        int v = model.config().vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= v) throw new IllegalArgumentException("token " + i + " is id " + ids[i] + ", outside the vocabulary [0, " + v + ")");
        }
    }

    @Override
    public String toString() {
        return "LanguageModel[" + method() + ", " + model.params().count() + " parameters, tokenizer " + tokenizer.name()
                + (folder == null ? "" : ", " + folder) + "]";
    }
}
