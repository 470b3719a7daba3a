package org.ttt4j.lm.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ttt4j.core.kernel.PackedMatrix;
import org.ttt4j.core.kernel.WeightFormat;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Linalg;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.RmsNorm;
import org.ttt4j.lm.layers.SelfAttention;

/**
 * The Llama-style decoder: token embedding, blocks, final RMSNorm, LM head (tied to the
 * embedding unless {@code tied_embeddings} is false).
 */
public final class Decoder {
    private final ModelConfig config;
    private final Params params;
    private final Tensor embedding;
    private final List<Block> blocks = new ArrayList<>();
    private final RmsNorm finalNorm;
    private final Tensor lmHead;
    private WeightFormat weights = WeightFormat.F32;
    private volatile KvCache.Format kvFormat = KvCache.Format.F32;
    private final Map<String, PackedMatrix> packed = new LinkedHashMap<>();

    public Decoder(ModelConfig config, long seed) {
        this(config, new Params(seed, config.initStd()));
    }

    /** A decoder whose parameters come from {@code params} (e.g. given tensors, see {@link Params#Params(java.util.Map)}). */
    public Decoder(ModelConfig config, Params params) {
        this.config = config.validate();
        this.params = params;
        this.embedding = params.normal("model.embed_tokens.weight", config.vocabSize(), config.dModel());
        for (int i = 0; i < config.layers(); i++) blocks.add(block(params, config, i));
        this.finalNorm = RmsNorm.create(params, "model.norm", config.dModel(), config.normEps());
        this.lmHead = config.tiedEmbeddings() ? embedding
                : params.normal("lm_head.weight", config.vocabSize(), config.dModel());
    }

    /** Block {@code index} of a model of config {@code c}, its parameters drawn from (or given by) {@code p}. */
    public static Block block(Params p, ModelConfig c, int index) {
        return BlockBuilder.build(p, c, index);
    }

    public ModelConfig config() {
        return config;
    }

    public Params params() {
        return params;
    }

    public List<Block> blocks() {
        return blocks;
    }

    /** The token embeddings [B, T, D] of ids laid out [B, T]. */
    public Tensor embed(int[] ids, int batch, int t) {
        return Nn.embedding(embedding, ids, batch, t);
    }

    /** Logits [B, T, V] for token ids laid out [B, T] (row-major), positions start at {@code start}. */
    public Tensor logits(int[] ids, int batch, int t, int start) {
        Tensor h = embed(ids, batch, t);
        for (Block b : blocks) h = b.apply(h, start);
        return head(h);
    }

    /** Mean next-token cross-entropy of {@code targets} (same layout as ids; ignoreIndex -1). */
    public Tensor loss(int[] ids, int[] targets, int batch, int t) {
        Tensor h = embed(ids, batch, t);
        for (Block b : blocks) h = b.apply(h, 0);
        Tensor x = Layout.reshape(finalNorm.apply(h), batch * t, -1);
        // The head and the loss in one op: the [B*T, V] logits are never held whole.
        return Nn.linearCrossEntropyMean(x, lmHead, targets, -1);
    }

    /** Per-token losses [B, T] of {@code targets}. */
    public Tensor tokenLosses(int[] ids, int[] targets, int batch, int t) {
        Tensor logits = logits(ids, batch, t, 0);
        return Layout.reshape(Nn.crossEntropy(Layout.reshape(logits, batch * t, -1), targets, -1), batch, t);
    }

    /** Decoding: logits [1, T, V] for a chunk of T new tokens of one sequence, updating the caches. */
    public Tensor logits(int[] ids, List<MixerCache> caches) {
        return head(hidden(ids, caches));
    }

    /** The last block's output [1, T, D] for a chunk of new tokens of one sequence, updating the caches. */
    private Tensor hidden(int[] ids, List<MixerCache> caches) {
        Tensor h = Nn.embedding(embedding, ids, 1, ids.length);
        for (int i = 0; i < blocks.size(); i++) h = blocks.get(i).apply(h, caches.get(i));
        return h;
    }

    /**
     * Reading: the logits [V] after the last of a chunk of new tokens of one sequence, updating the
     * caches; the head runs on that one position only.
     */
    public float[] lastLogits(int[] ids, List<MixerCache> caches) {
        Tensor h = hidden(ids, caches);
        int t = ids.length;
        return head(Layout.slice(h, 1, t - 1, t)).toFloatArray();
    }

    /**
     * Fresh per-layer caches for decoding in chunks of at most {@code maxChunk} tokens; attention
     * layers' KV caches in {@link #kvCacheFormat()}.
     */
    public List<MixerCache> newCaches(int maxChunk) {
        List<MixerCache> caches = new ArrayList<>();
        for (Block b : blocks) {
            caches.add(b.mixing().mixer() instanceof SelfAttention a ? a.newCache(maxChunk, kvFormat) : b.mixing().mixer().newCache(maxChunk));
        }
        return caches;
    }

    /** How the KV caches of {@link #newCaches} store keys and values (fp32 unless {@link #kvCacheFormat(KvCache.Format)} changed it). */
    public KvCache.Format kvCacheFormat() {
        return kvFormat;
    }

    /**
     * Stores the keys and values of caches made from now on in {@code format}: bf16 halves the
     * bytes a decoded token reads from a long context, and rounds each key and value once when it
     * is cached (an inference setting, like {@link #storeWeights}).
     */
    public Decoder kvCacheFormat(KvCache.Format format) {
        this.kvFormat = java.util.Objects.requireNonNull(format, "format");
        return this;
    }

    /** Final norm and LM head: hidden states [..., D] -> logits [..., V]. */
    public Tensor head(Tensor h) {
        return Linalg.matmul(finalNorm.apply(h), lmHead, false, true);
    }

    /** The format the weight matrices are stored in for inference (fp32 unless {@link #storeWeights} changed it). */
    public WeightFormat weightFormat() {
        return weights;
    }

    /**
     * Stores every weight matrix (each 2-D parameter: projections, MLPs, the embedding and LM head)
     * in {@code format} for inference, and replaces the fp32 values every other path computes with
     * by the values the format holds, so that scoring, chunked prefill and the packed decode step
     * all see the same weights. Norm scales, biases and higher-rank weights (TTT layers' initial
     * fast weights) stay fp32. The model is for inference afterwards: training it would leave the
     * packed copies behind. Storing the format a model already has does nothing; another is refused.
     */
    public synchronized Decoder storeWeights(WeightFormat format) {
        if (format == weights) return this;
        if (weights != WeightFormat.F32) {
            throw new IllegalStateException("the weights are already stored as " + weights.label() + "; load the model again to store them as " + format.label());
        }
        for (var e : params.all().entrySet()) {
            Tensor t = e.getValue();
            if (t.rank() != 2) continue;
            int rows = t.dim(0), cols = t.dim(1);
            float[] values = t.f32();
            PackedMatrix m = PackedMatrix.pack(values, t.offset(), rows, cols, format);
            m.dequantizeRows(0, rows, values, t.offset());
            packed.put(e.getKey(), m);
        }
        weights = format;
        return this;
    }

    /**
     * The weight matrix {@code name} as stored for inference: the packed copy after
     * {@link #storeWeights}, else an fp32 view of the parameter itself (no copy when the parameter
     * owns its whole array, so training updates show).
     */
    public PackedMatrix packed(String name) {
        PackedMatrix m = packed.get(name);
        if (m != null) return m;
        Tensor t = params.get(name);
        if (t.rank() != 2) throw new IllegalArgumentException("parameter " + name + " is not a matrix: shape " + java.util.Arrays.toString(t.shape()));
        return PackedMatrix.f32View(t.f32(), t.offset(), t.dim(0), t.dim(1));
    }

    /** The name of the LM head's matrix (the embedding's when tied). */
    public String headName() {
        return config.tiedEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight";
    }

    /** The final norm. */
    public RmsNorm finalNorm() {
        return finalNorm;
    }

    /** The token embedding [V, D]. */
    public Tensor embedding() {
        return embedding;
    }

    /** Names of the head's parameters: the final norm's weight and the LM head (the embedding when tied). */
    public List<String> headParameterNames() {
        return List.of("model.norm.weight", headName());
    }
}
