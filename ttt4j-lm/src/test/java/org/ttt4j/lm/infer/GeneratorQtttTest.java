package org.ttt4j.lm.infer;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.methods.qttt.QtttSession;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

/** generate --qttt: adapts to the prompt, answers with the adapted queries, leaves the model as it was. */
class GeneratorQtttTest {
    @Test
    void adaptsPerRequestAndLeavesTheModelUnchanged() throws Exception {
        Decoder m = new Decoder(Presets.byName("tiny").withContext(512), 3);
        float[] before = m.params().get("model.layers.0.self_attn.q_proj.weight").toFloatArray();
        var tok = ByteTokenizer.instance();
        var greedy = new SamplingOptions(0, 0, 1, 1, 1, 10, List.of());
        String prompt = "abcdefgh".repeat(12);
        List<QtttSession.Step> steps = new ArrayList<>();
        var adapted = new Generator(m, tok).generate(prompt, greedy, null, null, null, new QtttOptions(6, 16, 5e-2, 0.01, 1, 1), steps::add);
        assertEquals(6, steps.size());
        assertArrayEquals(before, m.params().get("model.layers.0.self_attn.q_proj.weight").toFloatArray());
        var plain = new Generator(m, tok).generate(prompt, greedy, null);
        // The model still generates without qTTT, and a second qTTT request gives the same answer.
        var again = new Generator(m, tok).generate(prompt, greedy, null, null, null, new QtttOptions(6, 16, 5e-2, 0.01, 1, 1), null);
        assertArrayEquals(adapted.tokens(), again.tokens(), "deterministic");
        assertEquals(10, plain.tokens().length);
        var e = assertThrows(IllegalArgumentException.class, () -> new Generator(m, tok).generate(prompt, greedy, null, null,
                java.nio.file.Path.of("x"), QtttOptions.defaults(), null));
        assertTrue(e.getMessage().contains("qTTT"), e.getMessage());
    }
}
