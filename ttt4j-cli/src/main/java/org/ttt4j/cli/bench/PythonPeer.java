package org.ttt4j.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Python peer for a bench command (PyTorch, in practice): one of the jar's scripts run with the
 * first interpreter that can, answering with one JSON line (its last line starting with "{").
 */
final class PythonPeer {
    private PythonPeer() {}

    /** The interpreters to try: the one named, or python3 and then Debian's /usr/bin/python3. */
    static List<String> interpreters(String named) {
        return named != null ? List.of(named) : List.of("python3", "/usr/bin/python3");
    }

    /**
     * Runs the script at {@code resource} (an absolute class-path name) with {@code args}, torch and
     * the BLAS under it on {@code threads} threads; returns its JSON answer, or null (saying so) when
     * no interpreter could run it.
     */
    static Map<String, Object> run(String resource, List<String> interpreters, List<String> args, int threads, java.io.PrintWriter log)
            throws IOException, InterruptedException {
        Path script = Files.createTempFile("ttt4j-peer", ".py");
        try (InputStream in = PythonPeer.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("the jar lacks " + resource);
            Files.write(script, in.readAllBytes());
        }
        try {
            for (String py : interpreters) {
                List<String> cmd = new ArrayList<>(List.of(py, script.toString()));
                cmd.addAll(args);
                Process p;
                try {
                    var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
                    // Same thread count for torch's own pool and the BLAS under it.
                    pb.environment().put("OPENBLAS_NUM_THREADS", "" + threads);
                    pb.environment().put("OMP_NUM_THREADS", "" + threads);
                    p = pb.start();
                } catch (IOException e) {
                    continue;
                }
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor(1, TimeUnit.HOURS);
                String last = Arrays.stream(out.split("\n")).filter(s -> s.startsWith("{")).reduce((x, y) -> y).orElse(null);
                if (p.exitValue() == 0 && last != null) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> m = new ObjectMapper().readValue(last, Map.class);
                    return m;
                }
            }
            log.println("PyTorch not available (tried " + interpreters + "): scripts/install-peers.sh installs"
                    + " Debian's python3-torch with OpenBLAS; skipping the comparison.");
            return null;
        } finally {
            Files.deleteIfExists(script);
        }
    }
}
