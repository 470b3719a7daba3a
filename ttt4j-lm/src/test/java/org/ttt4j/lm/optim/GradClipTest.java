package org.ttt4j.lm.optim;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.Tensor;

/**
 * Global-norm clipping against a case worked by hand: gradients {3, 4} and {12} have the global
 * norm sqrt(9 + 16 + 144) = 13 (the first tensor alone has norm 5, the second 12).
 */
class GradClipTest {
    private static Map<String, Tensor> grads() {
        Map<String, Tensor> g = new LinkedHashMap<>();
        g.put("a", Tensor.of(new float[] {3, 4}, 2));
        g.put("b", Tensor.of(new float[] {12}, 1));
        return g;
    }

    @Test
    void theNormIsGlobal() {
        assertEquals(13, GradClip.norm(grads()), 1e-12);
    }

    @Test
    void aboveTheNormNothingChanges() {
        Map<String, Tensor> g = grads();
        assertEquals(13, GradClip.clip(g, 26), 1e-12, "the norm before clipping");
        assertArrayEquals(new float[] {3, 4}, g.get("a").toFloatArray(), "max 26: unchanged");
        assertArrayEquals(new float[] {12}, g.get("b").toFloatArray(), "max 26: unchanged");
        assertEquals(13, GradClip.clip(g, 13.5), 1e-12, "just above the norm");
        assertArrayEquals(new float[] {3, 4}, g.get("a").toFloatArray(), "max 13.5: unchanged");
        assertArrayEquals(new float[] {12}, g.get("b").toFloatArray(), "max 13.5: unchanged");
    }

    /**
     * Max 6.5, half the norm: every gradient is scaled by the same 6.5 / 13, so {3, 4} -> {1.5, 2}
     * although its own norm 5 is below 6.5, and {12} -> {6}. (The scale is max / (norm + 1e-6),
     * PyTorch's clip_grad_norm_; the 1e-6 is far below the tolerance.)
     */
    @Test
    void belowTheNormEveryGradientIsScaledByTheSameFactor() {
        Map<String, Tensor> g = grads();
        assertEquals(13, GradClip.clip(g, 6.5), 1e-12, "the norm before clipping");
        assertArrayEquals(new double[] {1.5, 2}, g.get("a").toDoubleArray(), 1e-6, "{3, 4} * 6.5 / 13, though its own norm is 5");
        assertArrayEquals(new double[] {6}, g.get("b").toDoubleArray(), 1e-6, "{12} * 6.5 / 13");
        assertEquals(6.5, GradClip.norm(g), 1e-6, "the global norm after clipping is the maximum");
        // max 1: scale 1 / 13
        Map<String, Tensor> h = grads();
        GradClip.clip(h, 1);
        assertArrayEquals(new double[] {3.0 / 13, 4.0 / 13}, h.get("a").toDoubleArray(), 1e-6, "{3, 4} / 13");
        assertArrayEquals(new double[] {12.0 / 13}, h.get("b").toDoubleArray(), 1e-6, "{12} / 13");
    }

    @Test
    void maxZeroDisablesClipping() {
        Map<String, Tensor> g = grads();
        assertEquals(13, GradClip.clip(g, 0), 1e-12);
        assertArrayEquals(new float[] {3, 4}, g.get("a").toFloatArray());
        assertArrayEquals(new float[] {12}, g.get("b").toFloatArray());
    }
}
