package org.ttt4j.lm.methods.qttt;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SwiGlu;
import org.ttt4j.lm.methods.e2e.E2eLoop;
import org.ttt4j.lm.methods.e2e.E2eSession;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Block;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.optim.AdamW;
import org.ttt4j.lm.optim.GradClip;

/**
 * qTTT (docs/methods.md, section 4) for one request: the context is read once and every layer's keys
 * and values are kept (all positions, frozen); then {@link #adapt} takes AdamW steps on the query
 * projections alone, each on the next-token loss of a span drawn from the context, computed
 * against the frozen cache; then {@link #feed} answers with the adapted queries.
 *
 * <p>The adaptation belongs to this session: it works on its own copies of the W_Q tensors (every
 * other tensor is shared with the model, read only), so the model is unchanged unless
 * {@link #keep} copies them back. Works for every model whose blocks are all attention (full,
 * sliding window, hybrids of both) and for TTT-E2E models, whose session keeps learning its prime
 * MLPs while it reads and answers.
 */
public final class QtttSession {
    /** One adaptation step: its index (from 1), the span's start and its loss before the update. */
    public record Step(int step, int spanStart, double loss, double gradNorm) {}

    private final Decoder model, adapted;
    private final Map<String, Tensor> queries = new LinkedHashMap<>();
    private final int[] context;
    private final List<MixerCache> caches;   // plain models
    private final E2eSession e2e;            // TTT-E2E models
    private final List<Step> steps = new ArrayList<>();
    private Tensor lastOutput;
    private int lastToken;

    private QtttSession(Decoder model, int[] context, int maxChunk) {
        for (Block b : model.blocks()) {
            if (!b.attentionOnly()) {
                throw new IllegalArgumentException("qTTT needs attention in every block; mixers \"" + model.config().mixers() + "\" are not");
            }
        }
        if (context.length < 2) throw new IllegalArgumentException("qTTT needs a context of at least 2 tokens, got " + context.length);
        this.model = model;
        this.context = context.clone();
        this.lastToken = context[context.length - 1];
        // The session's model: the same tensors, except a private copy of every W_Q. The rest is detached
        // (read only, no gradient), so backward does only the work that reaches the queries.
        Map<String, Tensor> given = new LinkedHashMap<>();
        for (var e : model.params().all().entrySet()) {
            boolean query = e.getKey().endsWith(".self_attn.q_proj.weight");
            Tensor t = query ? e.getValue().detach().copy() : e.getValue().detach();
            given.put(e.getKey(), t);
            if (query) queries.put(e.getKey(), t);
        }
        this.adapted = new Decoder(model.config(), new Params(given));
        for (Tensor t : given.values()) t.requiresGrad(false); // Params marks what it is given as parameters
        try (var off = GradMode.disabled()) {
            if (E2eSettings.of(model.config()) != null) {
                caches = null;
                e2e = new E2eSession(adapted, maxChunk, true);
                for (int at = 0; at < context.length; at += maxChunk) lastOutput = e2e.feed(Arrays.copyOfRange(context, at, Math.min(context.length, at + maxChunk)));
            } else {
                e2e = null;
                caches = new ArrayList<>();
                var c = model.config();
                for (int i = 0; i < c.layers(); i++) caches.add(new KvCache(c.kvHeads(), c.headDim(), 0, maxChunk));
                for (int at = 0; at < context.length; at += maxChunk) {
                    lastOutput = adapted.logits(Arrays.copyOfRange(context, at, Math.min(context.length, at + maxChunk)), caches);
                }
            }
        }
    }

    /** Reads {@code context} (in pieces of {@code maxChunk} tokens), keeping every layer's keys and values. */
    public static QtttSession prefill(Decoder model, int[] context, int maxChunk) {
        if (maxChunk < 1) throw new IllegalArgumentException("maxChunk must be >= 1, got " + maxChunk);
        return new QtttSession(model, context, maxChunk);
    }

    /** Prefill, then {@code options.steps()} adaptation steps: the API's one call. */
    public static QtttSession adapt(Decoder model, int[] context, QtttOptions options) {
        QtttSession s = prefill(model, context, 1024);
        s.adapt(options, null);
        return s;
    }

    /**
     * Takes {@code o.steps()} AdamW steps on the query projections. Span starts are uniform over the
     * context (a span of min(span, context - 1) tokens predicts the token after each of its own).
     */
    public void adapt(QtttOptions o, Consumer<Step> progress) {
        o.validate();
        if (lastOutput == null) throw new IllegalStateException("the session has no context");
        int k = Math.min(o.span(), context.length - 1);
        var rng = new SplittableRandom(o.seed());
        var optimizer = new AdamW(queries, 0.9, 0.999, 1e-8, o.weightDecay());
        for (int n = 0; n < o.steps(); n++) {
            int start = rng.nextInt(context.length - k);
            Map<String, Tensor> grads = new LinkedHashMap<>();
            double loss;
            try (var on = GradMode.enabled()) {
                List<Tensor> leaves = new ArrayList<>();
                for (Tensor w : queries.values()) leaves.add(w.requiresGrad(true));
                Tensor l = spanLoss(start, k);
                loss = l.item();
                Tensor[] g = Autograd.grad(new Tensor[] {l}, leaves.toArray(Tensor[]::new), null, false);
                int i = 0;
                for (String name : queries.keySet()) grads.put(name, g[i++]);
            }
            for (Tensor w : queries.values()) w.requiresGrad(false);
            double norm = GradClip.clip(grads, o.clip());
            optimizer.step(grads, o.lr());
            Step step = new Step(n + 1, start, loss, norm);
            steps.add(step);
            if (progress != null) progress.accept(step);
        }
        refreshLastLogits();
    }

    /** The last token's logits with the current queries: its keys and values are cached, so only its queries change. */
    private void refreshLastLogits() {
        int position = cache(0).length() - 1;
        try (var off = GradMode.disabled()) {
            Tensor h = adapted.embed(new int[] {lastToken}, 1, 1);
            for (int i = 0; i < adapted.blocks().size(); i++) h = adapted.blocks().get(i).applyFrozen(h, position, cache(i), prime(i));
            lastOutput = adapted.head(h);
        }
    }

    /** Mean next-token loss of context[start .. start + k) predicting context[start + 1 .. start + k], against the frozen cache. */
    public Tensor spanLoss(int start, int k) {
        if (start < 0 || k < 1 || start + k >= context.length) {
            throw new IllegalArgumentException("span [" + start + ", " + (start + k) + "] outside the context of " + context.length + " tokens");
        }
        int[] ids = Arrays.copyOfRange(context, start, start + k), targets = Arrays.copyOfRange(context, start + 1, start + k + 1);
        Tensor h = adapted.embed(ids, 1, k);
        for (int i = 0; i < adapted.blocks().size(); i++) h = adapted.blocks().get(i).applyFrozen(h, start, cache(i), prime(i));
        return Nn.crossEntropyMean(Layout.reshape(adapted.head(h), k, -1), targets, -1);
    }

    /**
     * Per attention layer, the attention mass (mean over heads) that the token at context position
     * {@code position} puts on the positions [from, to): e.g. on a needle, before and after adapting.
     */
    public double[] attentionMass(int position, int from, int to) {
        if (position < 0 || position >= context.length || from < 0 || to > position + 1 || from >= to) {
            throw new IllegalArgumentException("attention mass of position " + position + " on [" + from + ", " + to + ") in a context of "
                    + context.length);
        }
        double[] mass = new double[adapted.blocks().size()];
        try (var off = GradMode.disabled()) {
            Tensor h = adapted.embed(new int[] {context[position]}, 1, 1);
            for (int i = 0; i < mass.length; i++) {
                Block b = adapted.blocks().get(i);
                double[][] p = ((SelfAttention) b.mixing().mixer()).probabilities(b.mixing().norm().apply(h), position, cache(i));
                for (double[] head : p) for (int j = from; j < to; j++) mass[i] += head[j] / p.length;
                h = b.applyFrozen(h, position, cache(i), prime(i));
            }
        }
        return mass;
    }

    /** Logits [1, n, V] for the next n tokens after the context (and anything fed before), with the adapted queries. */
    public Tensor feed(int[] ids) {
        try (var off = GradMode.disabled()) {
            Tensor out = e2e != null ? e2e.feed(ids) : adapted.logits(ids, caches);
            if (ids.length > 0) {
                lastOutput = out;
                lastToken = ids[ids.length - 1];
            }
            return out;
        }
    }

    /** The logits after the last token read. */
    public float[] lastLogits() {
        int v = lastOutput.dim(-1), t = lastOutput.dim(-2);
        return Layout.slice(Layout.reshape(lastOutput, t, v), 0, t - 1, t).toFloatArray();
    }

    /** The steps taken so far. */
    public List<Step> steps() {
        return List.copyOf(steps);
    }

    /** The adapted query projections by parameter name (the session's own tensors). */
    public Map<String, Tensor> queries() {
        return Map.copyOf(queries);
    }

    /** Block {@code i}'s frozen cache (every position read so far). */
    public KvCache cache(int i) {
        return e2e != null ? e2e.cache(i) : (KvCache) caches.get(i);
    }

    /** Copies the adapted query projections into the model's own parameters: the adaptation outlives the session. */
    public void keep() {
        Map<String, Tensor> own = model.params().all();
        for (var e : queries.entrySet()) {
            Tensor target = own.get(e.getKey());
            System.arraycopy(e.getValue().f32(), e.getValue().offset(), target.f32(), target.offset(), target.size());
        }
    }

    /** Block i's MLP substitutes: a TTT-E2E session's current prime weights (none for a prefix block or another model). */
    private Map<String, SwiGlu> prime(int i) {
        SwiGlu p = e2e != null ? e2e.prime(i) : null;
        return p == null ? Map.of() : Map.of(E2eLoop.PRIME, p);
    }
}
