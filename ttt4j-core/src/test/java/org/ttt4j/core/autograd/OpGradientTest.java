package org.ttt4j.core.autograd;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ttt4j.core.ops.Arith.*;
import static org.ttt4j.core.ops.Maths.*;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.ttt4j.core.ops.Attention;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Linalg;
import org.ttt4j.core.ops.Masks;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * Every op's gradient, and the gradient of its gradient, against central finite differences in
 * FP64. Inputs stay away from kinks (relu at 0, ties in max) where derivatives do not exist.
 */
class OpGradientTest {
    private record Case(String name, Function<Tensor[], Tensor> f, Tensor... inputs) {}

    private static final SplittableRandom RNG = new SplittableRandom(42);

    private static Tensor randn(int... shape) {
        return Tensor.randn(DType.FP64, RNG, 1, shape);
    }

    /** Uniform in [lo, hi), e.g. positive inputs for log and sqrt. */
    private static Tensor uniform(double lo, double hi, int... shape) {
        return Tensor.uniform(DType.FP64, RNG, lo, hi, shape);
    }

    /** Magnitudes in [0.2, 1.2) with random signs: no element near a kink at 0. */
    private static Tensor awayFromZero(int... shape) {
        Tensor t = uniform(0.2, 1.2, shape);
        for (int i = 0; i < t.size(); i++) if (RNG.nextBoolean()) t.set(i, -t.get(i));
        return t;
    }

    private static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("add", x -> add(x[0], x[1]), randn(3, 4), randn(3, 4)));
        c.add(new Case("add broadcast row", x -> add(x[0], x[1]), randn(2, 3, 4), randn(4)));
        c.add(new Case("add broadcast both", x -> add(x[0], x[1]), randn(3, 1), randn(1, 5)));
        c.add(new Case("add 0-d", x -> add(x[0], x[1]), randn(2, 3), randn()));
        c.add(new Case("sub broadcast", x -> sub(x[0], x[1]), randn(4, 1, 3), randn(2, 3)));
        c.add(new Case("mul broadcast", x -> mul(x[0], x[1]), randn(2, 3, 4), randn(3, 1)));
        c.add(new Case("div", x -> div(x[0], x[1]), randn(3, 4), uniform(0.5, 2, 3, 4)));
        c.add(new Case("div broadcast", x -> div(x[0], x[1]), randn(3, 4), uniform(0.5, 2, 4)));
        c.add(new Case("neg", x -> neg(x[0]), randn(5)));
        c.add(new Case("scalar forms", x -> rsub(2, div(sub(mul(add(x[0], 1.5), 3), 0.5), 2)), randn(2, 3)));
        c.add(new Case("exp", x -> exp(x[0]), randn(2, 5)));
        c.add(new Case("log", x -> log(x[0]), uniform(0.3, 3, 2, 5)));
        c.add(new Case("sqrt", x -> sqrt(x[0]), uniform(0.3, 3, 7)));
        c.add(new Case("rsqrt", x -> rsqrt(x[0]), uniform(0.3, 3, 7)));
        c.add(new Case("pow 3", x -> pow(x[0], 3), randn(6)));
        c.add(new Case("pow -1.5", x -> pow(x[0], -1.5), uniform(0.5, 2, 6)));
        c.add(new Case("tanh", x -> tanh(x[0]), randn(2, 5)));
        c.add(new Case("sigmoid", x -> sigmoid(x[0]), randn(2, 5)));
        c.add(new Case("relu", x -> mul(relu(x[0]), x[0]), awayFromZero(3, 5)));
        c.add(new Case("silu", x -> silu(x[0]), randn(3, 5)));
        c.add(new Case("gelu", x -> gelu(x[0]), randn(3, 5)));
        c.add(new Case("matmul", x -> Linalg.matmul(x[0], x[1]), randn(3, 4), randn(4, 5)));
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                c.add(new Case("matmul batched transA=" + ta + " transB=" + tb,
                        x -> Linalg.matmul(x[0], x[1], ta, tb),
                        randn(2, ta ? 4 : 3, ta ? 3 : 4), randn(2, tb ? 5 : 4, tb ? 4 : 5)));
            }
        }
        c.add(new Case("matmul shared weight", x -> Linalg.matmul(x[0], x[1], false, true), randn(2, 3, 4), randn(5, 4)));
        c.add(new Case("sum all", x -> Reduce.sum(x[0]), randn(2, 3, 4)));
        c.add(new Case("sum axes 0,2", x -> Reduce.sum(x[0], new int[] {0, 2}, false), randn(2, 3, 4)));
        c.add(new Case("sum axis -1 keepdim", x -> Reduce.sum(x[0], new int[] {-1}, true), randn(2, 3, 4)));
        c.add(new Case("mean axis 1", x -> Reduce.mean(x[0], new int[] {1}, false), randn(2, 3, 4)));
        c.add(new Case("max axis 1", x -> mul(Reduce.max(x[0], 1, false), Reduce.max(x[0], 1, false)), randn(2, 5, 3)));
        c.add(new Case("softmax", x -> Nn.softmax(x[0]), randn(3, 6)));
        c.add(new Case("log_softmax", x -> Nn.logSoftmax(x[0]), randn(3, 6)));
        c.add(new Case("cross_entropy with ignore", x -> Nn.crossEntropy(x[0], new int[] {1, -100, 4, 0}, -100), randn(2, 2, 5)));
        c.add(new Case("cross_entropy mean", x -> Nn.crossEntropyMean(x[0], new int[] {3, 1, 2}, -100), randn(3, 5)));
        c.add(new Case("rms_norm", x -> Nn.rmsNorm(x[0], x[1], 1e-6), randn(3, 6), randn(6)));
        c.add(new Case("layer_norm", x -> Nn.layerNorm(x[0], x[1], x[2], 1e-6), randn(3, 6), randn(6), randn(6)));
        c.add(new Case("layer_norm per head", x -> Nn.layerNorm(x[0], x[1], x[2], 1e-6), randn(2, 2, 3, 4), randn(2, 1, 4), randn(2, 1, 4)));
        c.add(new Case("embedding", x -> Nn.embedding(x[0], new int[] {2, 0, 2, 4, 1, 2}, 2, 3), randn(5, 3)));
        c.add(new Case("scatter_add", x -> Nn.scatterAdd(x[0], new int[] {1, 0, 1}, 3), randn(3, 4)));
        c.add(new Case("concat", x -> Layout.concat(List.of(x[0], x[1]), 1), randn(2, 3, 2), randn(2, 1, 2)));
        c.add(new Case("slice", x -> Layout.slice(x[0], 1, 1, 3), randn(2, 4, 3)));
        c.add(new Case("narrow", x -> Layout.narrow(x[0], 1, 3), randn(4, 3)));
        c.add(new Case("pad", x -> Layout.pad(x[0], -1, 2, 6), randn(2, 3)));
        c.add(new Case("reshape", x -> mul(Layout.reshape(x[0], 3, -1), Layout.reshape(x[0], 3, 4)), randn(2, 6)));
        c.add(new Case("transpose", x -> Layout.transpose(x[0], 0, 2), randn(2, 3, 4)));
        c.add(new Case("permute", x -> Layout.permute(x[0], 2, 0, 1), randn(2, 3, 4)));
        c.add(new Case("where with causal mask", x -> where(Masks.causal(3, 4), x[0], x[1]), randn(2, 3, 4), randn(3, 4)));
        c.add(new Case("rope interleaved", x -> Nn.rope(x[0], new int[] {0, 1, 5}, 10000, true), randn(2, 3, 6)));
        c.add(new Case("rope half-split", x -> Nn.rope(x[0], new int[] {3, 4, 7}, 500, false), randn(2, 3, 6)));
        c.add(new Case("attention causal", x -> Attention.attention(x[0], x[1], x[2], true, 0, 0.5),
                randn(1, 2, 4, 3), randn(1, 2, 4, 3), randn(1, 2, 4, 2)));
        c.add(new Case("attention sliding window", x -> Attention.attention(x[0], x[1], x[2], true, 2, 0.7),
                randn(2, 1, 5, 3), randn(2, 1, 5, 3), randn(2, 1, 5, 3)));
        c.add(new Case("attention with cache (t < s)", x -> Attention.attention(x[0], x[1], x[2], true, 3, 0.6),
                randn(1, 2, 2, 4), randn(1, 2, 5, 4), randn(1, 2, 5, 3)));
        c.add(new Case("attention non-causal", x -> Attention.attention(x[0], x[1], x[2], false, 0, 0.4),
                randn(1, 1, 3, 2), randn(1, 1, 4, 2), randn(1, 1, 4, 2)));
        c.add(new Case("checkpoint", x -> Checkpoint.run(a -> tanh(Linalg.matmul(a[0], a[1])), x[0], x[1]), randn(2, 3), randn(3, 2)));
        return c;
    }

    @TestFactory
    Stream<DynamicTest> firstOrder() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            var r = GradCheck.firstOrder(c.f(), c.inputs(), 7);
            assertTrue(r.passed(), c.name() + ": " + r);
        }));
    }

    @TestFactory
    Stream<DynamicTest> secondOrder() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            var r = GradCheck.secondOrder(c.f(), c.inputs(), 11);
            assertTrue(r.passed(), c.name() + ": " + r);
        }));
    }
}
