package org.ttt4j.cli.bench;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.kernel.WeightFormat;

/** The peers of {@code bench infer} (Jlama, PyTorch) decoding the same weights. */
final class InferPeerRows {
    private InferPeerRows() {}

    static List<Map<String, Object>> measure(InferBench bench, List<WeightFormat> formats, int[] threads, List<String> peers,
                                             PrintWriter out, PrintWriter log) {
        throw new IllegalArgumentException("--peers: not available yet");
    }
}
