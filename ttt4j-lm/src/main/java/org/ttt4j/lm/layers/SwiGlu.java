package org.ttt4j.lm.layers;

import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.Tensor;

/** W2 (silu(W1 x) * (W3 x)): gate_proj = W1, up_proj = W3, down_proj = W2 in Hugging Face names. */
public record SwiGlu(Linear gate, Linear up, Linear down) {
    public static SwiGlu create(Params p, String name, int width, int hidden) {
        return new SwiGlu(Linear.create(p, name + ".gate_proj", width, hidden),
                Linear.create(p, name + ".up_proj", width, hidden),
                Linear.create(p, name + ".down_proj", hidden, width));
    }

    /** The same MLP with other weights (gate, up, down), e.g. the fast weights of an inner loop. */
    public static SwiGlu of(Tensor gate, Tensor up, Tensor down) {
        return new SwiGlu(new Linear(gate), new Linear(up), new Linear(down));
    }

    public Tensor apply(Tensor x) {
        return down.apply(Nn.swiglu(gate.apply(x), up.apply(x)));
    }
}
