package org.ttt4j.lm.methods;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.model.Decoder;

/** The plain decoder's session (longer inputs read in passes of maxChunk tokens): every block carries its cache (a KV cache or ring, a TTT layer's fast weights). */
final class CacheSession implements MethodSession {
    private final Decoder model;
    private final int maxChunk;
    private final List<MixerCache> caches;

    CacheSession(Decoder model, int maxChunk) {
        this.model = model;
        this.maxChunk = maxChunk;
        this.caches = model.newCaches(maxChunk);
    }

    @Override
    public Tensor feed(int[] ids) {
        if (ids.length <= maxChunk) return model.logits(ids, caches);
        // Caches have room for maxChunk new tokens per pass (a sliding window's ring too).
        List<Tensor> outs = new ArrayList<>();
        for (int at = 0; at < ids.length; at += maxChunk) {
            outs.add(model.logits(Arrays.copyOfRange(ids, at, Math.min(ids.length, at + maxChunk)), caches));
        }
        return Layout.concat(outs, 1);
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
}
