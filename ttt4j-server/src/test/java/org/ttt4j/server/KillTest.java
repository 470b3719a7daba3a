package org.ttt4j.server;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.api.Session;
import org.ttt4j.lm.infer.SamplingOptions;

/**
 * {@code kill -9} of a server process in the middle of a request: after a restart every session that
 * had answered is there, as its last answered request left it, and continues bit for bit; the
 * request in flight left no trace.
 */
class KillTest {
    @TempDir Path dir;

    private Process launch(Path state, Path portFile) throws Exception {
        Files.deleteIfExists(portFile);
        var cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--add-modules=jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), ServerMain.class.getName(), state.toString(), portFile.toString(), "e2e");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!Files.exists(portFile)) {
            if (!p.isAlive()) fail("the server process ended: " + Files.readString(dir.resolve("server.log")));
            if (System.nanoTime() > deadline) fail("the server did not start");
            Thread.sleep(50);
        }
        return p;
    }

    private static String req(String prompt, int n, String session) {
        return Json.MAPPER.createObjectNode().put("prompt", prompt).put("max_tokens", n).put("temperature", 0).put("session", session).toString();
    }

    @Test
    void sessionsThatAnsweredSurviveKillNineMidRequest() throws Exception {
        Path state = dir.resolve("state"), portFile = dir.resolve("port");
        Process first = launch(state, portFile);
        try {
            var http = new Http(Integer.parseInt(Files.readString(portFile)));
            assertEquals(201, http.post("/v1/sessions", "{\"id\": \"k\", \"document\": \"enum Color { RED, GREEN }\"}").status());
            assertEquals(201, http.post("/v1/sessions", "{\"id\": \"other\", \"document\": \"record R() {}\"}").status());
            String answered = http.complete(req(" //", 12, "k"));
            // A long request on k, killed once its first tokens have streamed.
            String body = Json.MAPPER.createObjectNode().put("prompt", " more").put("max_tokens", 1_000_000).put("temperature", 0)
                    .put("stream", true).put("session", "k").toString();
            try (var stream = http.raw("/v1/completions", body)) {
                assertEquals(20, stream.events(20));
                first.destroyForcibly(); // SIGKILL
                assertTrue(first.waitFor(1, TimeUnit.MINUTES));
            }

            // What a kill during a save would leave: a partial temporary file beside the state.
            Files.write(state.resolve("k.safetensors.tmp-00c0ffee"), new byte[] {1, 2, 3});
            Process second = launch(state, portFile);
            try {
                var again = new Http(Integer.parseInt(Files.readString(portFile)));
                LanguageModel lm = Models.of("e2e");
                Session ref = lm.session().feed("enum Color { RED, GREEN }");
                assertEquals(answered, ref.generate(" //", SamplingOptions.greedy(12), null).text());
                assertEquals(ref.position(), again.get("/v1/sessions/k").json().path("position").asLong(), "as the answered request left it");
                assertEquals(ref.generate(" next", SamplingOptions.greedy(12), null).text(), again.complete(req(" next", 12, "k")));
                assertEquals(lm.session().feed("record R() {}").generate("!", SamplingOptions.greedy(5), null).text(),
                        again.complete(req("!", 5, "other")));
                try (var files = Files.list(state)) {
                    assertEquals(List.of(".ttt4j.lock", "k.safetensors", "other.safetensors"),
                            files.map(p -> p.getFileName().toString()).sorted().toList(), "the partial file is gone");
                }
            } finally {
                second.destroyForcibly();
            }
        } finally {
            first.destroyForcibly();
        }
    }
}
