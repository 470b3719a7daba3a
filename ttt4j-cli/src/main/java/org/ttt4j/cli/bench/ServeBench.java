package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.ttt4j.cli.CommandIo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j bench serve}: a load test of {@code ttt4j serve} in a process of its own on
 * 127.0.0.1. N clients stream completions over M sessions for a bounded time (requests/s, time to
 * first token, tokens/s in aggregate, the server's peak memory); then the clients keep going while
 * the server is killed with SIGKILL, the server restarts on the same state folder, and each
 * session's state file is compared with the one exported after its last answered request.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Load test of ttt4j serve (started as a child process on 127.0.0.1): N clients streaming completions over"
                + " M sessions for a bounded time, then a kill -9 of the server mid-request and a restart, reporting how many"
                + " sessions survived intact. Prints a table and one JSON object per line."})
public final class ServeBench extends CommandIo implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--model", paramLabel = "DIR", description = "model folder (default: the shipped demo model)") Path model;
    @Option(names = "--weights", defaultValue = "f32", description = "f32, bf16 or q8 (default: ${DEFAULT-VALUE})") String weights;
    @Option(names = "--clients", defaultValue = "4", description = "concurrent clients (default: ${DEFAULT-VALUE})") int clients;
    @Option(names = "--sessions", defaultValue = "8", description = "sessions the clients share (default: ${DEFAULT-VALUE})") int sessions;
    @Option(names = "--duration", defaultValue = "20", paramLabel = "SECONDS", description = "length of the load phase (default: ${DEFAULT-VALUE})")
    double duration;
    @Option(names = "--tokens", defaultValue = "32", description = "max_tokens of each request (default: ${DEFAULT-VALUE})") int tokens;
    @Option(names = "--doc-bytes", defaultValue = "4000", description = "bytes of JDK source each session reads when created (default: ${DEFAULT-VALUE})")
    int docBytes;
    @Option(names = "--kill-after", defaultValue = "5", paramLabel = "SECONDS",
            description = "how long the clients run before the server is killed; 0 skips the kill test (default: ${DEFAULT-VALUE})")
    double killAfter;
    @Option(names = "--threads", description = "engine threads of the server (default: all cores)") Integer threads;

    private HttpClient http;
    private String base;
    /** Every server process started, stopped when the bench ends however it ends. */
    private final List<Process> started = new ArrayList<>();

    private record Request(double ttftMs, double latencyMs, int completionTokens) {}

    @Override
    public Integer call() throws Exception {
        if (clients < 1 || sessions < 1 || tokens < 1 || duration <= 0) throw new IllegalArgumentException("--clients, --sessions, --tokens and --duration must be positive");
        Path work = Files.createTempDirectory("ttt4j-bench-serve");
        Path state = work.resolve("sessions");
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        stdout().printf("ttt4j bench serve: %s, %s weights, %d clients over %d sessions, %.0f s, max_tokens %d%n",
                model == null ? "demo model" : model, weights, clients, sessions, duration, tokens);
        Process server = launch(state, work);
        List<Map<String, Object>> rows = new ArrayList<>();
        try {
            String corpus = TokenizerBench.jdkSources(sessions * docBytes + 1);
            long c0 = System.nanoTime();
            for (int s = 0; s < sessions; s++) {
                var body = JSON.createObjectNode().put("id", "s" + s).put("document", corpus.substring(s * docBytes, (s + 1) * docBytes));
                post("/v1/sessions", body.toString(), 201);
            }
            double createS = (System.nanoTime() - c0) / 1e9;
            stdout().printf("created %d sessions of %,d bytes each in %.1f s%n%n", sessions, docBytes, createS);

            List<Request> done = load();
            double[] ttft = done.stream().mapToDouble(Request::ttftMs).sorted().toArray();
            double[] latency = done.stream().mapToDouble(Request::latencyMs).sorted().toArray();
            long generated = done.stream().mapToLong(Request::completionTokens).sum();
            long rss = peakRssKb(server.pid());
            String metrics = get("/metrics");
            var row = new LinkedHashMap<String, Object>();
            row.put("bench", "serve");
            row.put("model", model == null ? "demo" : model.toString());
            row.put("weights", weights);
            row.put("clients", clients);
            row.put("sessions", sessions);
            row.put("requests", done.size());
            row.put("requests_per_s", done.size() / duration);
            row.put("ttft_p50_ms", pct(ttft, 0.5));
            row.put("ttft_p99_ms", pct(ttft, 0.99));
            row.put("latency_p50_ms", pct(latency, 0.5));
            row.put("tokens_per_s", generated / duration);
            row.put("server_decode_tokens_per_s", metric(metrics, "ttt4j_decode_tokens_per_second"));
            row.put("mean_batch", metric(metrics, "ttt4j_decode_tokens_total") / Math.max(1, metric(metrics, "ttt4j_decode_steps_total")));
            row.put("server_peak_rss_mb", rss / 1024.0);
            rows.add(row);
            stdout().printf("%-9s %-9s %-9s %-10s %-12s %-12s %-13s %-10s %-10s %-10s%n", "clients", "sessions", "requests", "req/s",
                    "ttft p50 ms", "ttft p99 ms", "latency p50", "tok/s", "batch", "peak RSS");
            stdout().printf("%-9d %-9d %-9d %-10.2f %-12.1f %-12.1f %-13.1f %-10.1f %-10.2f %.0f MB%n", clients, sessions, done.size(),
                    done.size() / duration, pct(ttft, 0.5), pct(ttft, 0.99), pct(latency, 0.5), generated / duration, row.get("mean_batch"), rss / 1024.0);

            if (killAfter > 0) {
                killAndRestart(server, state, work, rows);
            }
        } finally {
            for (Process p : started) {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        stdout().println();
        for (var r : rows) stdout().println(JSON.writeValueAsString(r));
        return 0;
    }

    /** The load phase: every client streams completions over the sessions, round robin, until the time is up. */
    private List<Request> load() throws Exception {
        long end = System.nanoTime() + (long) (duration * 1e9);
        List<Request> done = java.util.Collections.synchronizedList(new ArrayList<>());
        try (var pool = Executors.newFixedThreadPool(clients)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                fs.add(pool.submit(() -> {
                    for (int k = 0; System.nanoTime() < end; k++) {
                        String session = "s" + ((client + k * clients) % sessions);
                        done.add(stream(session, " // next " + k + "\n", tokens));
                    }
                    return null;
                }));
            }
            for (var f : fs) f.get();
        }
        return done;
    }

    /** One streamed completion: time to the first text, whole latency, tokens generated. */
    private Request stream(String session, String prompt, int n) throws Exception {
        var body = JSON.createObjectNode().put("prompt", prompt).put("max_tokens", n).put("temperature", 0).put("stream", true).put("session", session);
        body.putObject("stream_options").put("include_usage", true);
        long t0 = System.nanoTime();
        var res = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofLines());
        if (res.statusCode() != 200) throw new IllegalStateException("completion on " + session + ": HTTP " + res.statusCode());
        double ttft = -1;
        int generated = 0;
        for (String line : (Iterable<String>) res.body()::iterator) {
            if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
            JsonNode chunk = JSON.readTree(line.substring(6));
            if (ttft < 0 && !chunk.at("/choices/0/text").asText("").isEmpty()) ttft = (System.nanoTime() - t0) / 1e6;
            if (chunk.has("usage")) generated = chunk.at("/usage/completion_tokens").asInt();
            if (chunk.has("error")) throw new IllegalStateException("completion on " + session + ": " + chunk);
        }
        double latency = (System.nanoTime() - t0) / 1e6;
        return new Request(ttft < 0 ? latency : ttft, latency, generated);
    }

    /**
     * Each client owns some sessions and, after each answered request, exports the session's state
     * and keeps its hash; the server is killed mid-request, restarted, and every session's state
     * compared with its last answered one.
     */
    private void killAndRestart(Process server, Path state, Path work, List<Map<String, Object>> rows) throws Exception {
        Map<String, String> lastHash = new ConcurrentHashMap<>();
        Map<String, Long> lastPosition = new ConcurrentHashMap<>();
        for (int s = 0; s < sessions; s++) {
            lastHash.put("s" + s, sha256(getBytes("/v1/sessions/s" + s + "/state")));
            lastPosition.put("s" + s, JSON.readTree(get("/v1/sessions/s" + s)).path("position").asLong());
        }
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        int answered;
        var count = new java.util.concurrent.atomic.AtomicInteger();
        try (var pool = Executors.newFixedThreadPool(clients)) {
            for (int c = 0; c < clients; c++) {
                int client = c;
                pool.submit(() -> {
                    for (int k = 0; !stop.get(); k++) {
                        int owned = (sessions + clients - 1 - client) / clients;
                        if (owned == 0) return;
                        String session = "s" + (client + (k % owned) * clients);
                        try {
                            var r = JSON.readTree(post("/v1/completions", JSON.createObjectNode().put("prompt", " // again " + k + "\n")
                                    .put("max_tokens", tokens).put("temperature", 0).put("session", session).toString(), 200));
                            byte[] exported = getBytes("/v1/sessions/" + session + "/state");
                            lastHash.put(session, sha256(exported));
                            lastPosition.put(session, r.path("session_position").asLong());
                            count.incrementAndGet();
                        } catch (Exception gone) {
                            return; // the server was killed
                        }
                    }
                });
            }
            Thread.sleep((long) (killAfter * 1000));
            server.destroyForcibly(); // SIGKILL
            server.waitFor(30, TimeUnit.SECONDS);
            stop.set(true);
        }
        answered = count.get();
        long r0 = System.nanoTime();
        launch(state, work);
        double restartS = (System.nanoTime() - r0) / 1e9;
        int intact = 0, applied = 0, lost = 0;
        for (int s = 0; s < sessions; s++) {
            String id = "s" + s;
            byte[] now = getBytes("/v1/sessions/" + id + "/state");
            long position = JSON.readTree(get("/v1/sessions/" + id)).path("position").asLong();
            if (sha256(now).equals(lastHash.get(id))) {
                intact++;
            } else if (position > lastPosition.get(id)) {
                applied++; // the request in flight was applied whole (its answer lost with the connection, or not yet exported)
            } else {
                lost++;
            }
            post("/v1/completions", JSON.createObjectNode().put("prompt", "!").put("max_tokens", 4).put("temperature", 0).put("session", id).toString(), 200);
        }
        var row = new LinkedHashMap<String, Object>();
        row.put("bench", "serve_kill");
        row.put("sessions", sessions);
        row.put("requests_answered_before_kill", answered);
        row.put("sessions_intact", intact);
        row.put("sessions_applied_in_flight", applied);
        row.put("sessions_lost", lost);
        row.put("restart_s", restartS);
        rows.add(row);
        stdout().printf("%nkill -9 after %.0f s (%d requests answered): %d of %d sessions intact as last answered, %d with the request in"
                + " flight applied whole, %d lost; restart %.1f s; every session answered again%n", killAfter, answered, intact, sessions,
                applied, lost, restartS);
    }

    /** Starts {@code ttt4j serve} on a free port with the state folder, waiting until it listens. */
    private Process launch(Path state, Path work) throws Exception {
        Path portFile = work.resolve("port");
        Files.deleteIfExists(portFile);
        List<String> cmd = InferBench.childMain(threads);
        cmd.addAll(List.of("serve", "--port", "0", "--port-file", portFile.toString(),
                "--state-dir", state.toString(), "--weights", weights, "--max-sessions-in-memory", Integer.toString(Math.max(sessions, 1))));
        if (model != null) cmd.addAll(List.of("--model", model.toString()));
        Path log = work.resolve("server.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        started.add(p);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!Files.exists(portFile)) {
            if (!p.isAlive()) throw new IllegalStateException("the server exited with " + p.exitValue() + "; its log: " + log);
            if (System.nanoTime() > deadline) throw new IllegalStateException("the server did not start within 3 minutes; its log: " + log);
            Thread.sleep(50);
        }
        base = "http://127.0.0.1:" + Files.readString(portFile).trim();
        return p;
    }

    private String get(String path) throws Exception {
        var r = http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IllegalStateException(path + ": HTTP " + r.statusCode() + " " + r.body());
        return r.body();
    }

    private byte[] getBytes(String path) throws Exception {
        var r = http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) throw new IllegalStateException(path + ": HTTP " + r.statusCode());
        return r.body();
    }

    private String post(String path, String json, int want) throws Exception {
        var r = http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != want) throw new IllegalStateException(path + ": HTTP " + r.statusCode() + " " + r.body());
        return r.body();
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static double pct(double[] sorted, double q) {
        if (sorted.length == 0) return Double.NaN;
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    private static double metric(String text, String name) {
        for (String line : text.split("\n")) if (line.startsWith(name + " ")) return Double.parseDouble(line.substring(name.length() + 1).trim());
        return Double.NaN;
    }

    /** The peak resident memory of process {@code pid} (VmHWM, Linux), in KiB; -1 where unknown. */
    private static long peakRssKb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D+", ""));
            }
        } catch (Exception e) {
            // not Linux
        }
        return -1;
    }
}
