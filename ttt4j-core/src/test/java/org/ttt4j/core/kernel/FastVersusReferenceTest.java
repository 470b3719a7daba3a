package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.ttt4j.core.Close;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * Every vectorised kernel against its scalar twin: the same op run with {@code Simd} on and off,
 * on seeded random shapes with odd sizes and vector tails (lane count 16 on AVX-512, 8 on AVX2).
 */
class FastVersusReferenceTest {
    private static final int[] WIDTHS = {1, 3, 15, 16, 17, 33, 100, 257};

    private record Case(String name, Function<Tensor[], Tensor> f, Tensor... inputs) {}

    private static Tensor rand(SplittableRandom rng, int... shape) {
        return Tensor.randn(DType.FP32, rng, 1, shape);
    }

    private static Tensor positive(SplittableRandom rng, int... shape) {
        return Tensor.uniform(DType.FP32, rng, 0.1, 3, shape);
    }

    private static List<Case> cases() {
        var rng = new SplittableRandom(123);
        List<Case> c = new ArrayList<>();
        for (int w : WIDTHS) {
            int rows = 1 + rng.nextInt(5);
            Tensor a = rand(rng, rows, w), b = rand(rng, rows, w), row = rand(rng, w), p = positive(rng, rows, w);
            c.add(new Case("add " + rows + "x" + w, x -> Arith.add(x[0], x[1]), a, b));
            c.add(new Case("sub row broadcast " + w, x -> Arith.sub(x[0], x[1]), a, row));
            c.add(new Case("mul row broadcast swapped " + w, x -> Arith.sub(x[1], x[0]), a, row));
            c.add(new Case("mul " + w, x -> Arith.mul(x[0], x[1]), a, b));
            c.add(new Case("div " + w, x -> Arith.div(x[0], x[1]), a, p));
            c.add(new Case("div per-row column " + w, x -> Arith.div(x[0], x[1]), a, positive(rng, rows, 1)));
            c.add(new Case("sub per-row column swapped " + w, x -> Arith.sub(x[1], x[0]), a, rand(rng, rows, 1)));
            c.add(new Case("mul per-row 3-d " + w, x -> Arith.mul(x[0], x[1]), rand(rng, 2, rows, w), rand(rng, 2, rows, 1)));
            c.add(new Case("greater " + w, x -> Arith.greater(x[0], x[1]), a, b));
            c.add(new Case("exp " + w, x -> Maths.exp(x[0]), a));
            c.add(new Case("log " + w, x -> Maths.log(x[0]), p));
            c.add(new Case("sqrt " + w, x -> Maths.sqrt(x[0]), p));
            c.add(new Case("rsqrt " + w, x -> Maths.rsqrt(x[0]), p));
            c.add(new Case("pow " + w, x -> Maths.pow(x[0], 1.7), p));
            c.add(new Case("tanh " + w, x -> Maths.tanh(x[0]), a));
            c.add(new Case("sigmoid " + w, x -> Maths.sigmoid(x[0]), a));
            c.add(new Case("relu " + w, x -> Maths.relu(x[0]), a));
            c.add(new Case("silu " + w, x -> Maths.silu(x[0]), a));
            c.add(new Case("gelu " + w, x -> Maths.gelu(x[0]), a));
            c.add(new Case("scalar forms " + w, x -> Arith.mul(Arith.add(x[0], 0.5), -2), a));
            c.add(new Case("sum rows " + w, x -> Reduce.sum(x[0], new int[] {-1}, false), a));
            c.add(new Case("sum columns " + w, x -> Reduce.sum(x[0], new int[] {0}, false), a));
            c.add(new Case("sum all " + w, x -> Reduce.sum(x[0]), rand(rng, 3, rows, w)));
            c.add(new Case("max " + w, x -> Reduce.max(x[0], -1, false), a));
            c.add(new Case("softmax " + w, x -> Nn.softmax(x[0]), a));
            c.add(new Case("log_softmax " + w, x -> Nn.logSoftmax(x[0]), a));
            c.add(new Case("rms_norm " + w, x -> Nn.rmsNorm(x[0], x[1], 1e-6), a, row));
            c.add(new Case("layer_norm " + w, x -> Nn.layerNorm(x[0], x[1], x[1], 1e-6), a, row));
            int[] targets = new int[rows];
            for (int i = 0; i < rows; i++) targets[i] = i == 1 ? -1 : rng.nextInt(w);
            c.add(new Case("cross_entropy " + w, x -> Nn.crossEntropy(x[0], targets, -1), a));
            c.add(new Case("permute " + w, x -> Layout.permute(x[0], 2, 0, 1), rand(rng, 2, rows, w)));
            c.add(new Case("transpose keeps rows " + w, x -> Layout.permute(x[0], 1, 0, 2), rand(rng, 2, rows, w)));
        }
        return c;
    }

    @TestFactory
    Stream<DynamicTest> forwardAndBackwardAgree() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            Result fast = run(c, true), ref = run(c, false);
            assertClose(c.name() + " forward", ref.out, fast.out);
            for (int i = 0; i < ref.grads.length; i++) assertClose(c.name() + " grad " + i, ref.grads[i], fast.grads[i]);
        }));
    }

    private record Result(float[] out, float[][] grads) {}

    private static Result run(Case c, boolean simd) {
        boolean was = Simd.setEnabled(simd);
        try {
            Tensor[] x = new Tensor[c.inputs().length];
            for (int i = 0; i < x.length; i++) x[i] = c.inputs()[i].copy().requiresGrad(true);
            Tensor out = c.f().apply(x);
            float[][] grads = new float[x.length][];
            if (out.requiresGrad()) {
                Tensor w = Tensor.randn(DType.FP32, new SplittableRandom(5), 1, out.shape());
                Tensor[] g = org.ttt4j.core.autograd.Autograd.grad(new Tensor[] {out}, x, new Tensor[] {w}, false);
                for (int i = 0; i < x.length; i++) grads[i] = g[i].toFloatArray();
            } else {
                grads = new float[0][];
            }
            return new Result(out.toFloatArray(), grads);
        } finally {
            Simd.setEnabled(was);
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        Close.assertClose(what, expected, actual, 2e-5);
    }

    @Test
    void repeatedRunsAreBitIdentical() {
        var rng = new SplittableRandom(8);
        Tensor a = rand(rng, 64, 300), w = rand(rng, 300);
        float[] first = Nn.softmax(Nn.rmsNorm(a, w, 1e-6)).toFloatArray();
        for (int i = 0; i < 3; i++) assertArrayEquals(first, Nn.softmax(Nn.rmsNorm(a, w, 1e-6)).toFloatArray());
    }
}
