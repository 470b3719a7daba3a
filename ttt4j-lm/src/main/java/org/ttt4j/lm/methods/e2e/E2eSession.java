package org.ttt4j.lm.methods.e2e;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SwiGlu;
import org.ttt4j.lm.model.Block;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

/**
 * Reading and generating with a TTT-E2E model (ttt-methods.md section 3, "Decode"): every block
 * decodes against its sliding-window KV cache, the suffix blocks with the current prime weights;
 * when a chunk of b tokens is complete and the token after it is known (its last target), the
 * session takes the inner step on that chunk, exactly as the training loop does, and the tokens
 * from there on see the new weights. State: the KV windows, the prime weights, the pending
 * chunk's suffix inputs and tokens, and the windows at its start: constant in context length.
 *
 * <p>Tested against {@link E2eLoop#tokenLosses}. Not yet: saving, loading and forking the state.
 */
public final class E2eSession {
    private final Decoder model;
    private final E2eLoop.Options options;
    private final int first;
    private final List<MixerCache> caches = new ArrayList<>();
    private List<Tensor> fast = new ArrayList<>();
    private SelfAttention.Window[] chunkStart;
    private final List<Tensor> pendingInputs = new ArrayList<>();
    private int[] pendingTokens = new int[0];
    private long position;

    public E2eSession(Decoder model, int maxChunk) {
        ModelConfig c = model.config();
        this.model = model;
        this.options = E2eLoop.Options.of(c, 1.0);
        this.first = c.layers() - c.e2e().suffixBlocks(c);
        for (Block b : model.blocks()) caches.add(b.mixer().newCache(maxChunk));
        for (int i = first; i < c.layers(); i++) {
            SwiGlu p = model.blocks().get(i).prime();
            for (Tensor w : List.of(p.gate().weight(), p.up().weight(), p.down().weight())) fast.add(w.detach());
        }
        chunkStart = new SelfAttention.Window[c.layers() - first];
    }

    public long position() {
        return position;
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
                Tensor h = model.embed(part, 1, n);
                for (int j = 0; j < first; j++) h = model.blocks().get(j).apply(h, caches.get(j));
                pendingInputs.add(h);
                for (int j = first; j < model.blocks().size(); j++) {
                    int f = 3 * (j - first);
                    h = model.blocks().get(j).apply(h, caches.get(j), SwiGlu.of(fast.get(f), fast.get(f + 1), fast.get(f + 2)));
                }
                outs.add(model.head(h));
                int[] grown = Arrays.copyOf(pendingTokens, pendingTokens.length + n);
                System.arraycopy(part, 0, grown, pendingTokens.length, n);
                pendingTokens = grown;
                position += n;
                i += n;
            }
        }
        return outs.size() == 1 ? outs.getFirst() : Layout.concat(outs, 1);
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
            SelfAttention.Window[] after = new SelfAttention.Window[chunkStart.length];
            for (int j = 0; j < chunkStart.length; j++) {
                var out = model.blocks().get(first + j).apply(x, start, chunkStart[j],
                        SwiGlu.of(leaves.get(3 * j), leaves.get(3 * j + 1), leaves.get(3 * j + 2)));
                x = out.h();
                after[j] = E2eLoop.detach(out.window());
            }
            Tensor score = Nn.crossEntropyMean(Layout.reshape(model.head(x), b, -1), targets, -1);
            fast = lr == 0 ? fast : E2eLoop.step(leaves, score, lr, options.clip(), false, false);
            chunkStart = after;
        }
        List<Tensor> detached = new ArrayList<>();
        for (Tensor w : fast) detached.add(w.detach());
        fast = detached;
        pendingInputs.clear();
        pendingTokens = new int[0];
    }
}
