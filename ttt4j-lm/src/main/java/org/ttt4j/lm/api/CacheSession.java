package org.ttt4j.lm.api;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.infer.Generator;
import org.ttt4j.lm.io.SafeTensors;
import org.ttt4j.lm.layers.CacheFields;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Mixer;
import org.ttt4j.lm.model.ModelConfig;

/**
 * A session of a model without an inner loop of its own (attention, hybrids, TTT layers): the
 * per-block caches of {@link Decoder#newCaches} (KV caches, TTT fast weights and convolution
 * histories). Its state file holds every cache's tensors ({@code cache.<block>.<field>}), the logits
 * after the last token, and as metadata the format tag, the model's config, the chunk size and the
 * position.
 */
final class CacheSession extends Session {
    /** The format tag of saved states. */
    static final String FORMAT = "ttt4j-cache-session/1";

    private final int maxChunk;
    private final List<MixerCache> caches;

    private CacheSession(LanguageModel model, int maxChunk) {
        super(model);
        this.maxChunk = maxChunk;
        this.caches = model.decoder().newCaches(maxChunk);
    }

    /** A session that has read nothing; a model of sliding-window blocks only reads at most its window per pass. */
    static CacheSession fresh(LanguageModel model) {
        ModelConfig c = model.config();
        boolean windowed = c.blockMixers().stream().allMatch(Mixer::windowed);
        return new CacheSession(model, windowed ? Math.min(Generator.PREFILL_CHUNK, c.window()) : Generator.PREFILL_CHUNK);
    }

    @Override
    int maxChunk() {
        return maxChunk;
    }

    @Override
    Tensor forward(int[] ids) {
        return model.decoder().logits(ids, caches);
    }

    @Override
    public long position() {
        return caches.getFirst().position();
    }

    @Override
    public long stateFloats() {
        return caches.stream().mapToLong(MixerCache::floats).sum();
    }

    /** The state as tensors and metadata, copies of the caches'. */
    private void export(Map<String, Tensor> tensors, Map<String, String> meta) {
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

    @Override
    void write(Path file) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        export(tensors, meta);
        SafeTensors.requireFinite(file, tensors);
        SafeTensors.write(file, tensors, meta);
    }

    @Override
    Session copy() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        export(tensors, meta);
        return restore(model, tensors, meta, "the forked session");
    }

    /** A session continuing the state in {@code file}; see {@link LanguageModel#loadSession}. */
    static CacheSession load(LanguageModel model, Path file) throws IOException {
        SafeTensors.Contents in = SafeTensors.read(file);
        SafeTensors.requireFinite(file, in.tensors());
        return restore(model, in.tensors(), in.metadata() == null ? Map.of() : in.metadata(), file.toString());
    }

    private static CacheSession restore(LanguageModel model, Map<String, Tensor> tensors, Map<String, String> meta, String source) {
        String format = meta.get("format");
        if (!FORMAT.equals(format)) {
            String kind = E2eStateSession.FORMAT.equals(format) ? " (a TTT-E2E session state; this model's method is " + model.method() + ")" : "";
            throw new IllegalArgumentException(source + ": field format is " + (format == null ? "missing" : "\"" + format + "\"") + ", not a session state of"
                    + " this library (" + FORMAT + ")" + kind);
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
