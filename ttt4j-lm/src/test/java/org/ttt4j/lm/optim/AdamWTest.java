package org.ttt4j.lm.optim;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.Tensor;

/**
 * {@link AdamW} against the update written out in {@link TextbookAdamW}: three steps on a matrix
 * and a norm-scale vector, with the decay on matrices only and on every parameter.
 */
class AdamWTest {
    private static final double[] MATRIX = {0.5, -1.2, 2.0, 0.8, -0.3, 1.5};
    private static final double[] SCALE = {1.0, 0.9, 1.3};
    /** Gradients of three steps: signs that flip, sizes from 1e-4 (where eps matters) to 2. */
    private static final double[][] MATRIX_GRADS = {
            {0.2, -0.5, 1.0, 3e-4, -2.0, 0.05},
            {-0.1, -0.4, 0.7, 2e-4, 1.5, 0.05},
            {0.3, 0.1, -0.2, -1e-4, 0.5, 0.04}};
    private static final double[][] SCALE_GRADS = {{0.3, -0.1, 0.02}, {0.25, 0.05, -0.03}, {-0.2, 0.1, 0.01}};
    private static final double[] LRS = {0.1, 0.05, 0.02};

    private record Setting(String what, double beta1, double beta2, double eps, double weightDecay, boolean vectorsDecayed,
                           Function<Map<String, Tensor>, AdamW> make) {}

    private static Map<String, Tensor> params() {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("proj.weight", Tensor.of(toFloats(MATRIX), 2, 3));
        p.put("norm.weight", Tensor.of(toFloats(SCALE), 3));
        return p;
    }

    private static float[] toFloats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    private static double[] rounded(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = (float) a[i];
        return r;
    }

    @Test
    void threeStepsFollowTheTextbookUpdate() {
        var settings = new Setting[] {
                new Setting("new AdamW(0.8, 0.99, eps 1e-3, wd 0.2): matrices only", 0.8, 0.99, 1e-3, 0.2, false,
                        p -> new AdamW(p, 0.8, 0.99, 1e-3, 0.2)),
                new Setting("AdamW.standard(wd 0.1): matrices only", 0.9, 0.95, 1e-8, 0.1, false, p -> AdamW.standard(p, 0.1)),
                new Setting("AdamW.standard(wd 0.1, every parameter)", 0.9, 0.95, 1e-8, 0.1, true, p -> AdamW.standard(p, 0.1, true)),
                new Setting("new AdamW(0.9, 0.999, eps 1e-8, wd 0.3, every parameter)", 0.9, 0.999, 1e-8, 0.3, true,
                        p -> new AdamW(p, 0.9, 0.999, 1e-8, 0.3, true))};
        for (Setting s : settings) {
            Map<String, Tensor> params = params();
            AdamW optimizer = s.make().apply(params);
            // The reference starts from the float values the optimizer holds.
            var matrix = new TextbookAdamW(rounded(MATRIX), s.beta1(), s.beta2(), s.eps(), s.weightDecay(), true);
            var scale = new TextbookAdamW(rounded(SCALE), s.beta1(), s.beta2(), s.eps(), s.weightDecay(), s.vectorsDecayed());
            for (int t = 0; t < LRS.length; t++) {
                Map<String, Tensor> grads = Map.of(
                        "proj.weight", Tensor.of(toFloats(MATRIX_GRADS[t]), 2, 3),
                        "norm.weight", Tensor.of(toFloats(SCALE_GRADS[t]), 3));
                optimizer.step(grads, LRS[t]);
                matrix.step(rounded(MATRIX_GRADS[t]), LRS[t]);
                scale.step(rounded(SCALE_GRADS[t]), LRS[t]);
                String at = s.what() + ", step " + (t + 1);
                assertEquals(t + 1, optimizer.stepCount(), at);
                assertClose(matrix.weights(), params.get("proj.weight"), 1e-6, at + ", matrix");
                assertClose(scale.weights(), params.get("norm.weight"), 1e-6, at + ", norm scale");
                Map<String, Tensor> state = optimizer.state();
                assertClose(matrix.firstMoment(), state.get("proj.weight.exp_avg"), 1e-7, at + ", matrix exp_avg");
                assertClose(matrix.secondMoment(), state.get("proj.weight.exp_avg_sq"), 1e-7, at + ", matrix exp_avg_sq");
                assertClose(scale.firstMoment(), state.get("norm.weight.exp_avg"), 1e-7, at + ", scale exp_avg");
                assertClose(scale.secondMoment(), state.get("norm.weight.exp_avg_sq"), 1e-7, at + ", scale exp_avg_sq");
            }
        }
    }

    /**
     * The decay is decoupled from the gradient: with a zero gradient the moments stay zero, a decayed
     * parameter shrinks by exactly (1 - lr wd) per step and one without decay does not move. (An L2
     * term added to the gradient would instead move every weight by about lr against its sign.)
     */
    @Test
    void decayIsDecoupledFromTheGradient() {
        double lr = 0.1, wd = 0.3;
        for (boolean every : new boolean[] {false, true}) {
            Map<String, Tensor> params = params();
            AdamW optimizer = AdamW.standard(params, wd, every);
            Map<String, Tensor> zero = Map.of("proj.weight", Tensor.zeros(2, 3), "norm.weight", Tensor.zeros(3));
            optimizer.step(zero, lr);
            optimizer.step(zero, lr);
            double shrink = (1 - lr * wd) * (1 - lr * wd);
            double[] matrix = rounded(MATRIX), scale = rounded(SCALE);
            for (int i = 0; i < matrix.length; i++) matrix[i] *= shrink;
            if (every) for (int i = 0; i < scale.length; i++) scale[i] *= shrink;
            assertClose(matrix, params.get("proj.weight"), 1e-6, "matrix, decay on every parameter: " + every);
            assertClose(scale, params.get("norm.weight"), 1e-6, "norm scale, decay on every parameter: " + every);
        }
    }

    private static void assertClose(double[] expected, Tensor actual, double tolerance, String what) {
        assertEquals(expected.length, actual.size(), what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual.get(i), tolerance, what + " [" + i + "]");
        }
    }
}
