package org.ttt4j.lm.optim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.kernel.Parallel;
import org.ttt4j.core.tensor.Tensor;

/**
 * AdamW (decoupled weight decay, Loshchilov and Hutter) with bias correction. Weight decay applies
 * to every parameter (the official TTT-E2E recipe) or to matrices only (rank >= 2: projections
 * and embeddings, never norm scales or biases). State (first and second moments, step count) is
 * exposed for checkpoints.
 */
public final class AdamW {
    private final double beta1, beta2, eps, weightDecay;
    private final boolean decayAll;
    private final Map<String, Tensor> params;
    private final Map<String, float[]> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private long step;

    /** Weight decay on matrices only. */
    public AdamW(Map<String, Tensor> params, double beta1, double beta2, double eps, double weightDecay) {
        this(params, beta1, beta2, eps, weightDecay, false);
    }

    /** {@code decayAll}: weight decay on every parameter, else on matrices (rank >= 2) only. */
    public AdamW(Map<String, Tensor> params, double beta1, double beta2, double eps, double weightDecay, boolean decayAll) {
        this.params = params;
        this.decayAll = decayAll;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (var e : params.entrySet()) {
            m.put(e.getKey(), new float[e.getValue().size()]);
            v.put(e.getKey(), new float[e.getValue().size()]);
        }
    }

    /** The recipe of the papers: betas (0.9, 0.95), eps 1e-8, decay on matrices only. */
    public static AdamW standard(Map<String, Tensor> params, double weightDecay) {
        return new AdamW(params, 0.9, 0.95, 1e-8, weightDecay);
    }

    /** The recipe of the papers with the decay on every parameter ({@code decayAll}) or on matrices only. */
    public static AdamW standard(Map<String, Tensor> params, double weightDecay, boolean decayAll) {
        return new AdamW(params, 0.9, 0.95, 1e-8, weightDecay, decayAll);
    }

    /** One update with learning rate {@code lr}; {@code grads} by parameter name. */
    public void step(Map<String, Tensor> grads, double lr) {
        step(grads, lr, 1f);
    }

    /**
     * One update with the gradients times {@code gradScale} (a float product per element, the same
     * bits as scaling them in place first, e.g. {@link GradClip#clip}, without a pass over them),
     * in blocks on the engine's threads; each element's arithmetic is that of the scalar update,
     * so the result does not depend on the thread count.
     */
    public void step(Map<String, Tensor> grads, double lr, float gradScale) {
        step++;
        double c1 = 1 - Math.pow(beta1, step), c2 = 1 - Math.pow(beta2, step);
        Map<String, Tensor> present = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            Tensor g = grads.get(e.getKey());
            if (g == null) continue;
            if (g.size() != e.getValue().size()) {
                throw new IllegalArgumentException("gradient of " + e.getKey() + " has " + g.size() + " elements, the parameter " + e.getValue().size());
            }
            present.put(e.getKey(), g);
        }
        List<GradClip.Block> blocks = GradClip.blocks(present);
        Parallel.forRange(blocks.size(), 4, (from, to) -> {
            for (int b = from; b < to; b++) {
                GradClip.Block k = blocks.get(b);
                Tensor p = params.get(k.name()), g = k.g();
                double decay = decayAll || p.rank() >= 2 ? 1 - lr * weightDecay : 1;
                update(p.f32(), p.offset(), g.f32(), g.offset(), m.get(k.name()), v.get(k.name()), k.from(), k.to(), gradScale, lr, decay, c1, c2);
            }
        });
    }

    /** Elements [from, to) of one parameter. */
    private void update(float[] w, int wo, float[] gr, int go, float[] mm, float[] vv, int from, int to, float gradScale, double lr,
                        double decay, double c1, double c2) {
        for (int i = from; i < to; i++) {
            double gi = gradScale == 1f ? gr[go + i] : gr[go + i] * gradScale;
            mm[i] = (float) (beta1 * mm[i] + (1 - beta1) * gi);
            vv[i] = (float) (beta2 * vv[i] + (1 - beta2) * gi * gi);
            double update = (mm[i] / c1) / (Math.sqrt(vv[i] / c2) + eps);
            w[wo + i] = (float) (w[wo + i] * decay - lr * update);
        }
    }

    public long stepCount() {
        return step;
    }

    /** Moments as tensors named {@code <param>.exp_avg} / {@code <param>.exp_avg_sq} (views, no copy). */
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            int[] shape = e.getValue().shape();
            s.put(e.getKey() + ".exp_avg", Tensor.wrap(new org.ttt4j.core.tensor.Storage.F32(m.get(e.getKey())), 0, shape));
            s.put(e.getKey() + ".exp_avg_sq", Tensor.wrap(new org.ttt4j.core.tensor.Storage.F32(v.get(e.getKey())), 0, shape));
        }
        return s;
    }

    /** Restores moments saved by {@link #state()} and the step count; checks every name and shape. */
    public void load(Map<String, Tensor> saved, long stepCount) {
        for (var e : params.entrySet()) {
            for (String suffix : new String[] {".exp_avg", ".exp_avg_sq"}) {
                String name = e.getKey() + suffix;
                Tensor t = saved.get(name);
                if (t == null) throw new IllegalArgumentException("optimizer state lacks " + name);
                if (!java.util.Arrays.equals(t.shape(), e.getValue().shape())) {
                    throw new IllegalArgumentException("optimizer state " + name + " has shape "
                            + java.util.Arrays.toString(t.shape()) + ", parameter has " + java.util.Arrays.toString(e.getValue().shape()));
                }
                float[] dst = suffix.equals(".exp_avg") ? m.get(e.getKey()) : v.get(e.getKey());
                float[] src = t.toFloatArray();
                System.arraycopy(src, 0, dst, 0, dst.length);
            }
        }
        step = stepCount;
    }
}
