package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every conversation of the fixtures (scripts/fixtures/chat-template-fixtures.py: transformers'
 * apply_chat_template over the real tokenizer_config.json files) renders to exactly the same text.
 */
class ChatTemplateParityTest {
    static final List<String> TEMPLATES = List.of("llama3", "llama3_1", "qwen3", "gemma3", "deepseek_v3", "features");

    static Path folder(String name) {
        try {
            return Path.of(ChatTemplateParityTest.class.getResource("/chat-templates/" + name + "/tokenizer_config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static Stream<Arguments> cases() throws Exception {
        List<Arguments> out = new ArrayList<>();
        for (String name : TEMPLATES) {
            JsonNode root = new ObjectMapper().readTree(folder(name).resolve("expected.json").toFile());
            JsonNode cases = root.get("cases");
            assertTrue(cases.size() >= 14, name);
            for (JsonNode c : cases) {
                out.add(Arguments.of(name, c.get("conversation").asText(), c.get("add_generation_prompt").asBoolean(), c,
                        LocalDateTime.parse(root.get("fixed_now").asText())));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} generation prompt {2}")
    @MethodSource("cases")
    void rendersAsTransformers(String name, String conversation, boolean generationPrompt, JsonNode c, LocalDateTime now) throws Exception {
        ChatTemplate t = ChatTemplate.find(folder(name)).orElseThrow()
                .withClock(Clock.fixed(now.toInstant(ZoneOffset.UTC), ZoneOffset.UTC));
        List<ChatTemplate.Message> messages = new ArrayList<>();
        for (JsonNode m : c.get("messages")) messages.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
        Map<String, Object> variables = new LinkedHashMap<>();
        if (c.has("variables")) c.get("variables").properties().forEach(e -> variables.put(e.getKey(), e.getValue().asText()));
        JsonNode expected = c.get("expected");
        if (expected.isObject()) {
            var e = assertThrows(IllegalArgumentException.class, () -> t.render(messages, generationPrompt, variables));
            assertTrue(e.getMessage().endsWith(expected.get("error").asText()), e.getMessage());
            assertTrue(e.getMessage().contains("tokenizer_config.json"), e.getMessage());
        } else {
            assertEquals(expected.asText(), t.render(messages, generationPrompt, variables));
        }
    }

    @org.junit.jupiter.api.Test
    void llama2HasNoTemplate() throws Exception {
        assertFalse(ChatTemplate.find(folder("llama2")).isPresent());
        var e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.load(folder("llama2").resolve("tokenizer_config.json")));
        assertTrue(e.getMessage().contains("tokenizer_config.json") && e.getMessage().contains("chat_template"), e.getMessage());
    }
}
