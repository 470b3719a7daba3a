package org.ttt4j.lm.infer;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

/** Continuing a session that read a prompt decodes what generating from the prompt decodes. */
class GeneratorContinueTest {
    @Test
    void continuingASessionEqualsGeneratingFromThePrompt() {
        var tok = ByteTokenizer.instance();
        var greedy = new SamplingOptions(0, 0, 1, 1.3, 1, 10, List.of());
        for (String method : new String[] {"full", "swa", "ttt_linear", "e2e"}) {
            Decoder m = InferenceSessionTest.model(method);
            String prompt = "static int max(int a, int b) { return a > b ? a : b; }";
            var whole = new Generator(m, tok).generate(prompt, greedy, null);
            int[] ids = tok.encode(prompt);
            Generator.Output continued;
            try (var off = GradMode.disabled()) {
                InferenceSession s = InferenceSession.open(m, 16);
                float[] last = s.read(ids);
                continued = new Generator(m, tok).continueFrom(s, last, ids, greedy, null);
            }
            assertArrayEquals(whole.tokens(), continued.tokens(), method);
            assertEquals(10, continued.tokens().length, method);
        }
    }
}
