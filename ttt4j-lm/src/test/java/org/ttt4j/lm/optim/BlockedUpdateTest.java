package org.ttt4j.lm.optim;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.Tensor;

/**
 * The clip and the optimizer on gradients of several blocks each ({@link GradClip#BLOCK}), as the
 * engine's threads run them: the norm against a plain double sum, the scaling against a float
 * product per element, and AdamW's fused scale against clipping first.
 */
class BlockedUpdateTest {
    private static Map<String, Tensor> tensors(long seed, double size) {
        var rng = new SplittableRandom(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        int[][] shapes = {{300, 700}, {5}, {3 * GradClip.BLOCK + 17}};
        for (int s = 0; s < shapes.length; s++) {
            int n = 1;
            for (int d : shapes[s]) n *= d;
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) (rng.nextGaussian() * size);
            m.put("t" + s, Tensor.of(a, shapes[s]));
        }
        return m;
    }

    @Test
    void theNormOfManyBlocksIsTheSumOfAllSquares() {
        Map<String, Tensor> g = tensors(1, 0.01);
        double ss = 0;
        for (Tensor t : g.values()) for (float x : t.toFloatArray()) ss += (double) x * x;
        assertEquals(Math.sqrt(ss), GradClip.norm(g), 1e-12 * Math.sqrt(ss));
        assertEquals(GradClip.norm(g), GradClip.norm(tensors(1, 0.01)), "the same gradients give the same bits");
    }

    @Test
    void clippingScalesEveryElementByTheSameFloat() {
        Map<String, Tensor> g = tensors(2, 0.01), before = tensors(2, 0.01);
        double n = GradClip.clip(g, 1.0);
        float s = GradClip.scale(n, 1.0);
        assertTrue(n > 1 && s < 1, "the gradients are above the maximum: norm " + n);
        for (String k : g.keySet()) {
            float[] a = before.get(k).toFloatArray(), b = g.get(k).toFloatArray();
            for (int i = 0; i < a.length; i++) assertEquals(a[i] * s, b[i], 0f, k + "[" + i + "]");
        }
    }

    @Test
    void aScaledStepEqualsClippingThenStepping() {
        Map<String, Tensor> p1 = tensors(3, 1), p2 = tensors(3, 1);
        AdamW a1 = AdamW.standard(p1, 0.1), a2 = AdamW.standard(p2, 0.1);
        for (int step = 0; step < 3; step++) {
            Map<String, Tensor> g1 = tensors(10 + step, 0.01), g2 = tensors(10 + step, 0.01);
            double n1 = GradClip.clip(g1, 1.0);
            a1.step(g1, 1e-3);
            double n2 = GradClip.norm(g2);
            a2.step(g2, 1e-3, GradClip.scale(n2, 1.0));
            assertEquals(n1, n2, 0.0);
        }
        for (String k : p1.keySet()) assertArrayEquals(p1.get(k).toFloatArray(), p2.get(k).toFloatArray(), k);
        Map<String, Tensor> s1 = a1.state(), s2 = a2.state();
        for (String k : s1.keySet()) assertArrayEquals(s1.get(k).toFloatArray(), s2.get(k).toFloatArray(), k);
    }
}
