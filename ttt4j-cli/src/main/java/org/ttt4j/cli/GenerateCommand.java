package org.ttt4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.ttt4j.lm.infer.Generator;
import org.ttt4j.lm.infer.SamplingOptions;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ttt4j generate}: continue a prompt with a trained model, streaming the text. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Continue a prompt with a trained model; text is printed as it is produced.")
public final class GenerateCommand extends CommandIo implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "a run folder (its latest checkpoint) or a checkpoint folder")
    Path checkpoint;
    @Parameters(arity = "0..*", description = "prompt text") List<String> prompt;
    @Option(names = "--prompt-file", description = "read the prompt from a file") Path promptFile;
    @Option(names = "--max-tokens", defaultValue = "200") int maxTokens;
    @Option(names = "--temperature", defaultValue = "0.8", description = "0 = greedy") double temperature;
    @Option(names = "--top-k", defaultValue = "40", description = "0 = off") int topK;
    @Option(names = "--top-p", defaultValue = "0.95", description = "1 = off") double topP;
    @Option(names = "--repetition-penalty", defaultValue = "1.0") double repetitionPenalty;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--stop", description = "stop when this string appears (repeatable)") List<String> stop;
    @Option(names = "--save-state", description = "TTT-E2E: save the session after reading the prompt (KV windows, prime weights)")
    Path saveState;
    @Option(names = "--load-state", description = "TTT-E2E: continue a saved session; the prompt extends its sequence") Path loadState;
    @Option(names = "--qttt", description = "qTTT: adapt the query projections to the prompt before answering (attention models and TTT-E2E)")
    boolean qttt;
    @Option(names = "--qttt-steps", description = "qTTT: AdamW steps (default " + QtttOptions.DEFAULT_STEPS + ")") Integer qtttSteps;
    @Option(names = "--qttt-span", description = "qTTT: tokens per sampled span (default " + QtttOptions.DEFAULT_SPAN + ")") Integer qtttSpan;
    @Option(names = "--qttt-lr", description = "qTTT: learning rate (default " + QtttOptions.DEFAULT_LR + ")") Double qtttLr;

    @Override
    public Integer call() throws Exception {
        String text = promptFile != null ? org.ttt4j.lm.io.AtomicFiles.readUtf8(promptFile) : prompt == null ? "" : String.join(" ", prompt);
        var loaded = Checkpoints.load(checkpoint);
        var options = new SamplingOptions(temperature, topK, topP, repetitionPenalty, seed, maxTokens, stop);
        QtttOptions adapt = null;
        if (qttt) {
            var d = QtttOptions.defaults();
            adapt = new QtttOptions(qtttSteps != null ? qtttSteps : d.steps(), qtttSpan != null ? qtttSpan : d.span(),
                    qtttLr != null ? qtttLr : d.lr(), d.weightDecay(), d.clip(), seed).validate();
        } else if (qtttSteps != null || qtttSpan != null || qtttLr != null) {
            throw new IllegalArgumentException("--qttt-* options need --qttt");
        }
        stdout().print(text);
        var out = new Generator(loaded.model(), loaded.tokenizer()).generate(text, options, piece -> {
            stdout().print(piece);
            stdout().flush();
        }, loadState, saveState, adapt, step -> stderr().printf("[qTTT step %d: span at %d, loss %.4f]%n", step.step(), step.spanStart(),
                step.loss()));
        stdout().println();
        stderr().printf("[%d tokens, stop: %s, prefill %.2f ms/token, decode %.2f ms/token]%n", out.tokens().length,
                out.stopReason(), out.prefillMsPerToken(), out.decodeMsPerToken());
        return 0;
    }
}
