package org.ttt4j.core.autograd;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Linalg;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * {@link Nn#linearCrossEntropy}, the LM head fused with the loss in chunks of rows, against the
 * closed forms in double (loss = logsumexp(x w^T) - logit of the target; dx = g (p - onehot) w,
 * dw = sum over rows of g (p - onehot)^T x) and against the two ops it replaces: a mean (the
 * same gradient on every row), a weighted sum (a different one per row: the chunks are redone),
 * ignored rows, and second derivatives through the op.
 */
class LinearCrossEntropyTest {
    /** 4,099 words: chunks of 2^21 / 4,099 = 511 rows, so 1,100 rows make two whole chunks and a ragged one. */
    private static final int N = 1100, D = 24, V = 4099;

    private static int[] targets(SplittableRandom rng, int n, int v) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = i % 13 == 5 ? -1 : rng.nextInt(v);
        return t;
    }

    @Test
    void lossesAndGradientsAreTheClosedFormsForAMeanAndForPerRowWeights() {
        var rng = new SplittableRandom(3);
        Tensor x0 = Tensor.randn(DType.FP32, rng, 1, N, D), w0 = Tensor.randn(DType.FP32, rng, 0.5, V, D);
        int[] t = targets(rng, N, V);
        Tensor weights = Tensor.randn(DType.FP32, rng, 1, N);
        for (boolean mean : new boolean[] {true, false}) {
            Tensor x = x0.copy().requiresGrad(true), w = w0.copy().requiresGrad(true);
            Tensor losses = Nn.linearCrossEntropy(x, w, t, -1);
            Tensor s = mean ? Nn.linearCrossEntropyMean(x, w, t, -1) : Reduce.sum(Arith.mul(losses, weights));
            Tensor[] g = Autograd.grad(new Tensor[] {s}, new Tensor[] {x, w}, null, false);
            int counted = 0;
            for (int ti : t) if (ti != -1) counted++;
            double[] gRow = new double[N];
            for (int i = 0; i < N; i++) gRow[i] = t[i] == -1 ? 0 : mean ? 1.0 / counted : weights.get(i);
            double[][] ref = closedForms(x0.toFloatArray(), w0.toFloatArray(), t, gRow);
            float[] l = losses.toFloatArray(), dx = g[0].toFloatArray(), dw = g[1].toFloatArray();
            for (int i = 0; i < N; i++) assertEquals(ref[0][i], l[i], 2e-5 * (1 + Math.abs(ref[0][i])), "loss row " + i);
            double scale = mean ? 1.0 / counted : 1;
            for (int i = 0; i < dx.length; i++) assertEquals(ref[1][i], dx[i], 2e-5 * scale * (1 + Math.abs(ref[1][i] / scale)), "dx " + i);
            for (int i = 0; i < dw.length; i++) assertEquals(ref[2][i], dw[i], 2e-4 * scale * (1 + Math.abs(ref[2][i] / scale)), "dw " + i);
        }
    }

    /** loss per row, dx, dw in double. */
    private static double[][] closedForms(float[] x, float[] w, int[] t, double[] g) {
        double[] loss = new double[N], dx = new double[N * D], dw = new double[V * D], z = new double[V];
        for (int i = 0; i < N; i++) {
            if (t[i] == -1) continue;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < V; j++) {
                double s = 0;
                for (int k = 0; k < D; k++) s += (double) x[i * D + k] * w[j * D + k];
                z[j] = s;
                max = Math.max(max, s);
            }
            double sum = 0;
            for (int j = 0; j < V; j++) sum += Math.exp(z[j] - max);
            loss[i] = max + Math.log(sum) - z[t[i]];
            for (int j = 0; j < V; j++) {
                double d = (Math.exp(z[j] - max) / sum - (j == t[i] ? 1 : 0)) * g[i];
                for (int k = 0; k < D; k++) {
                    dx[i * D + k] += d * w[j * D + k];
                    dw[j * D + k] += d * x[i * D + k];
                }
            }
        }
        return new double[][] {loss, dx, dw};
    }

    @Test
    void agreesWithTheTwoOpsAndIsThemWithoutGradients() {
        var rng = new SplittableRandom(4);
        int n = 70, v = 301;
        Tensor x0 = Tensor.randn(DType.FP32, rng, 1, n, D), w0 = Tensor.randn(DType.FP32, rng, 1, v, D);
        int[] t = targets(rng, n, v);
        Tensor x = x0.copy().requiresGrad(true), w = w0.copy().requiresGrad(true);
        Tensor x2 = x0.copy().requiresGrad(true), w2 = w0.copy().requiresGrad(true);
        Tensor fused = Nn.linearCrossEntropyMean(x, w, t, -1);
        Tensor composed = Nn.crossEntropyMean(Linalg.matmul(x2, w2, false, true), t, -1);
        assertEquals(composed.item(), fused.item(), 1e-6 * Math.abs(composed.item()));
        Tensor[] a = Autograd.grad(new Tensor[] {fused}, new Tensor[] {x, w}, null, false);
        Tensor[] b = Autograd.grad(new Tensor[] {composed}, new Tensor[] {x2, w2}, null, false);
        for (int i = 0; i < 2; i++) org.ttt4j.core.Close.assertClose("input " + i, b[i].toFloatArray(), a[i].toFloatArray(), 1e-6);
        try (var off = org.ttt4j.core.tensor.GradMode.disabled()) {
            assertArrayEquals(Nn.crossEntropy(Linalg.matmul(x0, w0, false, true), t, -1).toFloatArray(),
                    Nn.linearCrossEntropy(x0, w0, t, -1).toFloatArray(), "no gradients: the two ops, bit for bit");
        }
        assertThrows(IllegalArgumentException.class, () -> Nn.linearCrossEntropy(x, w, new int[] {v}, -1));
        assertThrows(IllegalArgumentException.class, () -> Nn.linearCrossEntropy(x, Tensor.zeros(DType.FP32, v, D + 1), t, -1));
    }

    @Test
    void secondDerivativesAreThoseOfTheTwoOps() {
        var rng = new SplittableRandom(8);
        int n = 9, v = 40, d = 5;
        Tensor x0 = Tensor.randn(DType.FP32, rng, 1, n, d), w0 = Tensor.randn(DType.FP32, rng, 1, v, d);
        Tensor probe = Tensor.randn(DType.FP32, rng, 1, n, d);
        int[] t = targets(rng, n, v);
        Tensor[] h = new Tensor[2];
        for (int k = 0; k < 2; k++) {
            Tensor x = x0.copy().requiresGrad(true), w = w0.copy().requiresGrad(true);
            Tensor s = k == 0 ? Nn.linearCrossEntropyMean(x, w, t, -1) : Nn.crossEntropyMean(Linalg.matmul(x, w, false, true), t, -1);
            Tensor[] g = Autograd.grad(s, new Tensor[] {x, w}, true);
            h[k] = Autograd.grad(Reduce.sum(Arith.mul(g[0], probe)), new Tensor[] {w}, false)[0];
        }
        org.ttt4j.core.Close.assertClose("d/dw <dx, probe>", h[1].toFloatArray(), h[0].toFloatArray(), 1e-5);
        assertTrue(Math.abs(h[0].get(0)) + Math.abs(h[0].get(1)) > 0, "a non-trivial second derivative");
    }
}
