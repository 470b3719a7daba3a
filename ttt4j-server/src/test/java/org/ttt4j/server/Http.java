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

    /** A streamed response read line by line off a plain socket, which the test may close at any point. */
    record Raw(java.net.Socket socket, java.io.BufferedReader in) implements AutoCloseable {
        /** Reads up to the n-th server-sent event; returns how many were read. */
        int events(int n) throws IOException {
            int events = 0;
            for (String line; events < n && (line = in.readLine()) != null; ) if (line.startsWith("data: ")) events++;
            return events;
        }

        @Override public void close() throws IOException {
            socket.close();
        }
    }

    /** POSTs {@code json} over a socket of its own, as a client that can vanish mid-stream. */
    Raw raw(String path, String json) throws IOException {
        var socket = new java.net.Socket("127.0.0.1", port);
        byte[] body = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        var out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        return new Raw(socket, new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), java.nio.charset.StandardCharsets.UTF_8)));
    }

    /** The text of a non-streamed completion (checked to be 200). */
    String complete(String json) {
        Reply r = post("/v1/completions", json);
        if (r.status() != 200) throw new AssertionError(r.status() + " " + r.body());
        return r.json().path("choices").path(0).path("text").asText();
    }
}
