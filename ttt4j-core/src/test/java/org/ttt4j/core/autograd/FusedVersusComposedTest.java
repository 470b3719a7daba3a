package org.ttt4j.core.autograd;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.Close;
import org.ttt4j.core.ops.Attention;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * Ops whose first-order backward takes a fused shortcut (silu, gelu, softmax, log-softmax, the norms,
 * cross-entropy, attention) must give the same gradient as their
 * differentiable route (used under createGraph), and the fused attention must equal attention
 * written with ordinary ops.
 */
class FusedVersusComposedTest {
    private static void sameGradients(String what, Function<Tensor[], Tensor> f, Tensor... inputs) {
        Tensor[] a = fresh(inputs), b = fresh(inputs);
        Tensor outA = f.apply(a), outB = f.apply(b);
        Tensor seed = Tensor.randn(outA.dtype(), new SplittableRandom(4), 1, outA.shape());
        Tensor[] fused = Autograd.grad(new Tensor[] {outA}, a, new Tensor[] {seed}, false);
        Tensor[] composed = Autograd.grad(new Tensor[] {outB}, b, new Tensor[] {seed}, true);
        for (int i = 0; i < inputs.length; i++) {
            assertTrue(composed[i].requiresGrad(), what + ": createGraph result must carry history");
            for (int e = 0; e < fused[i].size(); e++) {
                double x = fused[i].get(e), y = composed[i].get(e);
                assertTrue(Math.abs(x - y) <= 1e-4 + 1e-4 * Math.abs(y), what + " input " + i + " element " + e + ": " + x + " vs " + y);
            }
        }
    }

    private static Tensor[] fresh(Tensor[] in) {
        Tensor[] r = new Tensor[in.length];
        for (int i = 0; i < in.length; i++) r[i] = in[i].copy().requiresGrad(true);
        return r;
    }

    @Test
    void siluAndGelu() {
        var rng = new SplittableRandom(1);
        Tensor x = Tensor.randn(DType.FP32, rng, 2, 7, 37);
        sameGradients("silu", t -> Maths.silu(t[0]), x);
        sameGradients("gelu", t -> Maths.gelu(t[0]), x);
    }

    @Test
    void rowOpsAndCrossEntropy() {
        var rng = new SplittableRandom(3);
        for (int w : new int[] {1, 7, 16, 33, 300}) {
            Tensor x = Tensor.randn(DType.FP32, rng, 2, 3, 5, w), weight = Tensor.randn(DType.FP32, rng, 1, w);
            sameGradients("softmax " + w, t -> Nn.softmax(t[0]), x);
            sameGradients("log_softmax " + w, t -> Nn.logSoftmax(t[0]), x);
            sameGradients("rms_norm " + w, t -> Nn.rmsNorm(t[0], t[1], 1e-6), x, weight);
            sameGradients("layer_norm " + w, t -> Nn.layerNorm(t[0], t[1], t[1], 1e-6), x, weight);
            int[] targets = new int[15];
            for (int i = 0; i < targets.length; i++) targets[i] = i % 4 == 1 ? -100 : rng.nextInt(w);
            sameGradients("cross_entropy " + w, t -> Nn.crossEntropy(t[0], targets, -100), x);
        }
    }

    @Test
    void attentionKernelsAgreeWithComposedAttention() {
        var rng = new SplittableRandom(2);
        for (int window : new int[] {0, 1, 5, 40}) {
            for (int[] ts : new int[][] {{33, 33}, {7, 50}, {1, 20}}) {
                Tensor q = Tensor.randn(DType.FP32, rng, 1, 2, 3, ts[0], 20);
                Tensor k = Tensor.randn(DType.FP32, rng, 1, 2, 3, ts[1], 20);
                Tensor v = Tensor.randn(DType.FP32, rng, 1, 2, 3, ts[1], 9);
                String what = "window " + window + " t " + ts[0] + " s " + ts[1];
                sameGradients(what, t -> Attention.attention(t[0], t[1], t[2], true, window, 0.3), q, k, v);
                float[] fused = Attention.attention(q, k, v, true, window, 0.3).toFloatArray();
                float[] composed = Attention.composed(q, k, v, true, window, 0.3).toFloatArray();
                Close.assertClose(what, composed, fused, 1e-4);
            }
        }
    }
}
