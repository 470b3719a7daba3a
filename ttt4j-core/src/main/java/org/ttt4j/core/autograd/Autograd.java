package org.ttt4j.core.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.tensor.GradFn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Shapes;
import org.ttt4j.core.tensor.Tensor;

/**
 * Reverse-mode differentiation over the recorded graph.
 *
 * <p>{@link #grad} is the functional entry point (like {@code torch.autograd.grad}): it returns
 * {@code d(sum_i <outputs_i, gradOutputs_i>)/d(inputs)}. With {@code createGraph} the backward rules run
 * with recording on, so the returned gradients carry history and can be differentiated again, to
 * any order: {@code grad(grad(f))} works like JAX's {@code grad(grad(f))}. {@link #backward} is
 * the convenience that accumulates d(loss)/d(leaf) into every leaf's {@code grad()}.
 */
public final class Autograd {
    private Autograd() {}

    /** Gradient of a scalar output with respect to {@code inputs}. */
    public static Tensor[] grad(Tensor output, Tensor[] inputs, boolean createGraph) {
        return grad(new Tensor[] {output}, inputs, null, createGraph);
    }

    /** Gradient of a scalar output with respect to one input. */
    public static Tensor grad(Tensor output, Tensor input, boolean createGraph) {
        return grad(new Tensor[] {output}, new Tensor[] {input}, null, createGraph)[0];
    }

    /**
     * Vector-Jacobian products. {@code gradOutputs} may be null (or hold nulls) only for one-element
     * outputs, which then get a seed of 1. Inputs that do not influence the outputs get zeros.
     */
    public static Tensor[] grad(Tensor[] outputs, Tensor[] inputs, Tensor[] gradOutputs, boolean createGraph) {
        if (gradOutputs != null && gradOutputs.length != outputs.length) {
            throw new IllegalArgumentException("grad: " + gradOutputs.length + " gradOutputs for " + outputs.length + " outputs");
        }
        Set<Tensor> wanted = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : inputs) {
            if (!t.requiresGrad()) {
                throw new IllegalArgumentException("grad: an input does not require grad (mark leaves with requiresGrad(true)): " + t);
            }
            wanted.add(t);
        }
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        for (int i = 0; i < outputs.length; i++) {
            Tensor out = outputs[i];
            Tensor seed = gradOutputs == null ? null : gradOutputs[i];
            if (seed == null) {
                if (out.size() != 1) {
                    throw new IllegalArgumentException("grad: output " + i + " has shape " + Shapes.str(out.shape())
                            + "; give a gradOutput for non-scalar outputs");
                }
                seed = Tensor.ones(out.dtype(), out.shape());
            } else if (!Arrays.equals(seed.shape(), out.shape())) {
                throw new IllegalArgumentException("grad: gradOutput " + Shapes.str(seed.shape()) + " for output " + Shapes.str(out.shape()));
            }
            if (out.requiresGrad()) accumulate(grads, out, seed);
        }
        List<Tensor> order = topologicalOrder(outputs);
        Set<Tensor> needed = neededSet(order, wanted);
        try (var mode = GradMode.set(createGraph)) {
            for (int idx = order.size() - 1; idx >= 0; idx--) {
                Tensor t = order.get(idx);
                GradFn fn = t.gradFn();
                Tensor g = grads.get(t);
                if (fn == null || g == null || !needed.contains(t)) continue;
                Tensor[] in = fn.inputs();
                Tensor[] gin = fn.rule().apply(g);
                for (int k = 0; k < in.length; k++) {
                    if (in[k] == null || gin[k] == null || !needed.contains(in[k])) continue;
                    if (!Arrays.equals(gin[k].shape(), in[k].shape())) {
                        throw new IllegalStateException("backward of " + fn.op() + " gave gradient " + Shapes.str(gin[k].shape())
                                + " for input " + Shapes.str(in[k].shape()));
                    }
                    accumulate(grads, in[k], gin[k]);
                }
                if (!wanted.contains(t)) grads.remove(t); // free intermediate gradients early
            }
        }
        Tensor[] result = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            Tensor g = grads.get(inputs[i]);
            result[i] = g != null ? g : Tensor.zeros(inputs[i].dtype(), inputs[i].shape());
        }
        return result;
    }

    /** Accumulates d(loss)/d(leaf) into {@code leaf.grad()} for every leaf that requires grad. */
    public static void backward(Tensor loss) {
        if (!loss.requiresGrad()) throw new IllegalArgumentException("backward: loss has no autograd history");
        List<Tensor> leaves = new ArrayList<>();
        for (Tensor t : topologicalOrder(new Tensor[] {loss})) if (t.isLeaf() && t.requiresGrad()) leaves.add(t);
        Tensor[] gs = grad(new Tensor[] {loss}, leaves.toArray(Tensor[]::new), null, false);
        for (int i = 0; i < gs.length; i++) {
            Tensor leaf = leaves.get(i);
            leaf.setGrad(leaf.grad() == null ? gs[i] : Arith.add(leaf.grad(), gs[i]));
        }
    }

    private static void accumulate(Map<Tensor, Tensor> grads, Tensor t, Tensor g) {
        Tensor prev = grads.get(t);
        grads.put(t, prev == null ? g : Arith.add(prev, g));
    }

    /** Tensors reachable from the outputs, every tensor after all of its inputs (iterative DFS). */
    static List<Tensor> topologicalOrder(Tensor[] outputs) {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        for (Tensor out : outputs) {
            if (!visited.add(out)) continue;
            stack.push(new Object[] {out, 0});
            while (!stack.isEmpty()) {
                Object[] frame = stack.peek();
                Tensor t = (Tensor) frame[0];
                int next = (Integer) frame[1];
                Tensor[] in = t.gradFn() == null ? new Tensor[0] : t.gradFn().inputs();
                if (next < in.length) {
                    frame[1] = next + 1;
                    Tensor child = in[next];
                    if (child != null && child.requiresGrad() && visited.add(child)) stack.push(new Object[] {child, 0});
                } else {
                    stack.pop();
                    order.add(t);
                }
            }
        }
        return order;
    }

    /** Tensors from which some wanted input is reachable: only their backward rules need to run. */
    private static Set<Tensor> neededSet(List<Tensor> order, Set<Tensor> wanted) {
        Set<Tensor> needed = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : order) { // inputs come before the tensors made from them
            boolean need = wanted.contains(t);
            if (!need && t.gradFn() != null) {
                for (Tensor in : t.gradFn().inputs()) {
                    if (in != null && needed.contains(in)) {
                        need = true;
                        break;
                    }
                }
            }
            if (need) needed.add(t);
        }
        return needed;
    }
}
