package org.ttt4j.lm.layers;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;

/**
 * A model's named parameters in creation order: what the optimizer, the checkpoint writer and the
 * inner loops of the TTT methods iterate. Names follow the Hugging Face style
 * ({@code model.layers.3.self_attn.q_proj.weight}).
 */
public final class Params {
    private final Map<String, Tensor> byName = new LinkedHashMap<>();
    private final SplittableRandom rng;
    private final double std;
    private final Map<String, Tensor> given;

    /** Parameters drawn from one generator in creation order: same seed, same model. */
    public Params(long seed, double std) {
        this.rng = new SplittableRandom(seed);
        this.std = std;
        this.given = null;
    }

    /**
     * Parameters whose values are the given tensors, looked up by name with shapes checked: builds
     * a model around existing weights (in any dtype, e.g. fp64 copies for gradient checks).
     */
    public Params(Map<String, Tensor> values) {
        this.rng = new SplittableRandom(0);
        this.std = 0;
        this.given = Map.copyOf(values);
    }

    /** A weight matrix ~ normal(0, std). */
    public Tensor normal(String name, int... shape) {
        return add(name, shape, () -> Tensor.randn(DType.FP32, rng, std, shape));
    }

    /** A weight ~ uniform(-bound, bound) (torch's default for convolutions: bound = 1/sqrt(fan_in)). */
    public Tensor uniform(String name, double bound, int... shape) {
        return add(name, shape, () -> Tensor.uniform(DType.FP32, rng, -bound, bound, shape));
    }

    /** A norm scale initialised to ones. */
    public Tensor ones(String name, int... shape) {
        return add(name, shape, () -> Tensor.ones(DType.FP32, shape));
    }

    /** A bias initialised to zeros. */
    public Tensor zeros(String name, int... shape) {
        return add(name, shape, () -> Tensor.zeros(DType.FP32, shape));
    }

    /** Registers {@code name}: the given tensor if this set was built from given values, else a fresh one. */
    private Tensor add(String name, int[] shape, java.util.function.Supplier<Tensor> fresh) {
        Tensor t;
        if (given != null) {
            t = given.get(name);
            if (t == null) throw new IllegalArgumentException("no value given for parameter " + name);
            if (!java.util.Arrays.equals(t.shape(), shape)) {
                throw new IllegalArgumentException("parameter " + name + ": given shape " + java.util.Arrays.toString(t.shape())
                        + ", expected " + java.util.Arrays.toString(shape));
            }
        } else {
            t = fresh.get();
        }
        if (byName.putIfAbsent(name, t.requiresGrad(true)) != null) {
            throw new IllegalStateException("parameter " + name + " defined twice");
        }
        return t;
    }

    public Map<String, Tensor> all() {
        return Collections.unmodifiableMap(byName);
    }

    public Tensor get(String name) {
        Tensor t = byName.get(name);
        if (t == null) throw new IllegalArgumentException("no parameter named " + name);
        return t;
    }

    public long count() {
        long n = 0;
        for (Tensor t : byName.values()) n += t.size();
        return n;
    }
}
