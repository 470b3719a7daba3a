package org.ttt4j.lm.layers.ttt;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.GradCheck;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.ttt.InnerLoop.Kind;

class TttLayerTest {

    private static TttOptions options(Kind kind, boolean mamba, int b) {
        return new TttOptions(kind, mamba, b, TttOptions.defaultBaseLr(kind), true, true, 3, 10000, 1e-6);
    }

    /**
     * The outer loop's gradient through a whole layer (projections, convolutions, RoPE, learning-rate
     * gate and index offsets, the inner steps from W0, norms, gate, output projection) against
     * finite differences, for every parameter of both inner models on both backbones. 5 tokens in
     * mini-batches of 2: two dual-form mini-batches and a primal partial one.
     */
    @Test
    void gradientsOfEveryParameterMatchFiniteDifferences() {
        int width = 8, heads = 2, b = 2, t = 5, batch = 2; // head width 4: a LayerNorm over 2 features is degenerate
        for (Kind kind : Kind.values()) {
            for (boolean mamba : new boolean[] {false, true}) {
                TttOptions opts = options(kind, mamba, b);
                Params init = new Params(3, 0.5);
                new TttLayer(init, "l", width, heads, opts);
                // Non-trivial values for the parameters that start at 0 or 1.
                SplittableRandom rng = new SplittableRandom(5);
                List<String> names = new ArrayList<>(init.all().keySet());
                List<Tensor> values = new ArrayList<>();
                values.add(Tensor.randn(DType.FP64, rng, 1, batch, t, width));
                for (String n : names) values.add(init.get(n).to(DType.FP64).copy());
                for (Tensor v : values) for (int i = 0; i < v.size(); i++) v.set(i, v.get(i) + 0.1 * Tensor.gaussian(rng));
                var r = GradCheck.firstOrder(x -> {
                    Map<String, Tensor> given = new LinkedHashMap<>();
                    for (int i = 0; i < names.size(); i++) given.put(names.get(i), x[i + 1]);
                    return new TttLayer(new Params(given), "l", width, heads, opts).apply(x[0], 0);
                }, values.toArray(Tensor[]::new), 11);
                assertTrue(r.passed(), kind + (mamba ? " mamba" : " transformer") + ": " + r);
            }
        }
    }

    @Test
    void parametersCarryTheReferenceNamesAndShapes() {
        Params p = new Params(1, 0.02);
        new TttLayer(p, "model.layers.0.seq_modeling_block", 64, 4, options(Kind.MLP, true, 16));
        var shapes = new LinkedHashMap<String, String>();
        p.all().forEach((n, v) -> shapes.put(n.substring("model.layers.0.seq_modeling_block.".length()), java.util.Arrays.toString(v.shape())));
        assertEquals("[4, 16, 64]", shapes.get("W1"));
        assertEquals("[4, 1, 64]", shapes.get("b1"));
        assertEquals("[4, 64, 16]", shapes.get("W2"));
        assertEquals("[4, 16]", shapes.get("ttt_norm_weight"));
        assertEquals("[4, 1, 64]", shapes.get("learnable_ttt_lr_weight"));
        assertEquals("[4, 1]", shapes.get("learnable_ttt_lr_bias"));
        assertEquals("[16]", shapes.get("learnable_token_idx"));
        assertEquals("[64, 1, 3]", shapes.get("conv_q.weight"));
        assertEquals("[64, 64]", shapes.get("g_proj.weight"));
        assertFalse(shapes.containsKey("k_proj.weight"), "the Mamba backbone shares one q/k projection");
    }

    @Test
    void sequencesMustStartAtAMiniBatchBoundary() {
        var layer = new TttLayer(new Params(1, 0.02), "l", 8, 2, options(Kind.LINEAR, false, 4));
        var e = assertThrows(IllegalArgumentException.class, () -> layer.apply(Tensor.zeros(1, 3, 8), 2));
        assertTrue(e.getMessage().contains("mini-batch boundary"), e.getMessage());
    }
}
