package org.ttt4j.lm.infer;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

/** generate --save-state / --load-state: a saved TTT-E2E session continues exactly where the uninterrupted run went. */
class GeneratorStateTest {
    @Test
    void loadedSessionContinuesLikeTheUninterruptedRun(@TempDir Path dir) throws Exception {
        ModelConfig c = ModelConfig.builder().dModel(16).dFf(16).qkNorm(true).postNorm(true).mixers("swa").window(8).initStd(0.2).section("e2e", new E2eSettings(1, 4, 1.0, 1.0, null)).build().validate();
        var tok = ByteTokenizer.instance();
        var greedy = new SamplingOptions(0, 0, 1, 1, 1, 12, List.of());
        Path state = dir.resolve("s.safetensors");
        var whole = new Generator(new Decoder(c, 4), tok).generate("int max(int a, int b)", greedy, null, null, state);
        var resumed = new Generator(new Decoder(c, 4), tok).generate("", greedy, null, state, null);
        assertArrayEquals(whole.tokens(), resumed.tokens());
        // Any model's session saves and continues (here full attention: its KV caches)...
        Path plain = dir.resolve("t.safetensors");
        var attention = new Generator(new Decoder(Presets(), 4), tok).generate("int max(int a, int b)", greedy, null, null, plain);
        assertArrayEquals(attention.tokens(), new Generator(new Decoder(Presets(), 4), tok).generate("", greedy, null, plain, null).tokens());
        // ...and a state is refused by a model of another method, naming the file.
        var e = assertThrows(IllegalArgumentException.class, () -> new Generator(new Decoder(Presets(), 4), tok)
                .generate("", greedy, null, state, null));
        assertTrue(e.getMessage().contains(state.toString()) && e.getMessage().contains("format"), e.getMessage());
    }

    private static ModelConfig Presets() {
        return org.ttt4j.lm.model.Presets.byName("tiny");
    }
}
