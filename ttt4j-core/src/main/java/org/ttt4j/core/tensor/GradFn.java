package org.ttt4j.core.tensor;

/**
 * The recorded history of one op output: its inputs and the rule that maps the output's gradient
 * to the inputs' gradients. Rules are written with differentiable ops, so running them with
 * gradient recording on yields a differentiable gradient (higher-order derivatives). A rule may
 * take a fused first-order shortcut when {@link GradMode#isEnabled()} is false, as long as both
 * routes give the same values.
 */
public record GradFn(String op, Tensor[] inputs, Backward rule) {

    @FunctionalInterface
    public interface Backward {
        /** Returns one gradient per input, shaped like that input, or null where there is none. */
        Tensor[] apply(Tensor gradOutput);
    }

    /**
     * Records {@code rule} as the history of {@code out} if recording is on and any input needs a
     * gradient. Returns {@code out}. This is also the extension point for custom ops.
     */
    public static Tensor record(Tensor out, String op, Backward rule, Tensor... inputs) {
        if (!GradMode.isEnabled()) return out;
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) {
                out.attachHistory(new GradFn(op, inputs.clone(), rule));
                return out;
            }
        }
        return out;
    }
}
