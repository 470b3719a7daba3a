package org.ttt4j.lm.layers;

import org.ttt4j.core.ops.Linalg;
import org.ttt4j.core.tensor.Tensor;

/**
 * y = x W^T without bias. W is stored [out, in] like torch.nn.Linear (and safetensors files from
 * Hugging Face); the GEMM reads it transposed in place.
 */
public record Linear(Tensor weight) {
    public static Linear create(Params p, String name, int in, int out) {
        return new Linear(p.normal(name + ".weight", out, in));
    }

    public Tensor apply(Tensor x) {
        return Linalg.matmul(x, weight, false, true);
    }
}
