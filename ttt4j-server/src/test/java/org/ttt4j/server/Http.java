package org.ttt4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Raw HTTP against a test server on 127.0.0.1, as curl would send it. */
record Http(int port, String key) {
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    Http(int port) {
        this(port, null);
    }

    record Reply(int status, String body) {
        JsonNode json() {
            try {
                return Json.MAPPER.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }

        /** The data of each server-sent event, [DONE] included. */
        List<String> events() {
            List<String> out = new ArrayList<>();
            for (String block : body.split("\n\n")) {
                if (block.isBlank()) continue;
                if (!block.startsWith("data: ")) throw new AssertionError("not an SSE data line: " + block);
                out.add(block.substring(6));
            }
            return out;
        }
    }

    private HttpRequest.Builder request(String path, String... headers) {
        var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofMinutes(5));
        if (key != null) b.header("Authorization", "Bearer " + key);
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return b;
    }

    Reply get(String path, String... headers) {
        return send(request(path, headers).GET().build());
    }

    Reply post(String path, String json, String... headers) {
        return send(request(path, headers).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    Reply delete(String path) {
        return send(request(path).DELETE().build());
    }

    byte[] getBytes(String path) {
        try {
            var r = CLIENT.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) throw new AssertionError(path + ": " + r.statusCode() + " " + new String(r.body()));
            return r.body();
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    Reply put(String path, byte[] body) {
        return send(request(path).PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    private static Reply send(HttpRequest r) {
        try {
            var res = CLIENT.send(r, HttpResponse.BodyHandlers.ofString());
            return new Reply(res.statusCode(), res.body());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(r.uri() + ": " + e, e);
        }
    }

    /** The text of a non-streamed completion (checked to be 200). */
    String complete(String json) {
        Reply r = post("/v1/completions", json);
        if (r.status() != 200) throw new AssertionError(r.status() + " " + r.body());
        return r.json().path("choices").path(0).path("text").asText();
    }
}
