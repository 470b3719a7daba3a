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

    /** Parameters drawn from one generator in creation order: same seed, same model. */
    public Params(long seed, double std) {
        this.rng = new SplittableRandom(seed);
        this.std = std;
    }

    /** A weight matrix ~ normal(0, std). */
    public Tensor normal(String name, int... shape) {
        return add(name, Tensor.randn(DType.FP32, rng, std, shape));
    }

    /** A norm scale initialised to ones. */
    public Tensor ones(String name, int... shape) {
        return add(name, Tensor.ones(DType.FP32, shape));
    }

    /** A bias initialised to zeros. */
    public Tensor zeros(String name, int... shape) {
        return add(name, Tensor.zeros(DType.FP32, shape));
    }

    private Tensor add(String name, Tensor t) {
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
