package org.ttt4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.server.TttServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ttt4j serve}: the OpenAI-compatible server with persistent sessions. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve a model over HTTP with OpenAI's API (/v1/completions, /v1/chat/completions, streaming as"
                + " server-sent events) and sessions that keep what they learned (/v1/sessions: create with a document,"
                + " fork, export and import the state, delete). A request naming a session continues from its state;"
                + " every session is saved to the state folder after each request, so a restart (even after kill -9)"
                + " finds each session as its last answered request left it. Also /health and /metrics (Prometheus).",
                "Stop it with Ctrl-C. See docs/serving.md."})
public final class ServeCommand extends CommandIo implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR", description = "model folder: a ttt4j run, checkpoint or export, or a Hugging Face"
            + " folder (default: the shipped demo model)")
    Path model;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on; anything but 127.0.0.1 exposes the"
            + " server to the network, use --api-key then (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "port, 0 for any free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--state-dir", defaultValue = "ttt4j-sessions", paramLabel = "DIR",
            description = "where sessions are kept, one state file each; one server per folder (default: ${DEFAULT-VALUE})")
    Path stateDir;

    @Option(names = "--api-key", paramLabel = "KEY", description = "require 'Authorization: Bearer KEY' on every /v1 request"
            + " (default: $TTT4J_API_KEY if set, else none)")
    String apiKey;

    @Option(names = "--max-sessions-in-memory", defaultValue = "16", paramLabel = "N",
            description = "sessions held in memory at most; the least recently used others wait on disk (default: ${DEFAULT-VALUE})")
    int maxInMemory;

    @Option(names = "--max-tokens", defaultValue = "4096", paramLabel = "N",
            description = "the largest max_tokens a request may ask for (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--threads", paramLabel = "N", description = "engine threads (default: all cores; same as -Dttt4j.threads)")
    Integer threads;

    @Option(names = "--model-id", paramLabel = "NAME", description = "the name clients give as 'model' (default: the folder's name)")
    String modelId;

    @Option(names = "--port-file", paramLabel = "FILE", description = "write the port to FILE once listening (for scripts and"
            + " benchmarks that start the server with --port 0)")
    Path portFile;

    @Mixin
    WeightsOption weights;

    @Override
    public Integer call() throws Exception {
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
            System.setProperty("ttt4j.threads", Integer.toString(threads));
            if (Parallel.threads() != threads) {
                throw new IllegalArgumentException("the engine already runs " + Parallel.threads() + " threads; pass -Dttt4j.threads=" + threads + " instead");
            }
        }
        String key = apiKey != null ? apiKey : System.getenv("TTT4J_API_KEY");
        Path folder = model != null ? model : ModelFolders.demoFolder();
        long t0 = System.nanoTime();
        var lm = LanguageModel.open(folder, weights.format());
        lm.decoder().kvCacheFormat(weights.kvCache());
        stderr().printf("[loaded %s (%s, %s weights, %s KV cache) in %.1f s]%n", folder, lm.method(), weights.format(), weights.kvCache().label(), (System.nanoTime() - t0) / 1e9);
        var stop = new CountDownLatch(1);
        var closed = new CountDownLatch(1);
        try (var server = TttServer.builder().model(lm).modelId(modelId != null ? modelId : model == null ? "ttt4j-demo" : null).host(host).port(port)
                .stateDir(stateDir).apiKey(key).maxSessionsInMemory(maxInMemory).maxTokens(maxTokens).build().start()) {
            // Ctrl-C: let the server stop cleanly (running saves end, the folder lock is released) before the JVM halts.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stop.countDown();
                try {
                    closed.await(2, java.util.concurrent.TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            stderr().printf("[serving %s on http://%s:%d  (state folder %s%s; Ctrl-C stops)]%n", server.modelId(), host, server.port(),
                    stateDir.toAbsolutePath(), key != null ? ", API key required" : "");
            stderr().flush();
            if (portFile != null) org.ttt4j.lm.io.AtomicFiles.write(portFile, Integer.toString(server.port()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            stop.await();
        } finally {
            closed.countDown();
        }
        return 0;
    }
}
