package org.ttt4j.lm.methods.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.kernel.PackedMatrix;
import org.ttt4j.core.kernel.Team;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.decode.DecodePlan;
import org.ttt4j.lm.decode.DecodeStep;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SwiGlu;
import org.ttt4j.lm.model.Block;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;
import org.ttt4j.lm.model.Pass;

/**
 * Reading and generating with a TTT-E2E model (docs/methods.md, section 3, "Decoding"): every block
 * decodes against its sliding-window KV cache, the suffix blocks with the current prime weights;
 * when a chunk of b tokens is complete and the token after it is known (its last target), the
 * session takes the inner step on that chunk, exactly as the training loop does, and the tokens
 * from there on see the new weights. State: the KV windows, the prime weights, the pending
 * chunk's suffix inputs and tokens, and the windows at its start: constant in context length.
 *
 * <p>The state can be saved to a file and loaded by another process ({@link #save}, {@link #load});
 * the continuation is bit-identical, and several sessions loaded from one file fork the sequence.
 * Tested against {@link E2eLoop#tokenLosses}.
 */
public final class E2eSession {
    /** The format tag saved states carry. */
    static final String FORMAT = "ttt4j-e2e-session/1";

    private final Decoder model;
    private final E2eLoop.Options options;
    private final int first, maxChunk;
    private final boolean fullHistory;
    private final List<MixerCache> caches = new ArrayList<>();
    private List<Tensor> fast = new ArrayList<>();
    private SelfAttention.Window[] chunkStart;
    private final List<Tensor> pendingInputs = new ArrayList<>();
    private int[] pendingTokens = new int[0];
    private long position;
    private Tensor lastOutput;   // logits [1, n, V] of the last feed; its last row is read only when asked for
    private float[] lastLogits;  // a loaded session's saved last row, until the next feed
    private DecodeStep step;     // the packed one-token path, built on first use
    private boolean stepChecked;
    private DecodePlan.Mlp[] primes; // the fast weights as the step reads them, rebuilt after each inner step

    public E2eSession(Decoder model, int maxChunk) {
        this(model, maxChunk, false);
    }

    /**
     * A session; with {@code fullHistory} every block's cache keeps all positions read (attention still
     * sees only its window), so the keys and values of the whole context stay available (qTTT).
     */
    public E2eSession(Decoder model, int maxChunk, boolean fullHistory) {
        ModelConfig c = model.config();
        this.model = model;
        this.options = E2eLoop.Options.of(c, 1.0);
        this.first = c.layers() - E2eSettings.of(c).suffixBlocks(c);
        // feed() passes at most one chunk at a time to the blocks: caches need room for no more.
        this.maxChunk = Math.min(maxChunk, options.chunk());
        this.fullHistory = fullHistory;
        for (Block b : model.blocks()) caches.add(fullHistory ? new KvCache(c.kvHeads(), c.headDim(), 0, this.maxChunk) : b.mixing().mixer().newCache(this.maxChunk));
        for (Tensor w : E2eLoop.primeWeights(model.blocks(), first)) fast.add(w.detach());
        chunkStart = new SelfAttention.Window[c.layers() - first];
    }

    public long position() {
        return position;
    }

    /** Most tokens one pass of the blocks reads (at most a chunk). */
    public int maxChunk() {
        return maxChunk;
    }

    /** Block {@code j}'s KV cache. */
    public KvCache cache(int j) {
        return (KvCache) caches.get(j);
    }

    /** Block {@code j}'s current prime MLP (the weights learned so far), null for a prefix block. */
    public SwiGlu prime(int j) {
        return j < first ? null : E2eLoop.prime(fast, j - first);
    }

    /**
     * Floats the session holds, whatever the context read: every block's KV window, the prime
     * weights, the windows at the start of the pending chunk and that chunk's inputs.
     */
    public long stateFloats() {
        long n = caches.stream().mapToLong(MixerCache::floats).sum();
        for (Tensor w : fast) n += w.size();
        for (SelfAttention.Window w : chunkStart) if (w != null) n += w.keys().size() + w.values().size();
        for (Tensor x : pendingInputs) n += x.size();
        return n;
    }

    /** The logits after the last token fed (null before any): what decoding samples from next. */
    public float[] lastLogits() {
        if (lastOutput != null) {
            int v = lastOutput.dim(-1), t = lastOutput.dim(-2);
            return Layout.slice(Layout.reshape(lastOutput, t, v), 0, t - 1, t).toFloatArray();
        }
        return lastLogits == null ? null : lastLogits.clone();
    }

    /** Logits [1, n, V] for the next n tokens of the sequence, learning at each chunk boundary on the way. */
    public Tensor feed(int[] ids) {
        int b = options.chunk();
        List<Tensor> outs = new ArrayList<>();
        try (var off = GradMode.disabled()) {
            int i = 0;
            while (i < ids.length) {
                if (pendingTokens.length == b) learn(ids[i]);
                int n = Math.min(b - pendingTokens.length, ids.length - i);
                int[] part = Arrays.copyOfRange(ids, i, i + n);
                if (n == 1 && step() != null) {
                    outs.add(Tensor.of(stepOne(part[0]).clone(), 1, 1, model.config().vocabSize()));
                    pendingTokens = Arrays.copyOf(pendingTokens, pendingTokens.length + 1);
                    pendingTokens[pendingTokens.length - 1] = part[0];
                    position++;
                    i++;
                    continue;
                }
                Tensor h = model.embed(part, 1, n);
                for (int j = 0; j < first; j++) h = model.blocks().get(j).apply(h, caches.get(j));
                pendingInputs.add(h);
                for (int j = first; j < model.blocks().size(); j++) h = model.blocks().get(j).apply(h, new Pass.Decode(caches.get(j)), Map.of(E2eLoop.PRIME, prime(j)));
                outs.add(model.head(h));
                int[] grown = Arrays.copyOf(pendingTokens, pendingTokens.length + n);
                System.arraycopy(part, 0, grown, pendingTokens.length, n);
                pendingTokens = grown;
                position += n;
                i += n;
            }
        }
        Tensor logits = outs.size() == 1 ? outs.getFirst() : Layout.concat(outs, 1);
        if (logits.dim(1) > 0) lastOutput = logits;
        return logits;
    }

    /**
     * Saves the whole state (KV windows, prime weights, the pending chunk, the windows at its start,
     * the position) as one safetensors file, written atomically; the model's config goes with it so
     * a load into another model is refused.
     */
    public void save(Path file) throws IOException {
        Map<String, Tensor> t = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        state(t, meta);
        SafeTensors.requireFinite(file, t);
        SafeTensors.write(file, t, meta);
    }

    /** An independent session in this one's state: both continue alike, bit for bit. */
    public E2eSession fork() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        try {
            state(t, meta);
            return restore(model, t, meta, "the forked session");
        } catch (IOException e) {
            throw new IllegalStateException("a session's own state did not restore: " + e.getMessage(), e);
        }
    }

    /** The whole state as named tensors (copies where the session changes them) and metadata. */
    private void state(Map<String, Tensor> t, Map<String, String> meta) throws com.fasterxml.jackson.core.JsonProcessingException {
        if (fullHistory) throw new IllegalStateException("a session keeping the full history (qTTT) is not saved as a state");
        meta.put("format", FORMAT);
        meta.put("config", new ObjectMapper().writeValueAsString(model.config()));
        meta.put("position", Long.toString(position));
        meta.put("max_chunk", Integer.toString(maxChunk));
        for (int j = 0; j < caches.size(); j++) {
            KvCache.Snapshot k = ((KvCache) caches.get(j)).snapshot();
            t.put("cache." + j + ".keys", Tensor.of(k.keys(), k.keys().length));
            t.put("cache." + j + ".values", Tensor.of(k.values(), k.values().length));
            meta.put("cache." + j, k.capacity() + "," + k.length() + "," + k.position());
        }
        for (int i = 0; i < fast.size(); i++) t.put("fast." + i, fast.get(i));
        for (int j = 0; j < chunkStart.length; j++) {
            if (chunkStart[j] == null) continue;
            t.put("window." + j + ".keys", chunkStart[j].keys());
            t.put("window." + j + ".values", chunkStart[j].values());
        }
        if (pendingTokens.length > 0) {
            t.put("pending.inputs", pendingInputs.size() == 1 ? pendingInputs.getFirst() : Layout.concat(pendingInputs, 1));
            float[] ids = new float[pendingTokens.length];
            for (int i = 0; i < ids.length; i++) ids[i] = pendingTokens[i];
            t.put("pending.tokens", Tensor.of(ids, ids.length));
        }
        float[] last = lastLogits();
        if (last != null) t.put("last_logits", Tensor.of(last, last.length));
    }

    /** A session continuing the state saved in {@code file}; refuses a state of another model or a damaged file. */
    public static E2eSession load(Decoder model, Path file) throws IOException {
        SafeTensors.Contents contents = SafeTensors.read(file);
        SafeTensors.requirePlausibleWeights(file, contents.tensors()); // fast weights, caches, logits: finite and far below 1e8
        return restore(model, contents.tensors(), contents.metadata() == null ? Map.of() : contents.metadata(), file.toString());
    }

    /** A session in the state {@link #state} wrote; {@code file} names the source in errors. */
    private static E2eSession restore(Decoder model, Map<String, Tensor> in, Map<String, String> meta, String file) throws IOException {
        if (!FORMAT.equals(meta.get("format"))) {
            throw new IllegalArgumentException(file + ": not a TTT-E2E session state (format " + meta.get("format") + ")");
        }
        ModelConfig saved = new ObjectMapper().readValue(meta.get("config"), ModelConfig.class);
        if (!saved.equals(model.config())) {
            throw new IllegalArgumentException(file + ": state saved for a different model: " + String.join("; ", model.config().differences(saved)));
        }
        ModelConfig c = model.config();
        E2eSession s = new E2eSession(model, Integer.parseInt(required(meta, "max_chunk", file)));
        s.position = Long.parseLong(required(meta, "position", file));
        for (int j = 0; j < s.caches.size(); j++) {
            String[] f = required(meta, "cache." + j, file).split(",");
            KvCache.Snapshot snap = new KvCache.Snapshot(tensor(in, "cache." + j + ".keys", file).toFloatArray(),
                    tensor(in, "cache." + j + ".values", file).toFloatArray(), Integer.parseInt(f[0]), Integer.parseInt(f[1]), Long.parseLong(f[2]));
            s.caches.set(j, KvCache.restore(c.kvHeads(), c.headDim(), model.blocks().get(j).mixing().mixer() instanceof SelfAttention a ? a.window() : 0,
                    s.maxChunk, snap));
        }
        for (int i = 0; i < s.fast.size(); i++) s.fast.set(i, shaped(tensor(in, "fast." + i, file), s.fast.get(i).shape(), file));
        for (int j = 0; j < s.chunkStart.length; j++) {
            if (in.containsKey("window." + j + ".keys")) {
                s.chunkStart[j] = new SelfAttention.Window(tensor(in, "window." + j + ".keys", file), tensor(in, "window." + j + ".values", file));
            }
        }
        if (in.containsKey("pending.tokens")) {
            float[] ids = tensor(in, "pending.tokens", file).toFloatArray();
            s.pendingTokens = new int[ids.length];
            for (int i = 0; i < ids.length; i++) s.pendingTokens[i] = (int) ids[i];
            s.pendingInputs.add(shaped(tensor(in, "pending.inputs", file), new int[] {1, ids.length, c.dModel()}, file));
        }
        if (in.containsKey("last_logits")) {
            s.lastLogits = shaped(tensor(in, "last_logits", file), new int[] {c.vocabSize()}, file).toFloatArray();
        }
        if (s.pendingTokens.length != s.position % s.options.chunk() && !(s.pendingTokens.length == s.options.chunk() && s.position > 0)) {
            throw new IllegalArgumentException(file + ": " + s.pendingTokens.length + " pending tokens do not fit position " + s.position);
        }
        return s;
    }

    private static String required(Map<String, String> meta, String key, String file) {
        String v = meta.get(key);
        if (v == null) throw new IllegalArgumentException(file + ": session state lacks " + key);
        return v;
    }

    private static Tensor tensor(Map<String, Tensor> in, String name, String file) {
        Tensor t = in.get(name);
        if (t == null) throw new IllegalArgumentException(file + ": session state lacks tensor " + name);
        return t;
    }

    private static Tensor shaped(Tensor t, int[] shape, String file) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(file + ": tensor of shape " + Arrays.toString(t.shape()) + " where " + Arrays.toString(shape) + " belongs");
        }
        return t;
    }

    /** The packed one-token step (null when the model has sub-layers it does not cover), built once. */
    private DecodeStep step() {
        if (!stepChecked) {
            stepChecked = true;
            step = DecodePlan.of(model).map(p -> new DecodeStep(p, 1, Team.engine(), first)).orElse(null);
        }
        return step;
    }

    /**
     * One token through the packed step, the suffix blocks' prime MLPs replaced by the current fast
     * weights; the suffix input it taps joins the pending chunk. Returns the step's logits buffer.
     */
    private float[] stepOne(int id) {
        if (primes == null) {
            primes = new DecodePlan.Mlp[caches.size() - first];
            for (int j = 0; j < primes.length; j++) {
                SwiGlu w = E2eLoop.prime(fast, j);
                primes[j] = new DecodePlan.Mlp(E2eLoop.PRIME, null, null, view(w.gate().weight()), view(w.up().weight()), view(w.down().weight()));
            }
        }
        float[] input = new float[model.config().dModel()];
        DecodePlan.Mlp[] current = primes;
        float[] logits = step.run(new DecodeStep.Sequence(caches, id,
                (block, name) -> block >= first && name.equals(E2eLoop.PRIME) ? current[block - first] : null, input));
        pendingInputs.add(Tensor.of(input, 1, 1, input.length));
        return logits;
    }

    /** An fp32 view of a fast weight (no copy when the tensor owns its whole array). */
    private static PackedMatrix view(Tensor w) {
        return PackedMatrix.f32View(w.f32(), w.offset(), w.dim(0), w.dim(1));
    }

    /** The inner step on the complete pending chunk, whose last target is {@code next}. */
    private void learn(int next) {
        int b = pendingTokens.length;
        int[] targets = Arrays.copyOfRange(pendingTokens, 1, b + 1);
        targets[b - 1] = next;
        double lr = options.innerLr() * options.lrMultiplier();
        try (var on = GradMode.enabled()) {
            List<Tensor> leaves = new ArrayList<>();
            for (Tensor w : fast) leaves.add(w.detach().requiresGrad(true));
            Tensor x = pendingInputs.size() == 1 ? pendingInputs.getFirst() : Layout.concat(pendingInputs, 1);
            int start = (int) (position - b);
            SelfAttention.Window[] after = chunkStart.clone();
            x = E2eLoop.suffixChunk(model.blocks().subList(first, model.blocks().size()), x, start, after, leaves);
            for (int j = 0; j < after.length; j++) after[j] = E2eLoop.detach(after[j]);
            Tensor score = Nn.crossEntropyMean(Layout.reshape(model.head(x), b, -1), targets, -1);
            fast = lr == 0 ? fast : E2eLoop.step(leaves, score, lr, options.clip(), false, false);
            chunkStart = after;
        }
        List<Tensor> detached = new ArrayList<>();
        for (Tensor w : fast) detached.add(w.detach());
        fast = detached;
        primes = null;
        pendingInputs.clear();
        pendingTokens = new int[0];
    }
}
