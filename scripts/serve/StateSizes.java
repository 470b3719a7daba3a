// The memory a session holds per method and context: java -cp ttt4j-cli/target/ttt4j.jar --add-modules jdk.incubator.vector scripts/serve/StateSizes.java
// Random-initialised models of the `small` preset (width 256, 6 blocks): a state's size does not depend on the weights' values.
import java.nio.file.Files;
import java.util.List;
import java.util.SplittableRandom;
import org.ttt4j.lm.api.LanguageModel;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

void main(String[] args) throws Exception {
    int[] contexts = args.length > 0 ? java.util.Arrays.stream(args[0].split(",")).mapToInt(Integer::parseInt).toArray() : new int[] {1024, 4096, 16384};
    ModelConfig small = Presets.byName("small").withVocab(ByteTokenizer.VOCAB_SIZE).withContext(65536);
    System.out.printf("%-12s %8s %14s %14s%n", "method", "context", "state MiB", "file MiB");
    for (String kind : List.of("full", "swa", "ttt_linear", "ttt_mlp", "e2e")) {
        ModelConfig c = switch (kind) {
            case "e2e" -> new E2eSettings(null, 64, null, null, null).matched(small.withMixers("swa", 64));
            case "swa" -> small.withMixers("swa", 64);
            default -> small.withMixers(kind, 64);
        };
        var lm = LanguageModel.of(new Decoder(c.validate(), 1), ByteTokenizer.instance());
        var rng = new SplittableRandom(1);
        var s = lm.session();
        int read = 0;
        for (int ctx : contexts) {
            int[] ids = new int[ctx - read];
            for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(256);
            s.feed(ids);
            read = ctx;
            var f = Files.createTempFile("state", ".safetensors");
            s.save(f);
            System.out.printf("%-12s %8d %14.2f %14.2f%n", kind, ctx, 4.0 * s.stateFloats() / (1 << 20), Files.size(f) / (double) (1 << 20));
            System.out.printf("{\"method\":\"%s\",\"context\":%d,\"state_bytes\":%d,\"file_bytes\":%d}%n", kind, ctx, 4 * s.stateFloats(), Files.size(f));
            Files.delete(f);
        }
    }
}
