package org.ttt4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.infer.Generator;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.tokenizer.ChatTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ttt4j generate}: continue a prompt with a trained model, streaming the text. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Continue a prompt with a trained model; text is printed as it is produced.",
                "The prompt is the PROMPT arguments, else --prompt-file, else standard input (end it with Ctrl-D).",
                "With --chat the prompt is a user's message, put in the model's chat template (tokenizer_config.json's chat_template"
                        + " in the model folder), and only the reply is printed."})
public final class GenerateCommand extends CommandIo implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    WeightsOption weights = new WeightsOption();

    @Option(names = "--model", paramLabel = "MODEL", required = true, description = "a model folder, a run folder (its latest checkpoint), a checkpoint folder, or demo: the shipped TTT-E2E demo model")
    Path checkpoint;
    @Parameters(arity = "0..*", paramLabel = "PROMPT", description = "prompt text, several words joined by spaces (default: read from"
            + " --prompt-file, else from standard input until its end: type the prompt, then Ctrl-D)") List<String> prompt;
    @Option(names = "--prompt-file", description = "read the prompt from this UTF-8 file (default: none)") Path promptFile;
    @Option(names = "--chat", description = "the prompt is a user's message: render it with the model's chat template (the chat_template of"
            + " tokenizer_config.json in the model folder; Jinja with loops, namespace, slices, tojson, selectattr, raise_exception,"
            + " strftime_now and Python string methods) and print the assistant's reply (default: off)") boolean chat;
    @Option(names = "--system", paramLabel = "TEXT", description = "with --chat: a system message before the user's (default: none)") String system;
    @Option(names = "--max-tokens", defaultValue = "200", description = "tokens to generate (default: ${DEFAULT-VALUE})") int maxTokens;
    @Option(names = "--temperature", defaultValue = "0.8", description = "sampling temperature, 0 = greedy (default: ${DEFAULT-VALUE})") double temperature;
    @Option(names = "--top-k", defaultValue = "40", description = "sample among the k likeliest tokens, 0 = off (default: ${DEFAULT-VALUE})") int topK;
    @Option(names = "--top-p", defaultValue = "0.95", description = "nucleus sampling mass, 1 = off (default: ${DEFAULT-VALUE})") double topP;
    @Option(names = "--repetition-penalty", defaultValue = "1.0", description = "CTRL-style penalty of tokens already seen, 1 = none"
            + " (default: ${DEFAULT-VALUE})") double repetitionPenalty;
    @Option(names = "--seed", defaultValue = "1", description = "sampling seed (default: ${DEFAULT-VALUE})") long seed;
    @Option(names = "--stop", description = "stop when this string appears (repeatable; default: none)") List<String> stop;
    @Option(names = "--save-state", description = "save the session after reading the prompt (its caches: KV windows, TTT fast weights, TTT-E2E prime weights;"
            + " default: not saved)") Path saveState;
    @Option(names = "--load-state", description = "continue a session saved by --save-state; the prompt extends its sequence (default: none)")
    Path loadState;
    @Option(names = "--qttt", description = "qTTT: adapt the query projections to the prompt before answering (attention models and"
            + " TTT-E2E; default: off)") boolean qttt;
    @Option(names = "--qttt-steps", description = "qTTT: AdamW steps (default: " + QtttOptions.DEFAULT_STEPS + ")") Integer qtttSteps;
    @Option(names = "--qttt-span", description = "qTTT: tokens per sampled span (default: " + QtttOptions.DEFAULT_SPAN + ")") Integer qtttSpan;
    @Option(names = "--qttt-lr", description = "qTTT: learning rate (default: " + QtttOptions.DEFAULT_LR + ")") Double qtttLr;

    /** Where a prompt given neither as arguments nor as a file is read from; a test may replace it. */
    java.io.InputStream stdin = System.in;

    @Override
    public Integer call() throws Exception {
        if (promptFile != null && prompt != null && !prompt.isEmpty()) {
            throw new IllegalArgumentException("a prompt both as arguments and as --prompt-file " + promptFile + ": give one");
        }
        String text = promptFile != null ? org.ttt4j.lm.io.AtomicFiles.readUtf8(promptFile)
                : prompt != null && !prompt.isEmpty() ? String.join(" ", prompt) : readStdin();
        if (system != null && !chat) throw new IllegalArgumentException("--system needs --chat");
        var loaded = Checkpoints.load(checkpoint, weights);
        ChatTemplate template = null;
        if (chat) {
            Path folder = loaded.checkpoint().folder();
            template = ChatTemplate.find(folder).orElseThrow(() -> new IllegalArgumentException(LanguageModel.noChatTemplate(folder)));
        }
        var options = new SamplingOptions(temperature, topK, topP, repetitionPenalty, seed, maxTokens, stop);
        QtttOptions adapt = null;
        if (qttt) {
            var d = QtttOptions.defaults();
            adapt = new QtttOptions(qtttSteps != null ? qtttSteps : d.steps(), qtttSpan != null ? qtttSpan : d.span(),
                    qtttLr != null ? qtttLr : d.lr(), d.weightDecay(), d.clip(), seed).validate();
        } else if (qtttSteps != null || qtttSpan != null || qtttLr != null) {
            throw new IllegalArgumentException("--qttt-* options need --qttt");
        }
        int[] promptIds;
        if (template != null) {
            var messages = new java.util.ArrayList<ChatTemplate.Message>();
            if (system != null) messages.add(new ChatTemplate.Message("system", system));
            messages.add(new ChatTemplate.Message("user", text));
            promptIds = template.encode(loaded.tokenizer(), template.render(messages, true));
            stderr().printf("[chat template of %s: %d prompt tokens]%n", loaded.checkpoint().folder().resolve(ChatTemplate.FILE), promptIds.length);
        } else {
            promptIds = loaded.tokenizer().encode(text);
            stdout().print(text);
        }
        var out = new Generator(loaded.model(), loaded.tokenizer()).generate(promptIds, options, piece -> {
            stdout().print(piece);
            stdout().flush();
        }, loadState, saveState, adapt, step -> stderr().printf("[qTTT step %d: span at %d, loss %.4f]%n", step.step(), step.spanStart(),
                step.loss()));
        stdout().println();
        stderr().printf("[%d tokens, stop: %s, prefill %.2f ms/token, decode %.2f ms/token]%n", out.tokens().length,
                out.stopReason(), out.prefillMsPerToken(), out.decodeMsPerToken());
        return 0;
    }

    /** The prompt from standard input, to its end (Ctrl-D on a terminal); invalid UTF-8 is refused. */
    private String readStdin() throws java.io.IOException {
        if (stdin == System.in && System.console() != null && System.console().isTerminal()) stderr().println("[reading the prompt from standard input; end it with Ctrl-D]");
        byte[] bytes = stdin.readAllBytes();
        try {
            return java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("the prompt on standard input is not valid UTF-8");
        }
    }
}
