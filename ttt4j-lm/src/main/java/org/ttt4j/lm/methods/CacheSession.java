package org.ttt4j.lm.methods;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.kernel.Elementwise;
import org.ttt4j.core.kernel.Team;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.tensor.Arena;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.decode.DecodePlan;
import org.ttt4j.lm.decode.DecodeStep;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.layers.CacheFields;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

/**
 * The plain decoder's session: every block carries its cache (a KV cache or ring, a TTT layer's
 * fast weights and convolution histories); longer inputs are read in passes of maxChunk tokens.
 * Its state file ({@value #FORMAT}) holds every cache's tensors and counters, the model's config
 * and the last logits.
 */
final class CacheSession implements MethodSession {
    /** The format tag state files carry. */
    static final String FORMAT = "ttt4j-cache-session/1";

    private final Decoder model;
    private final int maxChunk;
    private final List<MixerCache> caches;
    private float[] last;
    private DecodeStep step;        // the packed one-token path, built on first use
    private boolean stepChecked;

    CacheSession(Decoder model, int maxChunk) {
        this.model = model;
        this.maxChunk = maxChunk;
        this.caches = model.newCaches(maxChunk);
    }

    /** The packed one-token step, or null when the model has nothing it lays out (built once). */
    DecodeStep step() {
        if (!stepChecked) {
            stepChecked = true;
            step = DecodePlan.of(model).map(p -> new DecodeStep(p, 1, Team.engine(), -1)).orElse(null);
        }
        return step;
    }

    /** The blocks' caches, in order. */
    List<MixerCache> caches() {
        return caches;
    }

    /** Logits after one more token, in a buffer reused by the next call. */
    @Override
    public float[] next(int token) {
        DecodeStep s = step();
        if (s == null) return MethodSession.super.next(token);
        float[] logits = s.run(new DecodeStep.Sequence(caches, token));
        int v = model.config().vocabSize();
        if (last == null || last.length != v) last = new float[v];
        System.arraycopy(logits, 0, last, 0, v);
        return last;
    }

    /** Records the last logits after a batched step ({@link Batched}). */
    void lastLogits(float[] row, int offset) {
        int v = model.config().vocabSize();
        if (last == null || last.length != v) last = new float[v];
        System.arraycopy(row, offset, last, 0, v);
    }

    /**
     * Reads {@code ids} in passes of maxChunk tokens. A model whose blocks all attend grows its
     * caches once for the whole input, and runs each pass in a scope of this thread's prefill
     * arena: the pass's tensors reuse the previous pass's arrays (its keys and values are copied
     * into the caches, its logits into a fresh array), so a long read does not stream gigabytes of
     * fresh arrays through the heap.
     */
    @Override
    public float[] read(int[] ids) {
        if (ids.length == 0) throw new IllegalArgumentException("nothing to read: ids is empty");
        boolean attentionOnly = caches.stream().allMatch(c -> c instanceof KvCache);
        if (attentionOnly) for (MixerCache c : caches) ((KvCache) c).ensureRoom(ids.length);
        boolean pooled = attentionOnly && !Arena.isOpen();
        for (int at = 0; at < ids.length; at += maxChunk) {
            int[] piece = Arrays.copyOfRange(ids, at, Math.min(ids.length, at + maxChunk));
            if (piece.length == 1 && step() != null) {
                last = next(piece[0]);
            } else if (pooled) {
                try (var scope = PREFILL_ARENA.get().open()) {
                    last = model.lastLogits(piece, caches);
                }
            } else {
                last = model.lastLogits(piece, caches);
            }
        }
        return last.clone();
    }

    /** Each thread's arena for the passes of {@link #read} (arrays held softly: the heap can take them back). */
    private static final ThreadLocal<Arena> PREFILL_ARENA = ThreadLocal.withInitial(() -> new Arena(Elementwise::zero));

    /** The calling thread's prefill arena (tests poison it). */
    static Arena prefillArena() {
        return PREFILL_ARENA.get();
    }

    Decoder model() {
        return model;
    }

    @Override
    public Tensor feed(int[] ids) {
        Tensor logits;
        if (ids.length == 1 && step() != null) {
            return Tensor.of(next(ids[0]).clone(), 1, 1, model.config().vocabSize());
        } else if (ids.length <= maxChunk) {
            logits = model.logits(ids, caches);
        } else {
            // Caches have room for maxChunk new tokens per pass (a sliding window's ring too).
            List<Tensor> outs = new ArrayList<>();
            for (int at = 0; at < ids.length; at += maxChunk) {
                outs.add(model.logits(Arrays.copyOfRange(ids, at, Math.min(ids.length, at + maxChunk)), caches));
            }
            logits = Layout.concat(outs, 1);
        }
        int v = logits.dim(-1), t = logits.dim(-2);
        if (t > 0) last = Arrays.copyOfRange(logits.f32(), logits.offset() + (t - 1) * v, logits.offset() + t * v);
        return logits;
    }

    @Override
    public long position() {
        return caches.getFirst().position();
    }

    @Override
    public long stateFloats() {
        return caches.stream().mapToLong(MixerCache::floats).sum();
    }

    @Override
    public int maxChunk() {
        return maxChunk;
    }

    @Override
    public float[] lastLogits() {
        return last == null ? null : last.clone();
    }

    @Override
    public void save(Path file) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        state(tensors, meta);
        SafeTensors.requireFinite(file, tensors);
        SafeTensors.write(file, tensors, meta);
    }

    @Override
    public MethodSession fork() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        state(tensors, meta);
        return restore(model, tensors, meta, "the forked session");
    }

    private void state(Map<String, Tensor> tensors, Map<String, String> meta) {
        meta.put("format", FORMAT);
        try {
            meta.put("config", new ObjectMapper().writeValueAsString(model.config()));
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot write the model's config as JSON: " + e.getOriginalMessage(), e);
        }
        meta.put("max_chunk", Integer.toString(maxChunk));
        meta.put("position", Long.toString(position()));
        for (int j = 0; j < caches.size(); j++) caches.get(j).saveState("cache." + j + ".", tensors, meta);
        if (last != null) tensors.put("last_logits", Tensor.of(last.clone(), last.length));
    }

    /** The session saved in {@code file}, for {@code model}. */
    static CacheSession load(Decoder model, Path file) throws IOException {
        SafeTensors.Contents in = SafeTensors.read(file);
        SafeTensors.requireFinite(file, in.tensors());
        return restore(model, in.tensors(), in.metadata() == null ? Map.of() : in.metadata(), file.toString());
    }

    private static CacheSession restore(Decoder model, Map<String, Tensor> tensors, Map<String, String> meta, String source) {
        String format = meta.get("format");
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException(source + ": field format is " + (format == null ? "missing" : "\"" + format + "\"")
                    + ", not the session state of this model's method, " + Methods.of(model.config()).name() + " (" + FORMAT + ")");
        }
        String json = meta.get("config");
        if (json == null) throw new IllegalArgumentException(source + ": field config is missing");
        ModelConfig saved;
        try {
            saved = new ObjectMapper().readValue(json, ModelConfig.class);
        } catch (JacksonException e) {
            throw new IllegalArgumentException(source + ": field config is not a model config: " + e.getOriginalMessage(), e);
        }
        if (!saved.equals(model.config())) {
            throw new IllegalArgumentException(source + ": state saved for a different model (field config differs: "
                    + String.join("; ", model.config().differences(saved)) + ")");
        }
        int maxChunk = (int) CacheFields.counter(meta, "max_chunk", 1, 1 << 20, source);
        long position = CacheFields.counter(meta, "position", 0, Long.MAX_VALUE, source);
        CacheSession s = new CacheSession(model, maxChunk);
        for (int j = 0; j < s.caches.size(); j++) {
            MixerCache c = s.caches.get(j);
            c.loadState("cache." + j + ".", tensors, meta, source);
            if (c.position() != position) {
                throw new IllegalArgumentException(source + ": field cache." + j + ".position is " + c.position() + ", the session's position " + position);
            }
        }
        if (tensors.containsKey("last_logits")) {
            s.last = CacheFields.tensor(tensors, "last_logits", new int[] {model.config().vocabSize()}, source).toFloatArray();
        } else if (position > 0) {
            throw new IllegalArgumentException(source + ": field last_logits is missing (the state has read " + position + " tokens)");
        }
        return s;
    }
}
