package org.ttt4j.lm.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.tokenizer.ChatTemplate;
import org.ttt4j.lm.train.CheckpointStore;

/** Chat through the API: a tiny model whose folder gets a tokenizer_config.json with a chat template. */
class LanguageModelChatTest {
    /** A template that refuses to render without the generation prompt, which chat must ask for. */
    static final String CONFIG = """
            {"bos_token": "<s>", "eos_token": "</s>",
             "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.role | upper }}] {{ m.content | trim }}\\n{% endfor %}{% if add_generation_prompt %}[ASSISTANT] {% else %}{{ raise_exception('rendered without the generation prompt') }}{% endif %}"}
            """;

    @Test
    void chatRendersTheTemplateAndGeneratesTheReply(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        LanguageModelTest.trainTiny(Presets.byName("tiny"), run);
        Path checkpoint = new CheckpointStore(run).latest().orElseThrow();
        var messages = List.of(new ChatTemplate.Message("system", "Be brief."), new ChatTemplate.Message("user", " int max? "));
        var options = SamplingOptions.greedy(12);

        LanguageModel plain = LanguageModel.open(run);
        assertTrue(plain.chatTemplate().isEmpty());
        var refused = assertThrows(IllegalStateException.class, () -> plain.chat(messages, options, null));
        assertTrue(refused.getMessage().contains(checkpoint.toString()) && refused.getMessage().contains("tokenizer_config.json"), refused.getMessage());

        Files.writeString(checkpoint.resolve("tokenizer_config.json"), CONFIG);
        LanguageModel lm = LanguageModel.open(run);
        ChatTemplate template = lm.chatTemplate().orElseThrow();
        String prompt = "<s>[SYSTEM] Be brief.\n[USER] int max?\n[ASSISTANT] ";
        assertEquals(prompt, template.render(messages, true));
        StringBuilder streamed = new StringBuilder();
        var reply = lm.chat(messages, options, streamed::append);
        assertFalse(reply.text().isEmpty());
        assertEquals(reply.text(), streamed.toString());
        // The reply is the continuation of the rendered prompt (the byte tokenizer adds no BOS of its own).
        var direct = lm.generate(prompt, options, null);
        assertArrayEquals(direct.tokens(), reply.tokens());
        assertEquals(direct.text(), reply.text());
    }
}
