package org.ttt4j.core.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.ops.Linalg;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

class CheckpointTest {
    @Test
    void keepsNoIntermediatesAndRecomputesInBackward() {
        var rng = new SplittableRandom(3);
        Tensor x = Tensor.randn(DType.FP64, rng, 1, 4, 5).requiresGrad(true);
        Tensor w = Tensor.randn(DType.FP64, rng, 1, 5, 5).requiresGrad(true);
        AtomicInteger calls = new AtomicInteger();
        Function<Tensor[], Tensor> block = a -> {
            calls.incrementAndGet();
            return Maths.tanh(Linalg.matmul(Maths.gelu(Linalg.matmul(a[0], a[1])), a[1]));
        };
        Tensor out = Checkpoint.run(block, x, w);
        // The only recorded history is the checkpoint node itself: intermediates were not kept.
        assertEquals("checkpoint", out.gradFn().op());
        for (Tensor in : out.gradFn().inputs()) assertEquals(true, in.isLeaf());
        Tensor[] g = Autograd.grad(Reduce.sum(out), new Tensor[] {x, w}, false);
        assertEquals(2, calls.get(), "forward once, recompute once");
        Tensor[] plain = Autograd.grad(Reduce.sum(block.apply(new Tensor[] {x, w})), new Tensor[] {x, w}, false);
        assertArrayEquals(plain[0].toDoubleArray(), g[0].toDoubleArray(), 1e-12);
        assertArrayEquals(plain[1].toDoubleArray(), g[1].toDoubleArray(), 1e-12);
    }

    @Test
    void secondOrderThroughACheckpoint() {
        var rng = new SplittableRandom(4);
        Tensor x = Tensor.randn(DType.FP64, rng, 1, 3, 4);
        Tensor w = Tensor.randn(DType.FP64, rng, 1, 4, 4);
        var r = GradCheck.secondOrder(a -> Checkpoint.run(b -> Maths.silu(Linalg.matmul(b[0], b[1])), a[0], a[1]), new Tensor[] {x, w}, 3);
        assertEquals(true, r.passed(), r.toString());
    }
}
