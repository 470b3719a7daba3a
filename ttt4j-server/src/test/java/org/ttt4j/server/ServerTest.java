package org.ttt4j.server;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.api.Session;
import org.ttt4j.lm.infer.Generator;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.methods.qttt.QtttOptions;

/**
 * The server against the library: what a request produces is what {@link Session#generate}
 * produces on the same state, across requests, restarts, forks, exported states and concurrent
 * clients; bad requests get OpenAI-shaped errors naming the field.
 */
class ServerTest {
    @TempDir Path dir;

    private static TttServer start(LanguageModel lm, Path state, String key, int inMemory) throws Exception {
        return TttServer.builder().model(lm).modelId("tiny").port(0).stateDir(state).apiKey(key).maxSessionsInMemory(inMemory)
                .maxTokens(512).maxBodyBytes(64 << 10).build().start();
    }

    private static SamplingOptions greedy(int n) {
        return SamplingOptions.greedy(n);
    }

    private static String req(String prompt, int maxTokens, String session) {
        var o = Json.MAPPER.createObjectNode().put("model", "tiny").put("prompt", prompt).put("max_tokens", maxTokens).put("temperature", 0);
        if (session != null) o.put("session", session);
        return o.toString();
    }

    @Test
    void aCompletionIsTheLibrarysGeneration() throws Exception {
        LanguageModel lm = Models.of("e2e");
        try (var server = start(lm, dir, null, 4)) {
            var http = new Http(server.port());
            assertEquals(lm.session().generate("class A {", greedy(24), null).text(), http.complete(req("class A {", 24, null)));
            // Sampled, with a seed: the same draws.
            var sampled = new SamplingOptions(0.9, 0, 0.95, 1.0, 7, 24, List.of());
            var o = Json.MAPPER.createObjectNode().put("model", "tiny").put("prompt", "int x").put("max_tokens", 24)
                    .put("temperature", 0.9).put("top_p", 0.95).put("seed", 7);
            Http.Reply r = http.post("/v1/completions", o.toString());
            assertEquals(200, r.status(), r.body());
            assertEquals(lm.session().generate("int x", sampled, null).text(), r.json().at("/choices/0/text").asText());
            assertEquals(5, r.json().at("/usage/prompt_tokens").asInt());
            assertEquals(24, r.json().at("/usage/completion_tokens").asInt());
            assertEquals("length", r.json().at("/choices/0/finish_reason").asText());
            assertEquals("text_completion", r.json().path("object").asText());
        }
    }

    @Test
    void everyMethodsSessionContinuesAcrossRequestsAndARestart() throws Exception {
        for (String kind : Models.KINDS) {
            LanguageModel lm = Models.of(kind);
            Path state = dir.resolve(kind.replace(':', '_'));
            Session ref = lm.session().feed("/** A document the session reads once. */ class Doc { int a; }");
            long read = ref.position();
            String first = ref.generate(" int", greedy(12), null).text();
            String second = ref.generate("\n", greedy(12), null).text();
            String id;
            try (var server = start(lm, state, null, 4)) {
                var http = new Http(server.port());
                Http.Reply created = http.post("/v1/sessions", "{\"document\": \"/** A document the session reads once. */ class Doc { int a; }\"}");
                assertEquals(201, created.status(), kind + ": " + created.body());
                id = created.json().path("id").asText();
                assertEquals(read, created.json().path("position").asLong(), kind);
                assertEquals(first, http.complete(req(" int", 12, id)), kind);
            }
            try (var server = start(lm, state, null, 4)) { // a new process would see the same folder
                var http = new Http(server.port());
                Http.Reply r = http.post("/v1/completions", req("\n", 12, id));
                assertEquals(200, r.status(), kind + ": " + r.body());
                assertEquals(second, r.json().at("/choices/0/text").asText(), kind);
                assertEquals(ref.position(), r.json().path("session_position").asLong(), kind);
                assertEquals(ref.position(), http.get("/v1/sessions/" + id).json().path("position").asLong(), kind);
            }
        }
    }

    @Test
    void forksExportsAndImportsContinueBitForBit() throws Exception {
        LanguageModel lm = Models.of("e2e");
        try (var server = start(lm, dir, null, 4)) {
            var http = new Http(server.port());
            String id = http.post("/v1/sessions", "{\"id\": \"base\", \"document\": \"record Point(int x, int y) {}\"}").json().path("id").asText();
            assertEquals("base", id);
            Http.Reply fork = http.post("/v1/sessions/base/fork", "{\"id\": \"copy\"}");
            assertEquals(201, fork.status(), fork.body());
            byte[] state = http.getBytes("/v1/sessions/base/state");
            assertEquals(Files.size(dir.resolve("base.safetensors")), state.length);
            assertEquals(201, http.put("/v1/sessions/imported/state", state).status());

            Session ref = lm.session().feed("record Point(int x, int y) {}");
            String answer = ref.fork().generate(" //", greedy(16), null).text();
            for (String s : List.of("copy", "imported", "base")) assertEquals(answer, http.complete(req(" //", 16, s)), s);
            // The fork diverged from its origin: base has read the answer, a new fork of the reference has not.
            assertNotEquals(http.get("/v1/sessions/base").json().path("position").asLong(), ref.position());

            assertEquals(409, http.post("/v1/sessions/base/fork", "{\"id\": \"copy\"}").status());
            assertEquals(409, http.post("/v1/sessions/base/fork", "{\"id\": \"base\"}").status());
            assertEquals(400, http.put("/v1/sessions/bad/state", "not a state file".getBytes(StandardCharsets.UTF_8)).status());
            assertEquals(404, http.get("/v1/sessions/bad").status(), "a refused import creates nothing");
            JsonNode list = http.get("/v1/sessions").json();
            assertEquals(3, list.path("data").size(), list.toString());
            assertEquals(200, http.delete("/v1/sessions/copy").status());
            assertEquals(404, http.post("/v1/completions", req("x", 2, "copy")).status());
            assertFalse(Files.exists(dir.resolve("copy.safetensors")));
        }
    }

    @Test
    void concurrentClientsGetWhatEachWouldAlone() throws Exception {
        LanguageModel lm = Models.of("swa:1,full:1");
        int n = 6;
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add(lm.session().feed("doc " + i).generate(" go" + i, greedy(20 + i), null).text());
        }
        try (var server = start(lm, dir, null, 2); var pool = Executors.newFixedThreadPool(n)) {
            var http = new Http(server.port());
            for (int i = 0; i < n; i++) assertEquals(201, http.post("/v1/sessions", "{\"id\": \"s" + i + "\", \"document\": \"doc " + i + "\"}").status());
            List<Future<String>> got = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                got.add(pool.submit(() -> http.complete(req(" go" + k, 20 + k, "s" + k))));
            }
            for (int i = 0; i < n; i++) assertEquals(expected.get(i), got.get(i).get(), "session s" + i);
            // At most two sessions were ever held in memory; the others were read back from disk.
            String metrics = http.get("/metrics").body();
            assertTrue(metrics.contains("ttt4j_sessions_on_disk " + n), metrics);
            long inMemory = Long.parseLong(metrics.replaceAll("(?s).*\nttt4j_sessions_in_memory (\\d+)\n.*", "$1"));
            assertTrue(inMemory <= 2, metrics);
        }
    }

    @Test
    void streamingSendsTheSameTextAndNeverAStopString() throws Exception {
        LanguageModel lm = Models.of("e2e");
        String full = lm.session().generate("abc", greedy(40), null).text();
        assertTrue(full.length() > 12, full);
        String stop = full.substring(10, 12);
        String want = full.substring(0, full.indexOf(stop));
        try (var server = start(lm, dir, null, 4)) {
            var http = new Http(server.port());
            var body = Json.MAPPER.createObjectNode().put("model", "tiny").put("prompt", "abc").put("max_tokens", 40).put("temperature", 0)
                    .put("stream", true).put("stop", stop);
            body.putObject("stream_options").put("include_usage", true);
            Http.Reply r = http.post("/v1/completions", body.toString());
            assertEquals(200, r.status(), r.body());
            List<String> events = r.events();
            assertEquals("[DONE]", events.getLast());
            StringBuilder text = new StringBuilder();
            for (String e : events.subList(0, events.size() - 2)) {
                String piece = Json.MAPPER.readTree(e).at("/choices/0/text").asText();
                assertFalse(piece.contains(stop), piece);
                text.append(piece);
            }
            assertEquals(want, text.toString());
            JsonNode last = Json.MAPPER.readTree(events.get(events.size() - 3));
            assertEquals("stop", last.at("/choices/0/finish_reason").asText());
            JsonNode usage = Json.MAPPER.readTree(events.get(events.size() - 2));
            assertEquals(0, usage.path("choices").size());
            assertEquals(3, usage.at("/usage/prompt_tokens").asInt());
            // Chat streams deltas: a role first, then the content.
            var chat = Json.MAPPER.createObjectNode().put("model", "tiny").put("max_tokens", 8).put("temperature", 0).put("stream", true);
            chat.putArray("messages").addObject().put("role", "user").put("content", "hi");
            List<String> chunks = http.post("/v1/chat/completions", chat.toString()).events();
            assertEquals("assistant", Json.MAPPER.readTree(chunks.getFirst()).at("/choices/0/delta/role").asText());
            StringBuilder said = new StringBuilder();
            for (String e : chunks.subList(1, chunks.size() - 1)) said.append(Json.MAPPER.readTree(e).at("/choices/0/delta/content").asText());
            assertEquals(lm.session().generate("user: hi\n\nassistant:", greedy(8), null).text(), said.toString());
        }
    }

    @Test
    void chatUsesTheModelFoldersTemplate() throws Exception {
        // The demo model's folder, copied, with a chat template beside it.
        Path folder = dir.resolve("model");
        Path demo = org.ttt4j.lm.api.ModelFolders.demoFolder();
        try (var files = Files.walk(demo)) {
            for (Path f : files.toList()) Files.copy(f, folder.resolve(demo.relativize(f).toString()));
        }
        Files.writeString(folder.resolve("tokenizer_config.json"), """
                {"bos_token": "<s>", "eos_token": "</s>",
                 "chat_template": "{% for m in messages %}// {{ m.role }}: {{ m.content }}\\n{% endfor %}{% if add_generation_prompt %}class Answer {{ '{' }}{% endif %}"}
                """);
        LanguageModel lm = LanguageModel.open(folder);
        var messages = List.of(new org.ttt4j.lm.tokenizer.ChatTemplate.Message("system", "Java only."),
                new org.ttt4j.lm.tokenizer.ChatTemplate.Message("user", "a list"));
        String want = lm.chat(messages, greedy(16), null).text();
        try (var server = start(lm, dir.resolve("state"), null, 4)) {
            var body = Json.MAPPER.createObjectNode().put("max_tokens", 16).put("temperature", 0);
            var ms = body.putArray("messages");
            ms.addObject().put("role", "system").put("content", "Java only.");
            ms.addObject().put("role", "user").putArray("content").addObject().put("type", "text").put("text", "a list");
            Http.Reply r = new Http(server.port()).post("/v1/chat/completions", body.toString());
            assertEquals(200, r.status(), r.body());
            assertEquals(want, r.json().at("/choices/0/message/content").asText());
            assertEquals("chat.completion", r.json().path("object").asText());
            assertEquals("assistant", r.json().at("/choices/0/message/role").asText());
        }
    }

    @Test
    void aClientThatGoesAwayLeavesItsSessionAsItWas() throws Exception {
        LanguageModel lm = Models.of("e2e");
        try (var server = TttServer.builder().model(lm).modelId("tiny").port(0).stateDir(dir).maxTokens(1_000_000).build().start()) {
            var http = new Http(server.port());
            http.post("/v1/sessions", "{\"id\": \"s\", \"document\": \"text\"}");
            String body = Json.MAPPER.createObjectNode().put("prompt", " more").put("max_tokens", 1_000_000).put("temperature", 0).put("stream", true)
                    .put("session", "s").toString();
            try (var stream = http.raw("/v1/completions", body)) {
                assertEquals(1, stream.events(1));
            } // closed after the first chunk
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!http.get("/metrics").body().contains("ttt4j_requests_cancelled_total 1") && System.nanoTime() < deadline) Thread.sleep(20);
            assertTrue(http.get("/metrics").body().contains("ttt4j_requests_cancelled_total 1"));
            assertEquals(4, http.get("/v1/sessions/s").json().path("position").asLong(), "the session is as the create left it");
            Session ref = lm.session().feed("text");
            assertEquals(ref.generate(" again", greedy(10), null).text(), http.complete(req(" again", 10, "s")));
        }
    }

    @Test
    void aStreamingClientThatStopsReadingHoldsNoOneElseUp() throws Exception {
        LanguageModel lm = Models.of("e2e");
        try (var server = TttServer.builder().model(lm).modelId("tiny").port(0).stateDir(dir).maxTokens(1_000_000).build().start()) {
            var http = new Http(server.port());
            String body = Json.MAPPER.createObjectNode().put("prompt", "never read").put("max_tokens", 1_000_000).put("stream", true).toString();
            try (var stalled = http.raw("/v1/completions", body)) {
                assertEquals(1, stalled.events(1)); // it is generating; from now on nobody reads its socket
                Thread.sleep(300);
                assertEquals(lm.session().generate("quick", greedy(20), null).text(), http.complete(req("quick", 20, null)));
                assertEquals(201, http.post("/v1/sessions", "{\"id\": \"meanwhile\", \"document\": \"x\"}").status());
            }
        }
    }

    @Test
    void qtttIsAPerRequestOption() throws Exception {
        LanguageModel lm = Models.of("full");
        var d = QtttOptions.defaults();
        var options = new QtttOptions(8, 16, 0.3, d.weightDecay(), d.clip(), 5);
        int[] prompt = lm.encode("the context the queries adapt to, then a question:");
        var sampled = new SamplingOptions(1, 0, 1, 1, 5, 24, List.of());
        String want = new Generator(lm.decoder(), lm.tokenizer()).generate(prompt, sampled, null, null, null, options, null).text();
        String plain = lm.session().generate("the context the queries adapt to, then a question:", sampled, null).text();
        try (var server = start(lm, dir, null, 4)) {
            var http = new Http(server.port());
            var body = Json.MAPPER.createObjectNode().put("prompt", "the context the queries adapt to, then a question:").put("max_tokens", 24)
                    .put("temperature", 1).put("seed", 5);
            body.putObject("qttt").put("steps", 8).put("span", 16).put("lr", 0.3);
            assertEquals(want, http.complete(body.toString()));
            assertNotEquals(plain, want, "the adaptation changed the answer (else this test shows nothing)");
            var empty = Json.MAPPER.createObjectNode().put("max_tokens", 0).put("qttt", true);
            assertEquals(200, http.post("/v1/completions", empty.toString()).status(), "an empty prompt starts a document");
            http.post("/v1/sessions", "{\"id\": \"s\"}");
            Http.Reply r = http.post("/v1/completions", body.put("session", "s").toString());
            assertEquals(400, r.status());
            assertEquals("qttt", r.json().at("/error/param").asText());
        }
    }

    @Test
    void badRequestsGetOpenAiErrorsNamingTheField() throws Exception {
        LanguageModel lm = Models.of("full");
        try (var server = start(lm, dir, null, 4)) {
            var http = new Http(server.port());
            record Bad(String path, String body, int status, String param) {}
            for (Bad b : List.of(
                    new Bad("/v1/completions", "{\"prompt\": 3}", 400, "prompt"),
                    new Bad("/v1/completions", "{\"max_tokens\": \"ten\"}", 400, "max_tokens"),
                    new Bad("/v1/completions", "{\"max_tokens\": 513}", 400, "max_tokens"),
                    new Bad("/v1/completions", "{\"max_tokens\": -1}", 400, "max_tokens"),
                    new Bad("/v1/completions", "{\"temperature\": 1e9}", 400, "temperature"),
                    new Bad("/v1/completions", "{\"top_p\": 0}", 400, "top_p"),
                    new Bad("/v1/completions", "{\"stop\": [1]}", 400, "stop"),
                    new Bad("/v1/completions", "{\"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "stop"),
                    new Bad("/v1/completions", "{\"stream\": \"yes\"}", 400, "stream"),
                    new Bad("/v1/completions", "{\"n\": 2}", 400, "n"),
                    new Bad("/v1/completions", "{\"model\": \"gpt-4\"}", 404, "model"),
                    new Bad("/v1/completions", "{\"session\": \"../../etc/passwd\"}", 400, "session"),
                    new Bad("/v1/completions", "{\"session\": \"nobody\"}", 404, "session"),
                    new Bad("/v1/completions", "[1, 2]", 400, null),
                    new Bad("/v1/completions", "{\"prompt\": \"a\"", 400, null),
                    new Bad("/v1/completions", "{\"prompt\": \"" + "x".repeat(70_000) + "\"}", 413, null),
                    new Bad("/v1/chat/completions", "{\"messages\": []}", 400, "messages"),
                    new Bad("/v1/chat/completions", "{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}", 400, "messages[0].role"),
                    new Bad("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", 400, "messages[0].content"),
                    new Bad("/v1/sessions", "{\"id\": \"a/b\"}", 400, "id"),
                    new Bad("/v1/sessions/nobody/fork", "", 404, "session"))) {
                Http.Reply r = http.post(b.path(), b.body());
                assertEquals(b.status(), r.status(), b + " -> " + r.body());
                JsonNode err = r.json().path("error");
                assertTrue(err.path("message").isTextual() && !err.path("message").asText().isEmpty(), r.body());
                assertTrue(err.has("type") && err.has("param") && err.has("code"), r.body());
                if (b.param() != null) assertEquals(b.param(), err.path("param").asText(), b.toString());
            }
            assertEquals(400, http.get("/v1/sessions/..passwd/state").status());
            int traversal = http.get("/v1/sessions/..%2F..%2Fetc%2Fpasswd/state").status();
            assertTrue(traversal == 400 || traversal == 404, "status " + traversal);
            assertEquals(404, http.get("/v1/nothing").status());
            try (var files = Files.list(dir)) {
                assertEquals(List.of(".ttt4j.lock"), files.map(p -> p.getFileName().toString()).toList(), "nothing was written");
            }
        }
    }

    @Test
    void anApiKeyGuardsEveryV1Route() throws Exception {
        LanguageModel lm = Models.of("full");
        try (var server = start(lm, dir, "sesame", 4)) {
            var none = new Http(server.port());
            var wrong = new Http(server.port(), "open");
            var right = new Http(server.port(), "sesame");
            for (Http h : List.of(none, wrong)) {
                for (Http.Reply r : List.of(h.get("/v1/models"), h.post("/v1/completions", "{}"), h.get("/v1/sessions"))) {
                    assertEquals(401, r.status(), r.body());
                    assertEquals("invalid_request_error", r.json().at("/error/type").asText());
                }
            }
            assertEquals(200, none.get("/health").status());
            assertEquals("tiny", right.get("/v1/models").json().at("/data/0/id").asText());
            assertEquals(200, right.post("/v1/completions", "{\"max_tokens\": 2}").status());
        }
    }

    @Test
    void oneServerPerStateFolder() throws Exception {
        LanguageModel lm = Models.of("full");
        try (var server = start(lm, dir, null, 4)) {
            var e = assertThrows(IllegalStateException.class, () -> start(lm, dir, null, 4));
            assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        }
    }
}
