package org.ttt4j.lm.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.methods.qttt.QtttSession;
import org.ttt4j.lm.model.Decoder;

/** qTTT on imported models (grouped-query attention, biases, a sliding window): the frozen cache reads as the model does, and the queries learn. */
class HfQtttTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama-gqa-llama3-rope", "qwen2-bias", "mistral-window"})
    void queriesAdaptOverTheFrozenCacheOfAnImportedModel(String name) throws Exception {
        Decoder model = HfFolder.load(HfImportTest.fixture(name));
        int[] context = new SplittableRandom(5).ints(40, 0, model.config().vocabSize()).toArray();
        QtttSession s = QtttSession.prefill(model, context, 16);
        float[] reference;
        double spanBefore;
        try (var off = GradMode.disabled()) {
            Tensor all = model.tokenLosses(Arrays.copyOf(context, 39), Arrays.copyOfRange(context, 1, 40), 1, 39);
            float[] l = all.toFloatArray();
            double mean = 0;
            for (int i = 10; i < 26; i++) mean += l[i] / 16.0;
            spanBefore = s.spanLoss(10, 16).item();
            assertEquals(mean, spanBefore, 1e-4, "a span read against the frozen cache scores as the model does");
            float[] logits = model.logits(context, 1, context.length, 0).toFloatArray();
            int v = model.config().vocabSize();
            reference = Arrays.copyOfRange(logits, (context.length - 1) * v, context.length * v);
        }
        float[] last = s.lastLogits();
        for (int i = 0; i < reference.length; i++) assertEquals(reference[i], last[i], 1e-4, "logit " + i + " after the prefill");

        Tensor kBefore = model.params().get("model.layers.0.self_attn.k_proj.weight").copy();
        s.adapt(new QtttOptions(12, 16, 1e-2, 0, 1.0, 3), null);
        double spanAfter;
        try (var off = GradMode.disabled()) {
            spanAfter = s.spanLoss(10, 16).item();
        }
        assertTrue(spanAfter < spanBefore, name + ": span loss " + spanBefore + " -> " + spanAfter);
        assertArrayEquals(kBefore.toFloatArray(), model.params().get("model.layers.0.self_attn.k_proj.weight").toFloatArray(),
                "keys are not adapted");
        assertEquals(model.config().layers(), s.queries().size());
    }
}
