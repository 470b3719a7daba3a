package org.ttt4j.server;

import static org.junit.jupiter.api.Assertions.*;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.CompletionCreateParams;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.api.Session;
import org.ttt4j.lm.infer.SamplingOptions;

/**
 * The server driven by real clients: the official OpenAI Java SDK and LangChain4j's OpenAI module,
 * streaming and not, with an API key; their answers are the library's generations.
 */
class OpenAiClientsTest {
    private static final String KEY = "test-key";
    @TempDir static Path dir;
    private static LanguageModel lm;
    private static TttServer server;
    private static String base;

    @BeforeAll
    static void start() throws Exception {
        lm = Models.of("e2e");
        server = TttServer.builder().model(lm).modelId("tiny-e2e").port(0).stateDir(dir).apiKey(KEY).build().start();
        base = "http://127.0.0.1:" + server.port() + "/v1";
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static OpenAIClient openai(String key) {
        return OpenAIOkHttpClient.builder().baseUrl(base).apiKey(key).maxRetries(0).timeout(Duration.ofMinutes(2)).build();
    }

    /** What the library answers to a chat of one user message, through the server's plain transcript. */
    private static String chatAnswer(String user, int maxTokens) {
        return lm.session().generate("user: " + user + "\n\nassistant:", SamplingOptions.greedy(maxTokens), null).text();
    }

    @Test
    void officialSdkCompletionsAndChatStreamingAndNot() {
        OpenAIClient client = openai(KEY);
        var completion = client.completions().create(CompletionCreateParams.builder().model("tiny-e2e").prompt("class A {")
                .maxTokens(16).temperature(0.0).build());
        assertEquals(lm.session().generate("class A {", SamplingOptions.greedy(16), null).text(), completion.choices().getFirst().text());
        assertEquals(16, completion.usage().orElseThrow().completionTokens());

        StringBuilder streamed = new StringBuilder();
        try (var stream = client.completions().createStreaming(CompletionCreateParams.builder().model("tiny-e2e").prompt("class A {")
                .maxTokens(16).temperature(0.0).build())) {
            stream.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertEquals(completion.choices().getFirst().text(), streamed.toString());

        var chat = client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny-e2e").addUserMessage("hello")
                .maxCompletionTokens(12).temperature(0.0).build());
        assertEquals(chatAnswer("hello", 12), chat.choices().getFirst().message().content().orElseThrow());

        StringBuilder chunks = new StringBuilder();
        try (var stream = client.chat().completions().createStreaming(ChatCompletionCreateParams.builder().model("tiny-e2e")
                .addUserMessage("hello").maxCompletionTokens(12).temperature(0.0).build())) {
            stream.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(chunks::append)));
        }
        assertEquals(chatAnswer("hello", 12), chunks.toString());
    }

    @Test
    void officialSdkWithASessionAndItsErrors() throws Exception {
        OpenAIClient client = openai(KEY);
        var http = new Http(server.port(), KEY);
        assertEquals(201, http.post("/v1/sessions", "{\"id\": \"sdk\", \"document\": \"interface Shape { double area(); }\"}").status());
        var params = CompletionCreateParams.builder().model("tiny-e2e").prompt(" //").maxTokens(10).temperature(0.0)
                .putAdditionalHeader("X-Session-Id", "sdk").build();
        Session ref = lm.session().feed("interface Shape { double area(); }");
        assertEquals(ref.generate(" //", SamplingOptions.greedy(10), null).text(), client.completions().create(params).choices().getFirst().text());
        assertEquals(ref.generate(" //", SamplingOptions.greedy(10), null).text(), client.completions().create(params).choices().getFirst().text(),
                "the second request continues after the first");

        var e = assertThrows(BadRequestException.class, () -> client.completions().create(CompletionCreateParams.builder().model("tiny-e2e")
                .prompt("x").maxTokens(10).temperature(5.0).build()));
        assertTrue(e.getMessage().contains("temperature"), e.getMessage());
        assertThrows(UnauthorizedException.class, () -> openai("wrong").completions().create(CompletionCreateParams.builder()
                .model("tiny-e2e").prompt("x").maxTokens(1).build()));
    }

    @Test
    void langChain4jChatStreamingAndNot() throws Exception {
        var model = OpenAiChatModel.builder().baseUrl(base).apiKey(KEY).modelName("tiny-e2e").temperature(0.0).maxTokens(12)
                .timeout(Duration.ofMinutes(2)).build();
        assertEquals(chatAnswer("hi there", 12), model.chat("hi there"));

        var streaming = OpenAiStreamingChatModel.builder().baseUrl(base).apiKey(KEY).modelName("tiny-e2e").temperature(0.0).maxTokens(12)
                .timeout(Duration.ofMinutes(2)).build();
        StringBuilder partial = new StringBuilder();
        var done = new CompletableFuture<ChatResponse>();
        streaming.chat("hi there", new StreamingChatResponseHandler() {
            @Override public void onPartialResponse(String s) { partial.append(s); }

            @Override public void onCompleteResponse(ChatResponse r) { done.complete(r); }

            @Override public void onError(Throwable t) { done.completeExceptionally(t); }
        });
        ChatResponse r = done.get(2, TimeUnit.MINUTES);
        assertEquals(chatAnswer("hi there", 12), partial.toString());
        assertEquals(partial.toString(), r.aiMessage().text());
    }
}
