package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.tokenizer.ChatTemplate;
import org.ttt4j.lm.train.CheckpointStore;

/** Issue #19: {@code generate --chat} puts the prompt in the model's chat template; models without one are refused. */
class GenerateChatTest {
    @Test
    void chatRendersThePromptWithTheModelsTemplate(@TempDir Path tmp) throws Exception {
        Path run = Cli.trainTiny(tmp, "bytes", "abc def ghi ".repeat(400), 2);
        Path checkpoint = new CheckpointStore(run).latest().orElseThrow();
        String[] args = {"generate", "--model", run.toString(), "--max-tokens", "6", "--temperature", "0", "--chat", "--system", "sys", "abc de"};

        var refused = Cli.printed(args);
        assertEquals(1, refused.status());
        assertTrue(refused.err().contains(checkpoint.toString()) && refused.err().contains("no chat template"), refused.err());

        Files.writeString(checkpoint.resolve(ChatTemplate.FILE), """
                {"bos_token": "<s>", "chat_template": "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"}""");
        var chat = Cli.printed(args);
        assertEquals(0, chat.status(), chat.err());
        assertTrue(chat.err().contains("chat template of " + checkpoint.resolve(ChatTemplate.FILE)), chat.err());
        // Only the reply is printed: the continuation of the rendered prompt, as the API's chat gives it.
        String expected = LanguageModel.open(run).generate("<s><system>sys<user>abc de<assistant>", SamplingOptions.greedy(6), null).text();
        assertFalse(expected.isEmpty());
        assertEquals(expected + System.lineSeparator(), chat.out());

        var noChat = Cli.printed("generate", "--model", run.toString(), "--system", "sys", "abc");
        assertEquals(1, noChat.status());
        assertTrue(noChat.err().contains("--system needs --chat"), noChat.err());
    }
}
