package org.ttt4j.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.ttt4j.cli.Main;

/** The profile's classification of stacks, and `bench train --profile` printing a share per op kind that sums to one. */
class StepProfileTest {
    private static String kind(String... innermostFirst) {
        return StepProfile.classify(List.of(innermostFirst)).group();
    }

    @Test
    void aSampleIsChargedToTheInnermostCodeThatNamesAKind() {
        assertEquals("gemm", kind("jdk.incubator.vector.FloatVector.fma", "org.ttt4j.core.kernel.Gemm.kernel12",
                "org.ttt4j.core.kernel.Gemm.block", "java.util.concurrent.ForkJoinWorkerThread.run"));
        assertEquals("attention", kind("org.ttt4j.core.kernel.AttentionKernel.kernel4x4", "org.ttt4j.core.ops.Attention.attention"));
        // Row kernels: the cross-entropy's lambdas say so; the same helper under a norm is a norm.
        assertEquals("softmax/cross-entropy", kind("org.ttt4j.core.kernel.Reductions.rowMax",
                "org.ttt4j.core.kernel.RowKernels.lambda$crossEntropy$0", "org.ttt4j.core.kernel.Parallel$Task.compute"));
        assertEquals("norm", kind("org.ttt4j.core.kernel.Reductions.dot", "org.ttt4j.core.kernel.RowKernels.rowFast",
                "org.ttt4j.core.kernel.RowKernels.lambda$rows$0"));
        assertEquals("rope", kind("org.ttt4j.core.kernel.IndexKernels.rope", "org.ttt4j.core.ops.Nn.rope"));
        assertEquals("allocation/zeroing", kind("org.ttt4j.core.tensor.Storage.allocate", "org.ttt4j.core.tensor.Tensor.zeros",
                "org.ttt4j.core.ops.Linalg.matmul"));
        assertEquals("waiting", kind("java.lang.Thread.onSpinWait", "java.util.concurrent.ForkJoinPool.awaitWork"));
        assertEquals("optimizer", kind("org.ttt4j.lm.optim.AdamW.update", "org.ttt4j.lm.optim.AdamW.lambda$step$0"));
        assertEquals("layout copies", kind("org.ttt4j.core.ops.Layout.concat", "org.ttt4j.lm.layers.SelfAttention.apply"));
        assertEquals("swiglu/elementwise", kind("org.ttt4j.core.kernel.Elementwise.lambda$swiglu$0"));
        assertEquals("other", kind("org.ttt4j.lm.model.Block.apply"));
        // A kernel of no listed kind on a pool thread is that kernel's work, not waiting, though the thread's root is the pool's.
        var ttt = StepProfile.classify(List.of("org.ttt4j.lm.layers.ttt.TttFusedKernel.forward", "org.ttt4j.core.kernel.Parallel$Task.compute",
                "java.util.concurrent.ForkJoinTask.doExec", "java.util.concurrent.ForkJoinPool.runWorker"));
        assertEquals("other", ttt.group());
        assertEquals("TttFusedKernel.forward", ttt.name());
    }

    @Test
    void benchTrainProfilePrintsEveryKindOnce() throws Exception {
        var out = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(new StringWriter(), true));
        assertEquals(0, cl.execute("bench", "train", "--preset", "tiny", "--batch", "2", "--context", "128", "--steps", "4", "--warmup", "1",
                "--no-torch", "--profile"));
        var json = new ObjectMapper();
        var rows = out.toString().lines().filter(l -> l.contains("\"bench\":\"train-profile\"")).toList();
        assertEquals(StepProfile.GROUPS.size(), rows.size(), out.toString());
        double sum = 0;
        long samples = 0;
        for (String r : rows) {
            var row = json.readTree(r);
            sum += row.get("share").asDouble();
            samples += row.get("samples").asLong();
        }
        assertTrue(samples > 0, "the recorder took samples: " + out);
        assertEquals(1.0, sum, 1e-9, "the shares of all kinds");
        assertTrue(out.toString().contains("where a step's CPU time goes"), out.toString());
    }
}
