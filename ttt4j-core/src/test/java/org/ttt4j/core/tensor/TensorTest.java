package org.ttt4j.core.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Attention;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Linalg;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.ops.Reduce;

class TensorTest {
    @Test
    void zeroDimensionalTensorsWork() {
        Tensor s = Tensor.scalar(DType.FP64, 3).requiresGrad(true);
        assertEquals(0, s.rank());
        assertEquals(1, s.size());
        Tensor y = Arith.mul(s, s);
        assertArrayEquals(new int[0], y.shape());
        assertEquals(9, y.item());
        assertEquals(6, Autograd.grad(y, s, false).item());
        assertEquals(10, Reduce.sum(Arith.add(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), Tensor.scalar(0))).item());
    }

    @Test
    void reshapeAndLeadingSlicesAreViews() {
        Tensor a = Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 3, 2);
        Tensor r = Layout.reshape(a, 2, 3);
        Tensor rows = Layout.narrow(a, 1, 3);
        assertSame(a.storage(), r.storage());
        assertSame(a.storage(), rows.storage());
        assertEquals(2, rows.offset());
        assertArrayEquals(new float[] {2, 3, 4, 5}, rows.toFloatArray());
        assertEquals(5, r.at(1, 2));
        assertArrayEquals(new int[] {3, 2}, Layout.reshape(r, -1, 2).shape());
    }

    @Test
    void shapeMismatchesNameTheOpAndBothShapes() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(4, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> Arith.add(a, b));
        assertTrue(e.getMessage().contains("add") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Linalg.matmul(a, b));
        assertTrue(e.getMessage().startsWith("matmul") && e.getMessage().contains("[4, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Layout.concat(List.of(a, Tensor.zeros(2, 3, 1)), 0));
        assertTrue(e.getMessage().startsWith("concat"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Layout.reshape(a, 4, 2));
        assertTrue(e.getMessage().contains("reshape"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Attention.attention(Tensor.zeros(1, 4, 8), Tensor.zeros(1, 4, 6), Tensor.zeros(1, 4, 8), true, 0, 1));
        assertTrue(e.getMessage().startsWith("attention"), e.getMessage());
    }

    @Test
    void badIndicesAndSizesAreRejectedClearly() {
        Tensor table = Tensor.zeros(5, 2);
        var e = assertThrows(IllegalArgumentException.class, () -> Nn.embedding(table, new int[] {1, 7}, 2));
        assertTrue(e.getMessage().contains("token id 7"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Nn.crossEntropy(Tensor.zeros(2, 5), new int[] {0, 5}, -1));
        assertTrue(e.getMessage().contains("target 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(1 << 16, 1 << 16));
        assertTrue(e.getMessage().contains("elements"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(3, -1));
    }

    @Test
    void noGradScopeRecordsNothing() {
        Tensor w = Tensor.randn(DType.FP32, new SplittableRandom(1), 1, 3, 3).requiresGrad(true);
        try (var s = GradMode.disabled()) {
            Tensor y = Linalg.matmul(w, w);
            assertFalse(y.requiresGrad());
            assertNull(y.gradFn());
        }
        assertTrue(Linalg.matmul(w, w).requiresGrad());
    }

    @Test
    void backwardAccumulatesIntoLeaves() {
        Tensor w = Tensor.of(new double[] {1, 2, 3}, 3).requiresGrad(true);
        Autograd.backward(Reduce.sum(Arith.mul(w, w)));
        Autograd.backward(Reduce.sum(w));
        assertArrayEquals(new double[] {3, 5, 7}, w.grad().toDoubleArray());
    }

    @Test
    void gradientOfGradientIsAFunctionYouCanApplyAgain() {
        // f(x) = x^4: f' = 4x^3, f'' = 12x^2, f''' = 24x.
        Tensor x = Tensor.scalar(DType.FP64, 1.5).requiresGrad(true);
        Tensor y = Arith.mul(Arith.mul(x, x), Arith.mul(x, x));
        Tensor d1 = Autograd.grad(y, x, true);
        Tensor d2 = Autograd.grad(d1, x, true);
        Tensor d3 = Autograd.grad(d2, x, false);
        assertEquals(4 * 3.375, d1.item(), 1e-12);
        assertEquals(12 * 2.25, d2.item(), 1e-12);
        assertEquals(24 * 1.5, d3.item(), 1e-12);
    }

    @Test
    void sameSeedSameTensor() {
        assertArrayEquals(Tensor.randn(DType.FP32, new SplittableRandom(9), 1, 10).toFloatArray(),
                Tensor.randn(DType.FP32, new SplittableRandom(9), 1, 10).toFloatArray());
    }
}
