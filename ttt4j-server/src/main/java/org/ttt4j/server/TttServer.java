package org.ttt4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.logging.Logger;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.tokenizer.ChatTemplate;

/**
 * An OpenAI-compatible HTTP server over one model, whose sessions keep what they learned: a
 * request may name a session, and the session's state (KV cache, fast weights, TTT-E2E's prime
 * MLPs) continues from where the last request left it, saved to the state folder after every
 * request. See docs/serving.md for the endpoints and the session model.
 *
 * <pre>{@code
 * try (var server = TttServer.builder().model(LanguageModel.demo()).stateDir(dir).port(0).build().start()) {
 *     int port = server.port();
 *     ...
 * }
 * }</pre>
 */
public final class TttServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TttServer.class.getName());
    private static final HeaderName SESSION_HEADER = HeaderNames.create("X-Session-Id");
    private static final HeaderName CONTENT_TYPE = HeaderNames.CONTENT_TYPE;
    private static final String JSON = "application/json";
    /** Stop strings per request, as OpenAI allows. */
    private static final int MAX_STOPS = 4;

    private final Builder config;
    private final LanguageModel model;
    private final String modelId;
    private final Metrics metrics = new Metrics();
    private final SecureRandom random = new SecureRandom();
    private final long created = System.currentTimeMillis() / 1000;
    private SessionStore store;
    private Engine engine;
    private WebServer server;

    private TttServer(Builder b) {
        this.config = b;
        this.model = Objects.requireNonNull(b.model, "model");
        this.modelId = b.modelId != null ? b.modelId
                : model.folder() != null ? model.folder().toAbsolutePath().normalize().getFileName().toString() : "ttt4j";
    }

    /**
     * A builder with the defaults: 127.0.0.1, port 8080, state folder {@code ttt4j-sessions}, 16
     * sessions in memory, at most 4,096 tokens per request, no API key.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** The server's settings. */
    public static final class Builder {
        private LanguageModel model;
        private String modelId;
        private String host = "127.0.0.1";
        private int port = 8080;
        private Path stateDir = Path.of("ttt4j-sessions");
        private String apiKey;
        private int maxSessionsInMemory = 16;
        private int maxTokens = 4096;
        private long maxBodyBytes = 16L << 20;
        private long maxStateBytes = 8L << 30;

        private Builder() {}

        /** @param m the model served @return this */
        public Builder model(LanguageModel m) { this.model = m; return this; }

        /** @param id the name clients give as {@code model} (default: the model folder's name) @return this */
        public Builder modelId(String id) { this.modelId = id; return this; }

        /** @param h the address to listen on (default 127.0.0.1) @return this */
        public Builder host(String h) { this.host = Objects.requireNonNull(h); return this; }

        /** @param p the port, 0 for any free one (default 8080) @return this */
        public Builder port(int p) {
            if (p < 0 || p > 65535) throw new IllegalArgumentException("port must be in [0, 65535], got " + p);
            this.port = p;
            return this;
        }

        /** @param d where sessions are kept, one state file each (default ./ttt4j-sessions) @return this */
        public Builder stateDir(Path d) { this.stateDir = Objects.requireNonNull(d); return this; }

        /** @param key the bearer token every /v1 request must carry; null for none @return this */
        public Builder apiKey(String key) {
            if (key != null && key.isBlank()) throw new IllegalArgumentException("the API key must not be blank");
            this.apiKey = key;
            return this;
        }

        /** @param n sessions held in memory at most; the others stay on disk @return this */
        public Builder maxSessionsInMemory(int n) {
            if (n < 1) throw new IllegalArgumentException("max sessions in memory must be >= 1, got " + n);
            this.maxSessionsInMemory = n;
            return this;
        }

        /** @param n the largest {@code max_tokens} a request may ask for @return this */
        public Builder maxTokens(int n) {
            if (n < 1) throw new IllegalArgumentException("max tokens must be >= 1, got " + n);
            this.maxTokens = n;
            return this;
        }

        /** @param n the largest JSON request body, in bytes @return this */
        public Builder maxBodyBytes(long n) {
            if (n < 1024) throw new IllegalArgumentException("max body bytes must be >= 1024, got " + n);
            this.maxBodyBytes = n;
            return this;
        }

        /** @return a server, not yet started */
        public TttServer build() {
            return new TttServer(this);
        }
    }

    /**
     * Opens the state folder (refused if another server holds it) and starts listening.
     *
     * @return this server
     * @throws IOException when the state folder cannot be used
     */
    public TttServer start() throws IOException {
        store = new SessionStore(model, config.stateDir, config.maxSessionsInMemory);
        engine = new Engine(model, store, metrics);
        metrics.gauge("ttt4j_sessions_in_memory", store::inMemory);
        metrics.gauge("ttt4j_sessions_on_disk", store::onDisk);
        metrics.gauge("ttt4j_jobs", engine::load);
        try {
            server = WebServer.builder()
                    .host(config.host)
                    .port(config.port)
                    .maxPayloadSize(Math.max(config.maxBodyBytes, config.maxStateBytes))
                    // Streamed tokens are small writes: without TCP_NODELAY, Nagle's algorithm holds each one for the client's delayed ACK.
                    .connectionOptions(o -> o.tcpNoDelay(true))
                    .routing(this::routes)
                    .build()
                    .start();
        } catch (RuntimeException e) {
            engine.close();
            store.close();
            throw e;
        }
        LOG.info(() -> "serving " + modelId + " (" + model.method() + ") on http://" + config.host + ":" + server.port()
                + ", sessions in " + config.stateDir.toAbsolutePath());
        return this;
    }

    /**
     * The port listened on (the chosen one when 0 was asked for).
     *
     * @return the port
     */
    public int port() {
        return server.port();
    }

    /**
     * The name clients give as {@code model}.
     *
     * @return the model id
     */
    public String modelId() {
        return modelId;
    }

    /** Stops listening, ends the engine (running requests fail with 503) and releases the state folder. */
    @Override
    public void close() throws IOException {
        if (server != null) server.stop();
        if (engine != null) engine.close();
        if (store != null) store.close();
    }

    // ---- routing ---------------------------------------------------------------------------

    private void routes(HttpRouting.Builder r) {
        r.addFilter(this::authorize)
                .get("/health", route("health", (req, res) -> json(res, 200, Json.MAPPER.createObjectNode().put("status", "ok")
                        .put("model", modelId).put("method", model.method()))))
                .get("/metrics", route("metrics", (req, res) -> {
                    res.header(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                    res.send(metrics.prometheus().getBytes(StandardCharsets.UTF_8));
                }))
                .get("/v1/models", route("models", (req, res) -> {
                    ObjectNode o = Json.MAPPER.createObjectNode().put("object", "list");
                    o.putArray("data").add(modelObject());
                    json(res, 200, o);
                }))
                .get("/v1/models/{id}", route("models", (req, res) -> {
                    String id = req.path().pathParameters().get("id");
                    if (!id.equals(modelId)) throw new ApiException(404, "invalid_request_error", "model", "no model \"" + Json.clip(id) + "\"; this server serves \"" + modelId + "\"");
                    json(res, 200, modelObject());
                }))
                .post("/v1/completions", route("completions", (req, res) -> generate(req, res, false)))
                .post("/v1/chat/completions", route("chat", (req, res) -> generate(req, res, true)))
                .post("/v1/sessions", route("sessions", this::createSession))
                .get("/v1/sessions", route("sessions", (req, res) -> {
                    ObjectNode o = Json.MAPPER.createObjectNode().put("object", "list");
                    ArrayNode data = o.putArray("data");
                    for (var s : store.list()) data.add(sessionObject(s));
                    json(res, 200, o);
                }))
                .get("/v1/sessions/{id}", route("sessions", (req, res) -> json(res, 200, sessionObject(store.info(pathId(req))))))
                .delete("/v1/sessions/{id}", route("sessions", (req, res) -> {
                    String id = pathId(req);
                    await(engine.run(Set.of(id), () -> {
                        store.delete(id);
                        return null;
                    }));
                    json(res, 200, Json.MAPPER.createObjectNode().put("id", id).put("object", "session").put("deleted", true));
                }))
                .post("/v1/sessions/{id}/fork", route("sessions", this::forkSession))
                .get("/v1/sessions/{id}/state", route("state", this::exportState))
                .put("/v1/sessions/{id}/state", route("state", this::importState))
                .any(route("unknown", (req, res) -> {
                    throw new ApiException(404, "invalid_request_error", null, "no route " + req.prologue().method().text() + " " + req.path().path());
                }));
    }

    /** With an API key, every /v1 request must carry it as a bearer token. */
    private void authorize(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        if (config.apiKey != null && req.path().path().startsWith("/v1")) {
            String given = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
            byte[] want = ("Bearer " + config.apiKey).getBytes(StandardCharsets.UTF_8);
            if (!MessageDigest.isEqual(want, given.getBytes(StandardCharsets.UTF_8))) {
                metrics.request("unauthorized", 401);
                error(res, new ApiException(401, "invalid_request_error", null,
                        given.isEmpty() ? "missing API key: send the header 'Authorization: Bearer KEY'" : "incorrect API key"));
                return;
            }
        }
        chain.proceed();
    }

    /** A body that answers errors in OpenAI's shape and counts the request. */
    private interface Body {
        void handle(ServerRequest req, ServerResponse res) throws Exception;
    }

    private Handler route(String name, Body body) {
        return (req, res) -> {
            try {
                body.handle(req, res);
            } catch (Throwable t) {
                Throwable e = t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
                ApiException api = e instanceof ApiException a ? a
                        : e instanceof IllegalArgumentException ? ApiException.badRequest(null, e.getMessage())
                        : new ApiException(500, "server_error", null, "internal error: " + e);
                if (api.status() >= 500) LOG.log(java.util.logging.Level.WARNING, "request failed", e);
                if (!res.isSent()) error(res, api);
            }
            metrics.request(name, res.status().code());
        };
    }

    private static void error(ServerResponse res, ApiException e) {
        ObjectNode err = Json.MAPPER.createObjectNode();
        ObjectNode inner = err.putObject("error");
        inner.put("message", e.getMessage()).put("type", e.type());
        if (e.param() != null) inner.put("param", e.param()); else inner.putNull("param");
        inner.putNull("code");
        json(res, e.status(), err);
    }

    private static void json(ServerResponse res, int status, JsonNode body) {
        res.status(status);
        res.header(CONTENT_TYPE, JSON);
        res.send(Json.bytes(body));
    }

    private ObjectNode modelObject() {
        return Json.MAPPER.createObjectNode().put("id", modelId).put("object", "model").put("created", created).put("owned_by", "ttt4j")
                .put("method", model.method());
    }

    private static String pathId(ServerRequest req) {
        return SessionStore.checkId(req.path().pathParameters().get("id"), "id");
    }

    private byte[] body(ServerRequest req) throws IOException {
        try (InputStream in = req.content().inputStream()) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, config.maxBodyBytes + 1));
            if (b.length > config.maxBodyBytes) {
                throw new ApiException(413, "invalid_request_error", null, "the request body is larger than " + config.maxBodyBytes + " bytes");
            }
            return b;
        }
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> f) throws Exception {
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
    }

    // ---- completions -----------------------------------------------------------------------

    /** Events from the engine to the request's thread: text pieces (when streaming), then a Result or the error. */
    private static final class Events implements Engine.Listener {
        private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        private final boolean streaming;

        Events(boolean streaming) {
            this.streaming = streaming;
        }

        @Override public void text(String piece) { if (streaming) queue.add(piece); }

        @Override public void done(Engine.Result result) { queue.add(result); }

        @Override public void failed(Throwable error) { queue.add(error); }

        /** The next piece of text or the Result; the job's error is thrown. */
        Object take() throws Exception {
            Object e = queue.take();
            if (e instanceof Throwable t) throw t instanceof Exception ex ? ex : new RuntimeException(t);
            return e;
        }

        /** The job's Result, once it ended (for a listener that is not streaming). */
        Engine.Result result() throws Exception {
            return (Engine.Result) take();
        }
    }

    private void generate(ServerRequest req, ServerResponse res, boolean chat) throws Exception {
        ObjectNode body = Json.object(body(req));
        String asked = Json.string(body, "model", modelId);
        if (!asked.equals(modelId)) {
            throw new ApiException(404, "invalid_request_error", "model", "no model \"" + Json.clip(asked) + "\"; this server serves \"" + modelId + "\"");
        }
        Json.integer(body, "n", 1, 1, 1); // one choice per request
        refuse(body, "logprobs", "top_logprobs", "echo", "suffix", "tools", "functions", "logit_bias");
        if (Json.number(body, "presence_penalty", 0, -2, 2) != 0 || Json.number(body, "frequency_penalty", 0, -2, 2) != 0) {
            throw ApiException.badRequest("presence_penalty", "presence_penalty and frequency_penalty are not supported; use repetition_penalty (>= 1)");
        }
        int defaultMax = chat ? Math.min(512, config.maxTokens) : 16;
        long maxTokens = Json.integer(body, "max_tokens", -1, 0, config.maxTokens);
        if (maxTokens < 0) maxTokens = Json.integer(body, "max_completion_tokens", defaultMax, 0, config.maxTokens);
        double temperature = Json.number(body, "temperature", 1, 0, 2);
        double topP = Json.number(body, "top_p", 1, Double.MIN_VALUE, 1);
        int topK = (int) Json.integer(body, "top_k", 0, 0, Integer.MAX_VALUE);
        double repetition = Json.number(body, "repetition_penalty", 1, 1, 100);
        long seed = Json.integer(body, "seed", random.nextLong(), Long.MIN_VALUE, Long.MAX_VALUE);
        List<String> stop = Json.strings(body, "stop", MAX_STOPS);
        boolean stream = Json.bool(body, "stream", false);
        boolean usageInStream = false;
        JsonNode so = Json.field(body, "stream_options");
        if (so != null) {
            if (!so.isObject()) throw ApiException.badRequest("stream_options", "field 'stream_options' must be an object, got " + Json.kind(so));
            usageInStream = Json.bool((ObjectNode) so, "include_usage", false);
        }
        String session = sessionOf(req, body);
        QtttOptions qttt = qttt(body, seed);
        if (qttt != null && session != null) {
            throw ApiException.badRequest("qttt", "qTTT adapts the queries to one request's prompt over a frozen cache: it does not combine with a session");
        }
        int[] prompt = chat ? chatPrompt(body) : completionPrompt(body);
        var options = new SamplingOptions(temperature, topK, topP, repetition, seed, (int) maxTokens, stop);
        var events = new Events(stream);
        var job = new Engine.Job(session, false, prompt, options, qttt, events);
        engine.submit(job);
        String id = (chat ? "chatcmpl-" : "cmpl-") + Long.toHexString(random.nextLong() & Long.MAX_VALUE);
        long now = System.currentTimeMillis() / 1000;
        if (session != null) res.header(SESSION_HEADER, session);
        if (!stream) {
            var r = events.result();
            ObjectNode o = head(id, chat ? "chat.completion" : "text_completion", now);
            ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
            if (chat) {
                choice.putObject("message").put("role", "assistant").put("content", r.text()).putNull("refusal");
            } else {
                choice.put("text", r.text());
            }
            choice.putNull("logprobs").put("finish_reason", r.finishReason());
            usage(o.putObject("usage"), r);
            extras(o, r);
            json(res, 200, o);
            return;
        }
        stream(res, events, job, id, now, chat, usageInStream);
    }

    /** Server-sent events in OpenAI's chunk format; a client that goes away cancels the job. */
    private void stream(ServerResponse res, Events events, Engine.Job job, String id, long now, boolean chat, boolean usage) throws Exception {
        Object e = events.take(); // an error before the first event still gets its status
        res.status(200);
        res.header(CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        String object = chat ? "chat.completion.chunk" : "text_completion";
        try (OutputStream out = res.outputStream()) {
            if (chat) {
                ObjectNode c = head(id, object, now);
                ObjectNode ch = choice(c, chat, null);
                ((ObjectNode) ch.get("delta")).put("role", "assistant").put("content", "");
                event(out, c);
            }
            while (true) {
                ObjectNode c = head(id, object, now);
                if (e instanceof String piece) {
                    ObjectNode ch = choice(c, chat, null);
                    if (chat) ((ObjectNode) ch.get("delta")).put("content", piece); else ch.put("text", piece);
                    event(out, c);
                } else {
                    var r = (Engine.Result) e;
                    ObjectNode ch = choice(c, chat, r.finishReason());
                    if (!chat) ch.put("text", "");
                    extras(c, r);
                    event(out, c);
                    if (usage) {
                        ObjectNode u = head(id, object, now);
                        u.putArray("choices");
                        usage(u.putObject("usage"), r);
                        event(out, u);
                    }
                    break;
                }
                try {
                    e = events.take();
                } catch (Exception failed) {
                    ApiException api = failed instanceof ApiException a ? a : new ApiException(500, "server_error", null, "internal error: " + failed);
                    ObjectNode err = Json.MAPPER.createObjectNode();
                    err.putObject("error").put("message", api.getMessage()).put("type", api.type());
                    event(out, err);
                    break;
                }
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException | RuntimeException gone) {
            job.cancel(); // the client went away (a failed write): the session stays as it was
        }
    }

    /** A chunk's one choice, with an empty delta for chat, its logprobs and finish_reason (null while running). */
    private static ObjectNode choice(ObjectNode chunk, boolean chat, String finishReason) {
        ObjectNode ch = chunk.putArray("choices").addObject().put("index", 0);
        if (chat) ch.putObject("delta");
        ch.putNull("logprobs");
        if (finishReason == null) ch.putNull("finish_reason"); else ch.put("finish_reason", finishReason);
        return ch;
    }

    private static void event(OutputStream out, JsonNode chunk) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.UTF_8));
        out.write(Json.bytes(chunk));
        out.write("\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private ObjectNode head(String id, String object, long now) {
        return Json.MAPPER.createObjectNode().put("id", id).put("object", object).put("created", now).put("model", modelId)
                .putNull("system_fingerprint");
    }

    private static void usage(ObjectNode u, Engine.Result r) {
        u.put("prompt_tokens", r.promptTokens()).put("completion_tokens", r.completionTokens())
                .put("total_tokens", r.promptTokens() + r.completionTokens());
    }

    /** ttt4j's own fields beside OpenAI's: the session and where it stands. */
    private static void extras(ObjectNode o, Engine.Result r) {
        if (r.session() != null) o.put("session", r.session()).put("session_position", r.position());
        o.put("stop_reason", r.stopReason());
    }

    private static void refuse(ObjectNode body, String... names) {
        for (String n : names) {
            JsonNode v = Json.field(body, n);
            if (v != null && !(v.isBoolean() && !v.booleanValue()) && !(v.isArray() && v.isEmpty()) && !(v.isNumber() && v.asDouble() == 0)
                    && !(v.isObject() && v.isEmpty())) {
                throw ApiException.badRequest(n, "field '" + n + "' is not supported by this server");
            }
        }
    }

    /** The session a request names ({@code "session"} or the X-Session-Id header), or null. */
    private String sessionOf(ServerRequest req, ObjectNode body) {
        String field = Json.string(body, "session", null);
        String header = req.headers().first(SESSION_HEADER).orElse(null);
        if (field != null && header != null && !field.equals(header)) {
            throw ApiException.badRequest("session", "the body names session \"" + Json.clip(field) + "\" but the X-Session-Id header \"" + Json.clip(header) + "\"");
        }
        String id = field != null ? field : header;
        return id == null ? null : SessionStore.checkId(id, "session");
    }

    /** {@code "qttt": true} or {@code {"steps", "span", "lr"}}: adapt the queries to the prompt first. */
    private static QtttOptions qttt(ObjectNode body, long seed) {
        JsonNode v = Json.field(body, "qttt");
        if (v == null || v.isBoolean() && !v.booleanValue()) return null;
        var d = QtttOptions.defaults();
        if (v.isBoolean()) return new QtttOptions(d.steps(), d.span(), d.lr(), d.weightDecay(), d.clip(), seed).validate();
        if (!v.isObject()) throw ApiException.badRequest("qttt", "field 'qttt' must be true or an object {steps, span, lr}, got " + Json.kind(v));
        ObjectNode o = (ObjectNode) v;
        return new QtttOptions((int) Json.integer(o, "steps", d.steps(), 1, 10_000), (int) Json.integer(o, "span", d.span(), 1, 1 << 20),
                Json.number(o, "lr", d.lr(), Double.MIN_VALUE, 1), d.weightDecay(), d.clip(), seed).validate();
    }

    private int[] completionPrompt(ObjectNode body) {
        JsonNode p = Json.field(body, "prompt");
        if (p == null) return new int[0];
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) p = p.get(0);
        if (!p.isTextual()) throw ApiException.badRequest("prompt", "field 'prompt' must be a string (one prompt per request), got " + Json.kind(p));
        return model.encode(p.textValue());
    }

    private int[] chatPrompt(ObjectNode body) {
        JsonNode ms = Json.field(body, "messages");
        if (ms == null || !ms.isArray() || ms.isEmpty()) throw ApiException.badRequest("messages", "field 'messages' must be a non-empty array of {role, content}");
        List<ChatTemplate.Message> messages = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) {
            String at = "messages[" + i + "]";
            if (!ms.get(i).isObject()) throw ApiException.badRequest(at, at + " must be an object {role, content}");
            ObjectNode m = (ObjectNode) ms.get(i);
            String role = Json.string(m, "role", null);
            if (role == null || !Set.of("system", "developer", "user", "assistant").contains(role)) {
                throw ApiException.badRequest(at + ".role", at + ".role must be system, developer, user or assistant, got " + (role == null ? "nothing" : "\"" + Json.clip(role) + "\""));
            }
            messages.add(new ChatTemplate.Message(role.equals("developer") ? "system" : role, content(m.get("content"), at + ".content")));
        }
        var template = model.chatTemplate();
        if (template.isPresent()) return template.get().encode(model.tokenizer(), template.get().render(messages, true));
        // No chat template in the model folder: a plain transcript the model continues after "assistant:".
        StringBuilder sb = new StringBuilder();
        for (var m : messages) sb.append(m.role()).append(": ").append(m.content()).append("\n\n");
        return model.encode(sb.append("assistant:").toString());
    }

    private static String content(JsonNode c, String at) {
        if (c == null || c.isNull()) return "";
        if (c.isTextual()) return c.textValue();
        if (!c.isArray()) throw ApiException.badRequest(at, at + " must be a string or an array of text parts, got " + Json.kind(c));
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : c) {
            if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                throw ApiException.badRequest(at, at + " parts must be {\"type\": \"text\", \"text\": ...}; other kinds are not supported");
            }
            sb.append(part.get("text").textValue());
        }
        return sb.toString();
    }

    // ---- sessions --------------------------------------------------------------------------

    private ObjectNode sessionObject(SessionStore.Info s) {
        ObjectNode o = Json.MAPPER.createObjectNode().put("id", s.id()).put("object", "session").put("model", modelId)
                .put("method", model.method()).put("position", s.position()).put("file_bytes", s.fileBytes()).put("in_memory", s.inMemory());
        if (s.stateBytes() >= 0) o.put("state_bytes", s.stateBytes());
        return o;
    }

    /** {@code POST /v1/sessions}: a new session, optionally reading {@code document} first. */
    private void createSession(ServerRequest req, ServerResponse res) throws Exception {
        byte[] raw = body(req);
        ObjectNode body = raw.length == 0 ? Json.MAPPER.createObjectNode() : Json.object(raw);
        String id = Json.string(body, "id", null);
        id = id == null ? store.newId() : SessionStore.checkId(id, "id");
        String document = Json.string(body, "document", "");
        var events = new Events(false);
        engine.submit(new Engine.Job(id, true, model.encode(document), null, null, events));
        events.result();
        json(res, 201, sessionObject(store.info(id)));
    }

    /** {@code POST /v1/sessions/{id}/fork}: a copy of the session under a new id, which then diverges. */
    private void forkSession(ServerRequest req, ServerResponse res) throws Exception {
        String from = pathId(req);
        byte[] raw = body(req);
        ObjectNode body = raw.length == 0 ? Json.MAPPER.createObjectNode() : Json.object(raw);
        String given = Json.string(body, "id", null);
        String to = given == null ? store.newId() : SessionStore.checkId(given, "id");
        if (to.equals(from)) throw new ApiException(409, "invalid_request_error", "id", "session \"" + to + "\" exists: it is the one forked");
        await(engine.run(Set.of(from, to), () -> {
            if (store.exists(to)) throw new ApiException(409, "invalid_request_error", "id", "session \"" + to + "\" exists");
            var source = store.acquire(from);
            try {
                store.put(to, source.fork(), false);
            } finally {
                store.release(from);
            }
            return null;
        }));
        json(res, 201, sessionObject(store.info(to)));
    }

    /** {@code GET /v1/sessions/{id}/state}: the state file as saved after the session's last request. */
    private void exportState(ServerRequest req, ServerResponse res) throws Exception {
        String id = pathId(req);
        // Opened in order with the session's requests; an open file is unaffected by a later atomic replace.
        FileChannel ch = await(engine.run(Set.of(id), () -> {
            if (!store.exists(id)) throw ApiException.notFound("session", "no session \"" + id + "\"");
            return FileChannel.open(store.file(id), StandardOpenOption.READ);
        }));
        try (ch; InputStream in = Channels.newInputStream(ch)) {
            res.header(CONTENT_TYPE, "application/octet-stream");
            res.header(HeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"" + id + ".safetensors\"");
            res.contentLength(ch.size());
            try (OutputStream out = res.outputStream()) {
                in.transferTo(out);
            }
        }
    }

    /** {@code PUT /v1/sessions/{id}/state}: replaces (or creates) the session from a state file, validated by loading it. */
    private void importState(ServerRequest req, ServerResponse res) throws Exception {
        String id = pathId(req);
        Path tmp = Files.createTempFile(store.dir(), ".import-", ".part");
        try {
            long n;
            try (InputStream in = req.content().inputStream(); OutputStream out = Files.newOutputStream(tmp)) {
                n = in.transferTo(out);
            }
            if (n == 0) throw ApiException.badRequest(null, "the request body is empty; expected a state file (safetensors)");
            boolean existed = await(engine.run(Set.of(id), () -> {
                org.ttt4j.lm.api.Session loaded;
                try {
                    loaded = model.loadSession(tmp);
                } catch (IOException | IllegalArgumentException | IllegalStateException e) {
                    throw ApiException.badRequest(null, "the uploaded state does not fit this model: "
                            + String.valueOf(e.getMessage()).replace(tmp.toString(), "the uploaded state"));
                }
                boolean was = store.exists(id);
                store.put(id, loaded, false);
                return was;
            }));
            json(res, existed ? 200 : 201, sessionObject(store.info(id)));
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
