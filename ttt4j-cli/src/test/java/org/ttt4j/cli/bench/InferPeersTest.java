package org.ttt4j.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.cli.bench.InferPeers.Outcome;
import org.ttt4j.cli.bench.InferPeers.PeerResult;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.lm.api.ModelFolders;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

/**
 * How the peers' output becomes results and failures become reasons, with stand-in peers (no
 * Jlama or torch needed); and that the peers compute ttt4j's model: the committed fixture
 * ({@code scripts/fixtures/peer-fixtures.sh}) holds torch's and Jlama's logits of a small Llama folder.
 */
class InferPeersTest {
    private static final String TORCH_LINE = "{\"peer\": \"torch\", \"version\": \"2.13.0+cpu\", \"transformers\": \"5.18.0\", \"weights\": \"bf16\","
            + " \"threads\": 2, \"context\": 128, \"tokens\": 32, \"prefill_tokens_per_s\": 1500.5, \"decode_tokens_per_s\": 41.25}";
    private static final String JLAMA_LINE = "{\"peer\":\"jlama\",\"version\":\"0.8.4\",\"weights\":\"q4\",\"threads\":1,\"context\":1024,"
            + "\"tokens\":32,\"prefill_tokens_per_s\":900.000,\"decode_tokens_per_s\":55.500}";

    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final PrintWriter log = new PrintWriter(new OutputStreamWriter(logBytes, StandardCharsets.UTF_8), true);

    private String log() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void resultLinesAreReadAndChatterIsSkipped() {
        List<PeerResult> r = InferPeers.parse("loading ...\nSLF4J: no providers\n" + TORCH_LINE + "\n" + JLAMA_LINE + "\n");
        assertEquals(2, r.size());
        assertEquals(new PeerResult("torch", "2.13.0+cpu (transformers 5.18.0)", "bf16", 2, 128, 1500.5, 41.25, null), r.get(0));
        assertEquals(new PeerResult("jlama", "0.8.4", "q4", 1, 1024, 900.0, 55.5, null), r.get(1));
        assertTrue(r.get(0).measured());
        assertEquals(41.25, r.get(0).row().get("decode_tokens_per_s"));
    }

    @Test
    void oneResultPerContextInTheOrderAsked() {
        String other = JLAMA_LINE.replace("\"context\":1024", "\"context\":128");
        var r = InferPeers.results("jlama", "q4", 1, new int[] {128, 1024, 4000}, new Outcome(0, JLAMA_LINE + "\n" + other + "\n", ""), log);
        assertEquals(List.of(128, 1024, 4000), r.stream().map(PeerResult::context).toList());
        assertTrue(r.get(0).measured() && r.get(1).measured());
        assertFalse(r.get(2).measured());
        assertEquals("printed no result for context 4000", r.get(2).absent());
    }

    @Test
    void aFailedPeerIsAbsentWithItsStatusAndLastErrorLineAndItsStandardErrorIsLogged() {
        var o = new Outcome(3, "", "Traceback (most recent call last):\n  File \"x.py\"\nRuntimeError: out of memory\n");
        var r = InferPeers.results("torch", "f32", 2, new int[] {128, 1024}, o, log);
        assertEquals(2, r.size());
        for (PeerResult p : r) {
            assertFalse(p.measured());
            assertEquals("exited with status 3: RuntimeError: out of memory", p.absent());
            assertTrue(Double.isNaN(p.decodeTokensPerS()));
            assertEquals("exited with status 3: RuntimeError: out of memory", p.row().get("absent"));
        }
        assertTrue(log().contains("torch peer (f32, 2 thread(s)) absent: exited with status 3") && log().contains("File \"x.py\""), log());
    }

    @Test
    void aJavaStackTraceIsReducedToItsInnermostCause() {
        String err = "SLF4J: No SLF4J providers were found.\nException in thread \"main\" java.lang.RuntimeException: wrapped\n"
                + "\tat a.B.c(B.java:1)\nCaused by: java.lang.IndexOutOfBoundsException: offset 128\n\tat a.B.d(B.java:2)\n\t... 3 more\n";
        assertEquals("Caused by: java.lang.IndexOutOfBoundsException: offset 128", InferPeers.errorLine(err));
        assertEquals("error: --weights q4: not a multiple of 32", InferPeers.errorLine("SLF4J: x\nerror: --weights q4: not a multiple of 32\n"));
        assertEquals("only a frame", InferPeers.errorLine("\tonly a frame\n"));
    }

    @Test
    void garbageIsAClearReasonNotACrash() {
        var notJson = InferPeers.results("jlama", "f32", 1, new int[] {128}, new Outcome(0, "hello\n{oops, not json\n", "a warning\n"), log);
        assertTrue(notJson.getFirst().absent().startsWith("line 2 of its output is not JSON"), notJson.getFirst().absent());
        assertTrue(log().contains("a warning"), log());

        var nothing = InferPeers.results("jlama", "f32", 1, new int[] {128}, new Outcome(0, "just text\n", ""), log);
        assertEquals("printed no result line (a JSON object starting with '{'); its output: just text", nothing.getFirst().absent());

        var lacking = InferPeers.results("jlama", "f32", 1, new int[] {128},
                new Outcome(0, JLAMA_LINE.replace(",\"decode_tokens_per_s\":55.500", ""), ""), log);
        assertTrue(lacking.getFirst().absent().startsWith("line 1 of its output lacks \"decode_tokens_per_s\""), lacking.getFirst().absent());

        var text = InferPeers.results("jlama", "f32", 1, new int[] {128}, new Outcome(0, JLAMA_LINE.replace("55.500", "\"fast\""), ""), log);
        assertTrue(text.getFirst().absent().contains("\"decode_tokens_per_s\" is not a number"), text.getFirst().absent());
    }

    @Test
    void realProcessesGiveTheirOutputStatusAndErrors() {
        Outcome ok = InferPeers.run(List.of("sh", "-c", "echo chatter; echo \"$PEER_LINE\"; echo warned >&2"), Map.of("PEER_LINE", JLAMA_LINE),
                Duration.ofMinutes(1));
        assertEquals(0, ok.status(), ok.err());
        assertEquals("warned\n", ok.err());
        assertEquals(55.5, InferPeers.parse(ok.out()).getFirst().decodeTokensPerS());

        Outcome failed = InferPeers.run(List.of("sh", "-c", "echo partial; echo broken >&2; exit 7"), Map.of(), Duration.ofMinutes(1));
        var r = InferPeers.results("torch", "q8", 1, new int[] {64}, failed, log);
        assertEquals("exited with status 7: broken", r.getFirst().absent());

        Outcome missing = InferPeers.run(List.of("/nonexistent/peer-binary"), Map.of(), Duration.ofMinutes(1));
        assertEquals(Outcome.NOT_STARTED, missing.status());
        assertTrue(InferPeers.results("jlama", "f32", 1, new int[] {64}, missing, log).getFirst().absent().startsWith("could not start: "));

        Outcome slow = InferPeers.run(List.of("sh", "-c", "sleep 30"), Map.of(), Duration.ofMillis(300));
        assertEquals(Outcome.TIMED_OUT, slow.status());
    }

    @Test
    void thePeersAreFoundInTheRepositoryAndJlamaRunsOnExactlyNThreads() throws Exception {
        Path peers = InferPeers.peersFolder();
        assertTrue(Files.isRegularFile(peers.resolve("torch_decode.py")) && Files.isRegularFile(peers.resolve("jlama/pom.xml")), peers.toString());
        assertTrue(InferPeers.jlamaJvmOptions(1).contains("-Djava.util.concurrent.ForkJoinPool.common.parallelism=0"));
        assertTrue(InferPeers.jlamaJvmOptions(2).contains("-Djava.util.concurrent.ForkJoinPool.common.parallelism=1"));
        assertTrue(InferPeers.jlamaJvmOptions(2).contains("--add-modules=jdk.incubator.vector"));
    }

    @Test
    void withoutPythonTorchIsAbsentSayingWhatWasTried(@TempDir Path dir) {
        var r = InferPeers.torch(dir, "f32", 1, new int[] {128, 1024}, 8, List.of("/nonexistent/python3"), log);
        assertEquals(2, r.size());
        assertEquals("no Python with torch and transformers (tried /nonexistent/python3 (not found))", r.getFirst().absent());
        assertTrue(log().contains("torch peer absent: no Python with torch"), log());
    }

    @Test
    void aJlamaPeerThatCannotBeBuiltSaysWhy(@TempDir Path dir) throws Exception {
        Path peers = Files.createDirectories(dir.resolve("scripts/peers/jlama")).getParent();
        Files.writeString(peers.resolve("jlama/pom.xml"), "<project/>");
        var e = assertThrows(java.io.IOException.class, () -> InferPeers.buildJlama(peers, log));
        assertTrue(e.getMessage().startsWith("cannot build the Jlama peer: no Maven wrapper at "), e.getMessage());
    }

    @Test
    void anHfFolderOfARandomModelReadsBackAsTheSameModel(@TempDir Path dir) throws Exception {
        ModelConfig c = ModelConfig.builder().vocabSize(300).dModel(32).layers(1).heads(2).dFf(64).context(64).build();
        Decoder m = new Decoder(c, 3);
        Path hf = InferPeers.writeHfFolder(m, dir.resolve("hf"));
        JsonNode config = new ObjectMapper().readTree(hf.resolve("config.json").toFile());
        assertEquals("llama", config.get("model_type").asText());
        assertEquals(300, config.get("vocab_size").asInt());
        Decoder back = ModelFolders.load(hf).model();
        int[] ids = {1, 299, 5, 256};
        try (var off = GradMode.disabled()) {
            assertArrayEquals(m.logits(ids, 1, ids.length, 0).toFloatArray(), back.logits(ids, 1, ids.length, 0).toFloatArray());
        }
        assertThrows(IllegalArgumentException.class,
                () -> InferPeers.writeHfFolder(new Decoder(ModelConfig.builder().vocabSize(100).dModel(32).layers(1).heads(2).dFf(64).build(), 1), dir.resolve("x")));
    }

    /**
     * ttt4j's logits of the fixture's ids equal torch's and Jlama's to 1e-4 x max(1, max |logit|)
     * (seen: a few 1e-6): the peers run the model ttt4j runs, so their speeds compare. When python3
     * has torch, torch_decode.py is run again on the fixture and must agree as well.
     */
    @Test
    void thePeersComputeTtt4jsModel() throws Exception {
        Path fixture = Path.of(InferPeersTest.class.getResource("peer-fixture/config.json").toURI()).getParent();
        JsonNode expected = new ObjectMapper().readTree(fixture.resolve("peer-logits.json").toFile());
        int[] ids = new int[expected.get("ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = expected.get("ids").get(i).asInt();
        Decoder m = ModelFolders.load(fixture).model();
        float[] all;
        try (var off = GradMode.disabled()) {
            all = m.logits(ids, 1, ids.length, 0).toFloatArray();
        }
        int vocab = m.config().vocabSize();
        float[] last = java.util.Arrays.copyOfRange(all, all.length - vocab, all.length);
        for (String peer : List.of("torch", "jlama")) assertClose(peer + " (fixture, " + expected.get("producers").get(peer).asText() + ")", last, expected.get(peer));

        float[] live;
        try {
            live = InferPeers.torchLogits(fixture, ids);
        } catch (java.io.IOException e) {
            if (!e.getMessage().startsWith("no Python with torch")) throw e;
            System.out.println("thePeersComputeTtt4jsModel: " + e.getMessage() + ": checked against the committed fixture only");
            return;
        }
        ObjectMapper json = new ObjectMapper();
        assertClose("torch (run now)", last, json.valueToTree(live));
    }

    private static void assertClose(String what, float[] ttt4j, JsonNode peer) {
        assertEquals(ttt4j.length, peer.size(), what + ": vocabulary");
        double scale = 1, worst = 0;
        for (int i = 0; i < ttt4j.length; i++) scale = Math.max(scale, Math.abs(peer.get(i).asDouble()));
        for (int i = 0; i < ttt4j.length; i++) {
            double d = Math.abs(ttt4j[i] - peer.get(i).asDouble());
            worst = Math.max(worst, d);
            assertTrue(d <= 1e-4 * scale, what + ": logit " + i + " is " + ttt4j[i] + " in ttt4j, " + peer.get(i).asDouble());
        }
        System.out.printf("%s: max |ttt4j - peer| %.2e (max |logit| %.2f)%n", what, worst, scale);
    }
}
