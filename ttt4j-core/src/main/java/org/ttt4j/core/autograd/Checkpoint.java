package org.ttt4j.core.autograd;

import java.util.function.Function;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;

/**
 * Gradient checkpointing: run a function without keeping its intermediates and recompute them
 * during backward. TTT-E2E re-materialises each chunk of its inner loop this way.
 *
 * <p>Contract: {@code fn} must be deterministic and reach every tensor that needs a gradient
 * through {@code inputs} (parameters too); tensors it captures otherwise are treated as
 * constants. First-order backward recomputes on detached copies; under {@code createGraph} it
 * recomputes on the original inputs, so the gradient stays differentiable with respect to them.
 */
public final class Checkpoint {
    private Checkpoint() {}

    public static Tensor run(Function<Tensor[], Tensor> fn, Tensor... inputs) {
        boolean anyGrad = false;
        for (Tensor t : inputs) anyGrad |= t.requiresGrad();
        if (!GradMode.isEnabled() || !anyGrad) return fn.apply(inputs);
        Tensor out;
        try (var off = GradMode.disabled()) {
            out = fn.apply(inputs).detach();
        }
        return GradFn.record(out, "checkpoint", g -> recompute(fn, inputs, g), inputs);
    }

    private static Tensor[] recompute(Function<Tensor[], Tensor> fn, Tensor[] inputs, Tensor g) {
        boolean createGraph = GradMode.isEnabled();
        Tensor[] args = new Tensor[inputs.length];
        int k = 0;
        for (int i = 0; i < inputs.length; i++) {
            // Under createGraph keep the originals so the result stays connected to their history.
            args[i] = createGraph || !inputs[i].requiresGrad() ? inputs[i] : inputs[i].detach().requiresGrad(true);
            if (inputs[i].requiresGrad()) k++;
        }
        Tensor[] wrt = new Tensor[k];
        int[] where = new int[k];
        for (int i = 0, j = 0; i < inputs.length; i++) {
            if (inputs[i].requiresGrad()) {
                wrt[j] = args[i];
                where[j++] = i;
            }
        }
        Tensor redone;
        try (var on = GradMode.enabled()) {
            redone = fn.apply(args);
        }
        Tensor[] gs = Autograd.grad(new Tensor[] {redone}, wrt, new Tensor[] {g}, createGraph);
        Tensor[] result = new Tensor[inputs.length];
        for (int j = 0; j < k; j++) result[where[j]] = gs[j];
        return result;
    }
}
