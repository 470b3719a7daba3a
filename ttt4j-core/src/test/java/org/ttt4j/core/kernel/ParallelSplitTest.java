package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * Kernels that split their rows over the engine's threads, at sizes that make several chunks:
 * the head-split permute against index arithmetic, RoPE in fp32 against the fp64 path rounded
 * (the same double arithmetic, so the same bits).
 */
class ParallelSplitTest {
    @Test
    void permuteKeepingTheLastAxisMovesEveryRunToItsPlace() {
        var rng = new SplittableRandom(1);
        int[] shape = {4, 130, 5, 40}; // 2,600 runs of 40 floats: three chunks, each starting mid-way through an axis
        Tensor x = Tensor.randn(DType.FP32, rng, 1, shape);
        Tensor y = Layout.permute(x, 0, 2, 1, 3);
        assertArrayEquals(new int[] {4, 5, 130, 40}, y.shape());
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 5; b++)
                for (int c = 0; c < 130; c++)
                    for (int e = 0; e < 40; e++) {
                        assertEquals(x.get(((a * 130 + c) * 5 + b) * 40 + e), y.get(((a * 5 + b) * 130 + c) * 40 + e));
                    }
    }

    @Test
    void ropeInFp32IsTheFp64ArithmeticRounded() {
        var rng = new SplittableRandom(2);
        for (boolean interleaved : new boolean[] {false, true}) {
            Tensor x = Tensor.randn(DType.FP32, rng, 1, 4, 3, 300, 34); // 3,600 rows of width 34
            int[] positions = new int[300];
            for (int i = 0; i < positions.length; i++) positions[i] = 7 + 3 * i;
            float[] fast = Nn.rope(x, positions, 10000, interleaved).toFloatArray();
            float[] ref = Nn.rope(x.to(DType.FP64), positions, 10000, interleaved).toFloatArray();
            assertArrayEquals(ref, fast, "interleaved " + interleaved);
            assertNotEquals(x.get(34 * 5 + 1), fast[34 * 5 + 1], "rotated");
        }
    }
}
