package org.ttt4j.lm.layers;

import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Linalg;
import org.ttt4j.core.tensor.Tensor;

/**
 * y = x W^T (+ b). W is stored [out, in] like torch.nn.Linear (and safetensors files from Hugging
 * Face); the GEMM reads it transposed in place. The bias is optional (null: none).
 */
public record Linear(Tensor weight, Tensor bias) {
    public Linear(Tensor weight) {
        this(weight, null);
    }

    public static Linear create(Params p, String name, int in, int out) {
        return new Linear(p.normal(name + ".weight", out, in));
    }

    /** A linear map with a bias (zeros at initialisation), named {@code name.weight} and {@code name.bias}. */
    public static Linear withBias(Params p, String name, int in, int out) {
        return new Linear(p.normal(name + ".weight", out, in), p.zeros(name + ".bias", out));
    }

    public Tensor apply(Tensor x) {
        Tensor y = Linalg.matmul(x, weight, false, true);
        return bias == null ? y : Arith.add(y, bias);
    }
}
