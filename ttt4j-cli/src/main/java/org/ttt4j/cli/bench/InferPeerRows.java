package org.ttt4j.cli.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.ttt4j.core.kernel.WeightFormat;
import org.ttt4j.lm.hf.HfFolder;

/**
 * The peers of {@code bench infer} ({@link InferPeers}: Jlama, PyTorch) decoding the same weights:
 * the --model folder when it is a Hugging Face folder, else the model written as one.
 */
final class InferPeerRows {
    private InferPeerRows() {}

    static List<Map<String, Object>> measure(InferBench bench, List<WeightFormat> formats, int[] threads, List<String> peers,
                                             PrintWriter out, PrintWriter log) throws IOException {
        for (String p : peers) {
            if (!p.equals("jlama") && !p.equals("torch")) throw new IllegalArgumentException("--peers: unknown \"" + p + "\" (known: jlama, torch, none)");
        }
        Path temp = null;
        Path folder = bench.modelFolder();
        try {
            if (folder == null || !HfFolder.is(folder)) {
                temp = Files.createTempDirectory("ttt4j-peer-model");
                out.printf("writing the model as a Hugging Face folder for the peers: %s%n", temp);
                InferPeers.writeHfFolder(bench.peerModel(), temp);
                folder = temp;
            }
            List<Map<String, Object>> rows = new ArrayList<>();
            for (String peer : peers) {
                for (WeightFormat f : formats) {
                    for (int t : threads) {
                        log.printf("peer %s, %s, %d thread(s)...%n", peer, f.label(), t);
                        log.flush();
                        var results = peer.equals("jlama")
                                ? InferPeers.jlama(folder, f.label(), t, bench.contexts(), bench.tokens(), log)
                                : InferPeers.torch(folder, f.label(), t, bench.contexts(), bench.tokens(), log);
                        for (var r : results) {
                            Map<String, Object> row = r.row();
                            row.put("bench", "infer_peer");
                            row.put("requested_weights", f.label());
                            rows.add(row);
                        }
                    }
                }
            }
            return rows;
        } finally {
            if (temp != null) {
                try (Stream<Path> files = Files.walk(temp)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> {
                        try {
                            Files.deleteIfExists(p);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                }
            }
        }
    }
}
