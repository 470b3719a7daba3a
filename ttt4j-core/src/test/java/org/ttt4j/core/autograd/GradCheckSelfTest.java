package org.ttt4j.core.autograd;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.Tensor;

/** The checker itself: a deliberately wrong backward rule must be caught, at first and second order. */
class GradCheckSelfTest {
    private static final Tensor X = Tensor.randn(DType.FP64, new SplittableRandom(3), 1, 3, 4);

    /** exp with a backward that is off by 1% (first order wrong). */
    private static Tensor badExp(Tensor a) {
        Tensor out = Maths.exp(a.detach());
        return GradFn.record(out.detach(), "bad_exp", g -> new Tensor[] {Arith.mul(Arith.mul(g, Maths.exp(a)), 1.01)}, a);
    }

    /** sin-like op whose first derivative is right but is built from a constant: second order wrong. */
    private static Tensor frozenDerivativeSquare(Tensor a) {
        Tensor out = Arith.mul(a.detach(), a.detach());
        // d(a^2) = 2a g, but 2a is taken detached, so d2 misses the 2 g term.
        return GradFn.record(out, "frozen_square", g -> new Tensor[] {Arith.mul(g, Arith.mul(a.detach(), 2))}, a);
    }

    @Test
    void wrongFirstDerivativeFails() {
        Function<Tensor[], Tensor> f = x -> badExp(x[0]);
        assertFalse(GradCheck.firstOrder(f, new Tensor[] {X}, 1).passed());
        assertTrue(GradCheck.firstOrder(x -> Maths.exp(x[0]), new Tensor[] {X}, 1).passed());
    }

    @Test
    void wrongSecondDerivativeFails() {
        Function<Tensor[], Tensor> f = x -> frozenDerivativeSquare(x[0]);
        assertTrue(GradCheck.firstOrder(f, new Tensor[] {X}, 1).passed(), "first order is right");
        assertFalse(GradCheck.secondOrder(f, new Tensor[] {X}, 1).passed(), "second order must be caught");
        assertTrue(GradCheck.secondOrder(x -> Arith.mul(x[0], x[0]), new Tensor[] {X}, 1).passed());
    }

    @Test
    void wrongRuleInsideANetworkFails() {
        Function<Tensor[], Tensor> good = x -> Reduce.sum(Maths.tanh(Maths.exp(x[0])));
        Function<Tensor[], Tensor> bad = x -> Reduce.sum(Maths.tanh(badExp(x[0])));
        assertTrue(GradCheck.firstOrder(good, new Tensor[] {X}, 2).passed());
        assertFalse(GradCheck.firstOrder(bad, new Tensor[] {X}, 2).passed());
    }
}
