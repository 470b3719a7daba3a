package org.ttt4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.io.StateFile;
import org.ttt4j.lm.methods.ttt.TttSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ttt4j check-torch}: TTT models' logits against an independent PyTorch forward pass
 * ({@code ttt_torch.py}) that follows the PyTorch TTT reference's conventions: parameter names and
 * layouts read from the same safetensors file, torch's Conv1d, RoPE by the reference's
 * permute / rotate-half route, the reference's learning-rate formula and dual form. No reference
 * checkpoint is reachable from here; this is the next best evidence that one would load and
 * give the same outputs.
 */
@Command(name = "check-torch", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare TTT-Linear and TTT-MLP logits with an independent PyTorch implementation.",
                "Models of both kinds and backbones, random weights, are run by ttt4j and by a PyTorch implementation of",
                "the reference's conventions reading the same safetensors file. Needs python3 with torch",
                "(scripts/install-peers.sh). Exit status 1 if any logit differs by more than --tolerance.",
                "With --write-fixtures DIR it also keeps each case in DIR/<case>/ with torch's logits (reference.safetensors) and",
                "ttt4j's ModelConfig (model-config.json): the fixtures that TttTorchFixtureTest reads without torch",
                "(scripts/fixtures/ttt-torch-fixtures.sh regenerates them and copies them into the test resources)."})
public final class CheckTorchCommand extends CommandIo implements Callable<Integer> {
    @Option(names = "--python", description = "interpreter with torch (default: /usr/bin/python3, then python3)") String python;
    @Option(names = "--tolerance", defaultValue = "1e-3", description = "largest allowed |difference| / max |logit| (default: ${DEFAULT-VALUE})")
    double tolerance;
    @Option(names = "--seed", defaultValue = "1", description = "seed of the random weights and tokens (default: ${DEFAULT-VALUE})") long seed;
    @Option(names = "--write-fixtures", paramLabel = "DIR",
            description = "keep the cases in DIR/<case>/ and have the script write torch's logits to reference.safetensors there: "
                    + "the material of the test fixtures (scripts/fixtures/ttt-torch-fixtures.sh copies model.safetensors, config.json, "
                    + "model-config.json and reference.safetensors; io.safetensors holds ttt4j's own logits and is not a fixture)")
    Path fixtures;

    /** One case: the mixer and the ttt section's architecture flags; its folder is {@code <mixer>-<variant>}. */
    record Case(String mixer, String variant, TttSettings settings) {}

    /**
     * The cases, in the order they run: both inner models on both backbones, then two mixed flag
     * combinations of the reference's TTTConfig (share_qk alone; use_gate with pre_conv).
     */
    static final List<Case> CASES = List.of(
            new Case("ttt_linear", "transformer", new TttSettings(4, null, "transformer", null, null, null)),
            new Case("ttt_linear", "mamba", new TttSettings(4, null, "mamba", null, null, null)),
            new Case("ttt_mlp", "transformer", new TttSettings(4, null, "transformer", null, null, null)),
            new Case("ttt_mlp", "mamba", new TttSettings(4, null, "mamba", null, null, null)),
            new Case("ttt_linear", "share_qk", new TttSettings(4, null, null, null, null, null, false, true, false)),
            new Case("ttt_mlp", "use_gate-pre_conv", new TttSettings(4, null, null, null, null, null, true, false, true)));

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("ttt4j-check-torch");
        Path script = dir.resolve("ttt_torch.py");
        if (fixtures != null) {
            Files.createDirectories(fixtures);
            if (!Files.isDirectory(fixtures)) throw new IllegalArgumentException("--write-fixtures: " + fixtures + " is not a directory");
        }
        try (InputStream in = CheckTorchCommand.class.getResourceAsStream("ttt_torch.py")) {
            Files.write(script, in.readAllBytes());
        }
        boolean ok = true;
        List<String> lines = new ArrayList<>();
        stdout().printf("%-28s %14s %14s %10s%n", "case", "max |diff|", "max |logit|", "verdict");
        try {
            for (Case k : CASES) {
                {
                    String mixer = k.mixer(), name = mixer + "/" + k.variant();
                    Path c = (fixtures != null ? fixtures : dir).resolve(mixer + "-" + k.variant());
                    Files.createDirectories(c);
                    Files.deleteIfExists(c.resolve("reference.safetensors")); // never a stale one from an earlier run
                    writeCase(c, name, mixer, k.settings());
                    var result = runPython(script, c);
                    if (fixtures != null && !Files.isRegularFile(c.resolve("reference.safetensors"))) {
                        throw new IllegalStateException("ttt_torch.py did not write " + c.resolve("reference.safetensors"));
                    }
                    double diff = ((Number) result.get("max_abs_diff")).doubleValue(), scale = ((Number) result.get("max_abs_logit")).doubleValue();
                    boolean pass = diff <= tolerance * Math.max(1, scale);
                    ok &= pass;
                    stdout().printf("%-28s %14.3e %14.3f %10s%n", name, diff, scale, pass ? "same" : "DIFFERENT");
                    result.put("bench", "check_torch");
                    result.put("passed", pass);
                    lines.add(new ObjectMapper().writeValueAsString(result));
                }
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        stdout().println();
        lines.forEach(stdout()::println);
        if (fixtures != null) stdout().println("fixtures (torch's logits in reference.safetensors) in " + fixtures.toAbsolutePath());
        return ok ? 0 : 1;
    }

    /**
     * A 2-layer model with random non-trivial weights, 2 sequences of 10 tokens in mini-batches of 4 (so a partial one too).
     * RoPE theta is 100, not a default (10000, 500000), so a rotation that ignored the configured theta would differ.
     */
    private void writeCase(Path dir, String name, String mixer, TttSettings ttt) throws IOException {
        int vocab = 64, t = 10, batch = 2;
        ModelConfig c = ModelConfig.builder().vocabSize(vocab).dFf(48).context(16).ropeTheta(100).mixers(mixer).window(0).initStd(0.2).section("ttt", ttt).build().validate();
        Decoder model = new Decoder(c, seed);
        SplittableRandom rng = new SplittableRandom(seed + 1);
        Map<String, Tensor> params = new LinkedHashMap<>();
        for (var e : model.params().all().entrySet()) {
            Tensor p = e.getValue();
            for (int i = 0; i < p.size(); i++) p.set(i, p.get(i) + 0.1 * Tensor.gaussian(rng)); // norms, biases, offsets: not 1 / 0
            params.put(e.getKey(), p);
        }
        int[] ids = new int[batch * t];
        float[] idf = new float[ids.length];
        for (int i = 0; i < ids.length; i++) idf[i] = ids[i] = rng.nextInt(vocab);
        Tensor logits;
        try (var g = GradMode.disabled()) {
            logits = model.logits(ids, batch, t, 0);
        }
        SafeTensors.write(dir.resolve("model.safetensors"), params, Map.of());
        SafeTensors.write(dir.resolve("io.safetensors"), new java.util.TreeMap<>(Map.of("logits", logits.to(DType.FP32), "tokens", Tensor.of(idf, batch, t))), Map.of());
        var kind = mixer.equals("ttt_mlp") ? org.ttt4j.lm.layers.ttt.InnerLoop.Kind.MLP : org.ttt4j.lm.layers.ttt.InnerLoop.Kind.LINEAR;
        var s = TttSettings.of(c).options(kind, c.ropeTheta());
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("case", name);
        cfg.put("layers", c.layers());
        cfg.put("heads", c.heads());
        cfg.put("mini_batch", s.miniBatch());
        cfg.put("base_lr", s.baseLr());
        cfg.put("rope_theta", c.ropeTheta());
        cfg.put("norm_eps", c.normEps());
        cfg.put("mamba", s.mamba());
        cfg.put("use_gate", s.useGate());
        cfg.put("share_qk", s.shareQk());
        cfg.put("pre_conv", s.preConv());
        cfg.put("mlp", kind == org.ttt4j.lm.layers.ttt.InnerLoop.Kind.MLP);
        new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), cfg);
        StateFile.write(dir.resolve("model-config.json"), c);
    }

    private Map<String, Object> runPython(Path script, Path caseDir) throws IOException, InterruptedException {
        List<String> candidates = python != null ? List.of(python) : List.of("/usr/bin/python3", "python3");
        String lastOutput = "";
        for (String py : candidates) {
            Process p;
            try {
                List<String> command = new ArrayList<>(List.of(py, script.toString()));
                if (fixtures != null) command.add("--write-reference");
                command.add(caseDir.toString());
                p = new ProcessBuilder(command).redirectErrorStream(true).start();
            } catch (IOException e) {
                continue;
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.MINUTES);
            lastOutput = out;
            String last = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse(null);
            if (p.exitValue() == 0 && last != null) {
                @SuppressWarnings("unchecked")
                Map<String, Object> m = new ObjectMapper().readValue(last, LinkedHashMap.class);
                return m;
            }
        }
        throw new IllegalStateException("no python with torch ran the comparison (tried " + candidates
                + "; scripts/install-peers.sh installs Debian's python3-torch). Last output: " + lastOutput.strip());
    }
}
