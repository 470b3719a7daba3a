package org.ttt4j.core.autograd;

import java.util.SplittableRandom;
import java.util.function.Function;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * Checks autograd against central finite differences, in FP64 so tolerances can be tight.
 *
 * <p>{@link #firstOrder} compares d/dx of s(x) = sum(f(x) * w), with a fixed random w, against
 * (s(x + eps e_i) - s(x - eps e_i)) / 2 eps for every element of every input. {@link #secondOrder}
 * applies the same check to {@code h(x) = sum_i <d s / d x_i, v_i>} whose gradient is the Hessian-vector
 * product computed by differentiating the backward pass itself (createGraph).
 */
public final class GradCheck {
    private GradCheck() {}

    /** Largest error found and where; {@code passed} against the tolerances used. */
    public record Result(boolean passed, double worst, String where) {
        @Override
        public String toString() {
            return (passed ? "ok" : "FAILED") + " worst=" + worst + " at " + where;
        }
    }

    public static Result firstOrder(Function<Tensor[], Tensor> f, Tensor[] inputs, long seed) {
        return compare(weightedSum(f, inputs, seed), inputs, 1e-6, 1e-6, 1e-6);
    }

    public static Result secondOrder(Function<Tensor[], Tensor> f, Tensor[] inputs, long seed) {
        Function<Tensor[], Tensor> s = weightedSum(f, inputs, seed);
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        Tensor[] v = new Tensor[inputs.length];
        for (int i = 0; i < v.length; i++) v[i] = Tensor.randn(DType.FP64, rng, 1, inputs[i].shape());
        Function<Tensor[], Tensor> h = xs -> {
            Tensor[] g = Autograd.grad(new Tensor[] {s.apply(xs)}, xs, null, true);
            Tensor acc = null;
            for (int i = 0; i < xs.length; i++) {
                Tensor term = Reduce.sum(Arith.mul(g[i], v[i]));
                acc = acc == null ? term : Arith.add(acc, term);
            }
            return acc;
        };
        return compare(h, inputs, 1e-5, 1e-5, 1e-5);
    }

    /** x -> sum(f(x) * w) with w ~ N(0, 1) fixed by the seed, so every output element matters. */
    private static Function<Tensor[], Tensor> weightedSum(Function<Tensor[], Tensor> f, Tensor[] inputs, long seed) {
        Tensor probe = f.apply(fresh(inputs));
        Tensor w = Tensor.randn(DType.FP64, new SplittableRandom(seed), 1, probe.shape());
        return xs -> Reduce.sum(Arith.mul(f.apply(xs), w));
    }

    private static Result compare(Function<Tensor[], Tensor> s, Tensor[] inputs, double eps, double atol, double rtol) {
        Tensor[] xs = fresh(inputs);
        Tensor[] analytic = Autograd.grad(new Tensor[] {s.apply(xs)}, xs, null, false);
        double worst = 0;
        String where = "-";
        boolean passed = true;
        for (int i = 0; i < inputs.length; i++) {
            for (int e = 0; e < inputs[i].size(); e++) {
                double plus = perturbed(s, inputs, i, e, eps), minus = perturbed(s, inputs, i, e, -eps);
                double numeric = (plus - minus) / (2 * eps);
                double a = analytic[i].get(e);
                double err = Math.abs(a - numeric);
                double allowed = atol + rtol * Math.abs(numeric);
                if (!(err <= allowed)) passed = false;
                double score = err / allowed;
                if (!(score <= worst)) {
                    worst = score;
                    where = "input " + i + " element " + e + ": analytic " + a + " numeric " + numeric;
                }
            }
        }
        return new Result(passed, worst, where);
    }

    private static double perturbed(Function<Tensor[], Tensor> s, Tensor[] inputs, int which, int element, double delta) {
        Tensor[] xs = fresh(inputs);
        xs[which].set(element, xs[which].get(element) + delta);
        return s.apply(xs).item();
    }

    /** FP64 leaf copies that require grad: each evaluation starts from an untouched graph. */
    private static Tensor[] fresh(Tensor[] inputs) {
        Tensor[] xs = new Tensor[inputs.length];
        for (int i = 0; i < xs.length; i++) xs[i] = inputs[i].to(DType.FP64).requiresGrad(true);
        return xs;
    }
}
