package org.ttt4j.server;

import java.util.List;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.methods.ttt.TttSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

/** Tiny random models of every method, over bytes, the same for a given kind in every process. */
final class Models {
    /** Full attention, a sliding-window hybrid, TTT-Linear, TTT-MLP, TTT-E2E. */
    static final List<String> KINDS = List.of("full", "swa:1,full:1", "ttt_linear", "ttt_mlp", "e2e");

    private Models() {}

    static LanguageModel of(String kind) {
        ModelConfig tiny = Presets.byName("tiny");
        ModelConfig c = switch (kind) {
            case "e2e" -> new E2eSettings(1, 4, 1.0, 1.0, null).matched(tiny.withMixers("swa", 8));
            case "ttt_mlp" -> tiny.withMixers("ttt_mlp", 8).withSection("ttt", new TttSettings(8, null, null, null, null, null));
            default -> tiny.withMixers(kind, 8);
        };
        return LanguageModel.of(new Decoder(c.validate(), 3), ByteTokenizer.instance());
    }
}
