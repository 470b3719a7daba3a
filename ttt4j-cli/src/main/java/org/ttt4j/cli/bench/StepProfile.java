package org.ttt4j.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a training step's time goes, by op kind: the JDK Flight Recorder samples every running
 * Java thread once per millisecond while the timed steps run, and each sample is charged to the op
 * whose code it was in.
 *
 * <p>A sample's kind is said by the innermost frame of ttt4j's own code that names one: a kernel
 * class (GEMM, attention, row kernels of norms or of the cross-entropy, RoPE, element-wise), the
 * optimizer, the gradient clip, or an op of {@code org.ttt4j.core.ops} running its own loop. The
 * kernels run on the pool's threads, whose stacks do not show the op that called them, so the
 * kind is that of the code, not of the model's sub-layer. Samples whose innermost frames allocate
 * a tensor are allocation and zeroing; threads in the pool's or a team's wait are waiting. JFR
 * samples only threads that are running Java code: the shares are of the CPU time the step's
 * threads spent, not of the wall time (a thread parked while the other works is not seen).
 */
final class StepProfile implements AutoCloseable {
    /** Op kinds, in the order of the table. */
    static final List<String> GROUPS = List.of("gemm", "attention", "norm", "swiglu/elementwise", "rope", "softmax/cross-entropy",
            "embedding", "layout copies", "allocation/zeroing", "optimizer", "clip", "autograd", "waiting", "other");

    private final Recording recording = new Recording();

    /** Starts recording. */
    StepProfile() {
        recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(1)).withStackTrace();
        recording.setToDisk(true);
        recording.start();
    }

    /** What a sample is charged to: its kind, the frame that said it, and whether the main thread was in backward. */
    record Charge(String group, String name, boolean backward) {}

    /** The breakdown: samples per group and per charge (most first), and the innermost methods most sampled. */
    record Breakdown(long total, Map<String, Long> groups, List<Map.Entry<Charge, Long>> ops, List<Map.Entry<String, Long>> leaves) {
        double share(String group) {
            return total == 0 ? 0 : groups.getOrDefault(group, 0L) / (double) total;
        }
    }

    /** Stops recording and reads the samples. */
    Breakdown finish() throws IOException {
        recording.stop();
        Path file = Files.createTempFile("ttt4j-step", ".jfr");
        try {
            recording.dump(file);
            return read(file);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Override
    public void close() {
        recording.close();
    }

    static Breakdown read(Path jfr) throws IOException {
        Map<String, Long> groups = new LinkedHashMap<>();
        for (String g : GROUPS) groups.put(g, 0L);
        Map<Charge, Long> ops = new HashMap<>();
        Map<String, Long> leaves = new HashMap<>();
        long total = 0;
        try (var file = new RecordingFile(jfr)) {
            while (file.hasMoreEvents()) {
                RecordedEvent e = file.readEvent();
                if (!e.getEventType().getName().equals("jdk.ExecutionSample")) continue;
                RecordedStackTrace st = e.getStackTrace();
                if (st == null) continue;
                List<String> frames = new ArrayList<>();
                for (RecordedFrame f : st.getFrames()) frames.add(f.getMethod().getType().getName() + "." + f.getMethod().getName());
                boolean ours = frames.stream().anyMatch(f -> f.startsWith("org.ttt4j."));
                boolean pool = frames.stream().anyMatch(f -> f.startsWith("java.util.concurrent.ForkJoin"));
                if (!ours && !pool) continue; // JFR's own threads, the JIT's Java side
                total++;
                leaves.merge(frames.getFirst(), 1L, Long::sum);
                Charge c = classify(frames);
                groups.merge(c.group(), 1L, Long::sum);
                ops.merge(c, 1L, Long::sum);
            }
        }
        List<Map.Entry<String, Long>> leafList = mostFirst(leaves);
        return new Breakdown(total, groups, mostFirst(ops), leafList.subList(0, Math.min(15, leafList.size())));
    }

    private static <K> List<Map.Entry<K, Long>> mostFirst(Map<K, Long> counts) {
        List<Map.Entry<K, Long>> list = new ArrayList<>(counts.entrySet());
        list.sort(Map.Entry.<K, Long>comparingByValue().reversed());
        return list;
    }

    /**
     * The op kind of one sample, its frames innermost first ("class.method"): the innermost frame of
     * ttt4j's own code that says it (the kernels run on the pool's threads, whose stacks do not show
     * the op that called them); the op's name is that frame.
     */
    static Charge classify(List<String> frames) {
        boolean backward = frames.stream().anyMatch(f -> f.startsWith("org.ttt4j.core.autograd.Autograd."));
        String innermostOurs = null;
        for (String f : frames) {
            if (f.equals("org.ttt4j.core.tensor.Tensor.zeros") || f.startsWith("org.ttt4j.core.tensor.Storage.")) {
                return new Charge("allocation/zeroing", f, backward);
            }
            // Waiting only when no code of ours runs above it (every pool thread has ForkJoin frames at its root).
            if (innermostOurs == null && (f.startsWith("java.util.concurrent.ForkJoin") || f.startsWith("java.util.concurrent.locks.LockSupport.")
                    || f.equals("java.lang.Thread.onSpinWait") || f.equals("org.ttt4j.core.kernel.Team.barrier"))) {
                return new Charge("waiting", "pool or barrier", backward);
            }
            if (!f.startsWith("org.ttt4j.")) continue;
            if (innermostOurs == null) innermostOurs = f;
            String group = group(f, frames);
            if (group != null) return new Charge(group, shortName(f), backward);
        }
        return new Charge("other", shortName(innermostOurs != null ? innermostOurs : frames.getFirst()), backward);
    }

    /** The kind a frame of ttt4j's code says, or null to ask the frame that called it. */
    private static String group(String f, List<String> frames) {
        String cls = f.substring(0, f.lastIndexOf('.')), method = f.substring(f.lastIndexOf('.') + 1);
        String simple = cls.substring(cls.lastIndexOf('.') + 1);
        int nested = simple.indexOf('$');
        if (nested > 0) simple = simple.substring(0, nested);
        return switch (simple) {
            case "Gemm", "SmallGemm", "GemmReference" -> "gemm";
            case "AttentionKernel", "AttentionReference" -> "attention";
            case "RowKernels" -> frames.stream().anyMatch(g -> g.startsWith("org.ttt4j.core.kernel.RowKernels.") && g.contains("crossEntropy"))
                    ? "softmax/cross-entropy" : "norm";
            case "IndexKernels" -> method.contains("rope") ? "rope" : "embedding";
            case "Transpose" -> "layout copies";
            case "Elementwise" -> method.contains("permute") ? "layout copies" : "swiglu/elementwise";
            case "VectorMath" -> "swiglu/elementwise";
            case "Reductions" -> null;
            case "AdamW" -> "optimizer";
            case "GradClip" -> "clip";
            case "Autograd", "GradFn", "Tensor", "Shapes" -> "autograd";
            default -> cls.startsWith("org.ttt4j.core.ops.") ? opGroup(simple, method) : null;
        };
    }

    private static String shortName(String frame) {
        return frame.startsWith("org.ttt4j.") ? frame.substring(frame.lastIndexOf('.', frame.lastIndexOf('.') - 1) + 1) : frame;
    }

    private static String opGroup(String cls, String method) {
        if (method.startsWith("lambda$")) method = method.substring(7, method.indexOf('$', 7));
        if (cls.equals("Layout")) return "layout copies";
        return switch (method) {
            case "matmul", "gemm" -> "gemm";
            case "attention", "composed" -> "attention";
            case "rmsNorm", "rmsNormalize", "layerNorm", "layerNormalize" -> "norm";
            case "rope" -> "rope";
            case "softmax", "logSoftmax", "crossEntropy", "crossEntropyMean" -> "softmax/cross-entropy";
            case "embedding", "scatterAdd" -> "embedding";
            default -> "swiglu/elementwise";
        };
    }
}
