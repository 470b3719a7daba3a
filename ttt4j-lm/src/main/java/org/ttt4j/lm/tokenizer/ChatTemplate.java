package org.ttt4j.lm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Hugging Face chat template: the Jinja template in a model's {@code tokenizer_config.json}
 * ({@code chat_template}) that turns a conversation into the prompt text the model was tuned on,
 * rendered as {@code transformers}' {@code apply_chat_template(messages, tokenize=False,
 * add_generation_prompt=...)} renders it.
 *
 * <p>The template sees the variables {@code transformers} passes: {@code messages} (maps with
 * {@code role} and {@code content}), {@code add_generation_prompt}, {@code bos_token},
 * {@code eos_token}, the functions {@code raise_exception(message)} (rendering fails with that
 * message) and {@code strftime_now(format)} (the clock's time in Python's strftime format), and any
 * extra variables given to {@link #render(List, boolean, Map)} (e.g. {@code date_string}). Blocks are
 * trimmed as in {@code transformers} ({@code trim_blocks}, {@code lstrip_blocks}; one trailing
 * newline of the template dropped). Jinja is rendered by jinjava; the Python string methods that
 * templates call on strings ({@code startswith}, {@code endswith}, {@code strip}, {@code lstrip},
 * {@code rstrip}, {@code split}, {@code upper}, {@code lower}, {@code replace}, {@code title},
 * {@code capitalize}, {@code find}, {@code count}) are bridged, and {@code tojson} writes JSON as
 * Python's {@code json.dumps(x, ensure_ascii=False)} does.
 *
 * <p>A template is immutable and may be rendered from several threads.
 */
public final class ChatTemplate {
    /** The file that holds the template, in a Hugging Face model folder. */
    public static final String FILE = "tokenizer_config.json";

    /**
     * One message of a conversation.
     *
     * @param role who speaks: {@code "system"}, {@code "user"} or {@code "assistant"} (templates may know others, e.g. {@code "tool"})
     * @param content the text
     */
    public record Message(String role, String content) {
        /** Both fields are required. */
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The clock of the render in progress on this thread, for {@code strftime_now}. */
    private static final ThreadLocal<Clock> RENDER_CLOCK = new ThreadLocal<>();

    private final String source;
    private final String template;
    private final String prepared;
    private final String bosToken;
    private final String eosToken;
    private final Clock clock;
    private final Jinjava jinjava;

    private ChatTemplate(String source, String template, String bosToken, String eosToken, Clock clock) {
        this.source = source;
        this.template = dropTrailingNewline(template);
        this.prepared = JinjaRewrites.rewrite(this.template);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.clock = clock;
        this.jinjava = engine();
    }

    /**
     * A template given as text, with the special tokens it may use.
     *
     * @param template the Jinja template
     * @param bosToken the text of {@code bos_token}, or null when the model has none
     * @param eosToken the text of {@code eos_token}, or null when the model has none
     * @return the template
     */
    public static ChatTemplate of(String template, String bosToken, String eosToken) {
        return new ChatTemplate("template", Objects.requireNonNull(template, "template"), bosToken, eosToken, Clock.systemDefaultZone());
    }

    /**
     * Reads the chat template of a {@code tokenizer_config.json}: field {@code chat_template}, either
     * a string or a list of {@code {"name", "template"}} objects, of which the one named
     * {@code "default"} is taken; {@code bos_token} and {@code eos_token} are strings or objects
     * with a {@code content} string.
     *
     * @param tokenizerConfigJson the file
     * @return the template
     * @throws IOException when the file cannot be read or is not JSON
     * @throws IllegalArgumentException naming the file and field when it has no usable chat template
     */
    public static ChatTemplate load(Path tokenizerConfigJson) throws IOException {
        JsonNode root = readConfig(tokenizerConfigJson);
        JsonNode field = root.get("chat_template");
        if (field == null || field.isNull()) {
            throw new IllegalArgumentException(tokenizerConfigJson + ": no chat_template field (the model has no chat template)");
        }
        return fromConfig(tokenizerConfigJson, root);
    }

    /**
     * The chat template of a model folder: its {@code tokenizer_config.json}, when that file exists
     * and has a {@code chat_template}.
     *
     * @param modelFolder the model's folder
     * @return the template, or empty when the folder has no such file or the file no template
     * @throws IOException when the file exists but cannot be read or is not JSON
     * @throws IllegalArgumentException naming the file and field when the template field is malformed
     */
    public static Optional<ChatTemplate> find(Path modelFolder) throws IOException {
        Path file = Objects.requireNonNull(modelFolder, "modelFolder").resolve(FILE);
        if (!Files.isRegularFile(file)) return Optional.empty();
        JsonNode root = readConfig(file);
        JsonNode field = root.get("chat_template");
        if (field == null || field.isNull()) return Optional.empty();
        return Optional.of(fromConfig(file, root));
    }

    private static JsonNode readConfig(Path file) throws IOException {
        Objects.requireNonNull(file, "tokenizerConfigJson");
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new IOException(file + ": not a JSON object");
        return root;
    }

    private static ChatTemplate fromConfig(Path file, JsonNode root) {
        JsonNode field = root.get("chat_template");
        String text;
        if (field.isTextual()) {
            text = field.asText();
        } else if (field.isArray()) {
            text = null;
            List<String> names = new ArrayList<>();
            for (JsonNode t : field) {
                JsonNode name = t.get("name");
                JsonNode body = t.get("template");
                if (name == null || !name.isTextual() || body == null || !body.isTextual()) {
                    throw new IllegalArgumentException(file + ": chat_template: every entry of the list needs a string \"name\" and \"template\"");
                }
                names.add(name.asText());
                if (name.asText().equals("default")) text = body.asText();
            }
            if (text == null) throw new IllegalArgumentException(file + ": chat_template: no template named \"default\" among " + names);
        } else {
            throw new IllegalArgumentException(file + ": chat_template must be a string or a list of named templates, not " + field.getNodeType());
        }
        return new ChatTemplate(file.toString(), text, token(file, root, "bos_token"), token(file, root, "eos_token"), Clock.systemDefaultZone());
    }

    /** A special token's text: a string, an object with a {@code content} string, or absent/null. */
    private static String token(Path file, JsonNode root, String name) {
        JsonNode t = root.get(name);
        if (t == null || t.isNull()) return null;
        if (t.isTextual()) return t.asText();
        if (t.isObject() && t.get("content") != null && t.get("content").isTextual()) return t.get("content").asText();
        throw new IllegalArgumentException(file + ": " + name + " must be a string or an object with a \"content\" string");
    }

    /**
     * This template reading the time for {@code strftime_now} from {@code clock} (for reproducible prompts and tests).
     *
     * @param clock the clock, with its time zone
     * @return a template like this one with that clock
     */
    public ChatTemplate withClock(Clock clock) {
        return new ChatTemplate(source, template, bosToken, eosToken, Objects.requireNonNull(clock, "clock"));
    }

    /**
     * The template's Jinja text (without the one trailing newline Jinja drops).
     *
     * @return the text
     */
    public String template() {
        return template;
    }

    /**
     * The text of {@code bos_token}.
     *
     * @return the text, or empty when the config names none
     */
    public Optional<String> bosToken() {
        return Optional.ofNullable(bosToken);
    }

    /**
     * The text of {@code eos_token}.
     *
     * @return the text, or empty when the config names none
     */
    public Optional<String> eosToken() {
        return Optional.ofNullable(eosToken);
    }

    /**
     * Renders a conversation to prompt text.
     *
     * @param messages the conversation, oldest first
     * @param addGenerationPrompt whether to end with the header of the assistant's next turn, so
     *     that the model writes its reply
     * @return the text
     * @throws IllegalArgumentException when the template refuses the conversation ({@code raise_exception})
     *     or cannot be rendered, with the template's message and the file it came from
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Renders a conversation with extra template variables, as {@code apply_chat_template}'s keyword
     * arguments (e.g. {@code date_string}, {@code enable_thinking}).
     *
     * @param messages the conversation, oldest first
     * @param addGenerationPrompt whether to end with the header of the assistant's next turn
     * @param variables extra variables; they override the standard ones
     * @return the text
     * @throws IllegalArgumentException when the template refuses the conversation or cannot be rendered
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(variables, "variables");
        List<Map<String, Object>> ms = new ArrayList<>(messages.size());
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            ms.add(map);
        }
        Map<String, Object> bindings = new LinkedHashMap<>();
        bindings.put("messages", ms);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        if (bosToken != null) bindings.put("bos_token", bosToken);
        if (eosToken != null) bindings.put("eos_token", eosToken);
        bindings.putAll(variables);
        RenderResult result;
        RENDER_CLOCK.set(clock);
        try {
            result = jinjava.renderForResult(prepared, bindings);
        } catch (TemplateRaised e) {
            throw new IllegalArgumentException(source + ": chat_template: " + e.getMessage(), e);
        } finally {
            RENDER_CLOCK.remove();
        }
        for (TemplateError e : result.getErrors()) {
            TemplateRaised raised = raised(e.getException());
            if (raised != null) throw new IllegalArgumentException(source + ": chat_template: " + raised.getMessage(), raised);
        }
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException(source + ": chat_template cannot be rendered (line " + e.getLineno() + "): " + e.getMessage(),
                        e.getException());
            }
        }
        return result.getOutput();
    }

    private static TemplateRaised raised(Throwable t) {
        for (int depth = 0; t != null && depth < 20; t = t.getCause(), depth++) {
            if (t instanceof TemplateRaised r) return r;
        }
        return null;
    }

    /**
     * The ids of a rendered prompt, encoded by the model's own tokenizer. A tokenizer that adds a
     * beginning-of-sequence token to every text (what it gives for the empty text) would add a
     * second one to a prompt whose template already starts with {@code bos_token}: that added one
     * is dropped, as {@code apply_chat_template(tokenize=True)} encodes without added special tokens.
     *
     * @param tokenizer the model's tokenizer
     * @param prompt text rendered by this template
     * @return the ids
     */
    public int[] encode(Tokenizer tokenizer, String prompt) {
        // A Hugging Face tokenizer encodes the rendered prompt without its added special tokens, as
        // transformers does: the template writes the ones it wants.
        if (tokenizer instanceof HfTokenizer hf) return hf.encode(prompt, false);
        int[] ids = tokenizer.encode(prompt);
        if (bosToken == null || bosToken.isEmpty() || !prompt.startsWith(bosToken)) return ids;
        int[] added = tokenizer.encode("");
        int n = added.length;
        if (n == 0 || ids.length < 2 * n) return ids;
        for (int i = 0; i < n; i++) {
            if (ids[i] != added[i] || ids[n + i] != added[i]) return ids;
        }
        return java.util.Arrays.copyOfRange(ids, n, ids.length);
    }

    @Override
    public String toString() {
        return "ChatTemplate[" + source + "]";
    }

    /** Jinja drops one newline at the very end of a template (keep_trailing_newline is off in transformers). */
    private static String dropTrailingNewline(String t) {
        if (t.endsWith("\r\n")) return t.substring(0, t.length() - 2);
        if (t.endsWith("\n") || t.endsWith("\r")) return t.substring(0, t.length() - 1);
        return t;
    }

    private static Jinjava engine() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PyStrings());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(false) // done by JinjaRewrites, as Jinja does it
                .withElResolver(resolver)
                .withLegacyOverrides(com.hubspot.jinjava.LegacyOverrides.newBuilder().withUseNaturalOperatorPrecedence(true).withUseTrimmingForNotesAndExpressions(true).withUsePyishObjectMapper(true).build())
                .build();
        Jinjava j = new Jinjava(config);
        try {
            j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                    ChatTemplate.class.getDeclaredMethod("raiseException", Object.class)));
            j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                    ChatTemplate.class.getDeclaredMethod("strftimeNow", String.class)));
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
        j.getGlobalContext().registerFilter(new ToJson());
        j.getGlobalContext().registerFilter(new Trim());
        for (String name : List.of("length", "count")) {
            j.getGlobalContext().registerFilter(new Length(name, j.getGlobalContext().getFilter(name)));
        }
        return j;
    }

    /** {@code raise_exception(message)}: the template refuses the input. */
    public static Object raiseException(Object message) {
        throw new TemplateRaised(String.valueOf(message));
    }

    /** {@code strftime_now(format)}: the render's clock in Python's strftime format. */
    public static String strftimeNow(String format) {
        Clock c = RENDER_CLOCK.get();
        return Strftime.format(ZonedDateTime.now(c == null ? Clock.systemDefaultZone() : c), format);
    }

    /** The exception {@code raise_exception} throws through the engine. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message);
        }
    }

    /** {@code length} and {@code count} of a string in characters (code points) as in Python, not UTF-16 units; others as jinjava. */
    record Length(String getName, Filter jinjava) implements Filter {
        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var instanceof CharSequence s) return (long) s.toString().codePointCount(0, s.length());
            return jinjava.filter(var, interpreter, args);
        }
    }

    /** {@code trim}, as Jinja's: Python's {@code str.strip} (Unicode whitespace, or the given characters). */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) return null;
            return PyStrings.strip(var.toString(), args.length > 0 ? args[0] : null, true, true);
        }
    }

    /** {@code tojson}, as Python's {@code json.dumps(x, ensure_ascii=False, indent=...)}. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            Integer indent = args.length > 0 && args[0] != null ? Integer.valueOf(args[0]) : null;
            return PyJson.dumps(var, indent);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            return PyJson.dumps(var, indent == null ? null : Integer.valueOf(((Number) (indent instanceof String s ? Integer.valueOf(s) : indent)).intValue()));
        }
    }
}
