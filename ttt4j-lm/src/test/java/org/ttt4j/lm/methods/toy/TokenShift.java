package org.ttt4j.lm.methods.toy;

import java.util.List;
import java.util.Map;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.CacheFields;
import org.ttt4j.lm.layers.Linear;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.layers.SequenceMixer;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.model.BlockBuilder;
import org.ttt4j.lm.model.SubLayer;

/**
 * A sequence mixer defined outside the library, to show what adding one takes: this package and
 * one line in {@code META-INF/services/org.ttt4j.lm.model.ModelPart} (here in the test resources).
 * Mixer {@code token_shift}: each token sees only the one before it, {@code y_t = W x_{t-1}}.
 */
public final class TokenShift implements Method {
    @Override public String name() { return "token_shift"; }
    @Override public String title() { return "Token shift"; }
    @Override public String summary() { return "each token mixes in the previous one (a test-only mixer)"; }
    @Override public List<String> mixerNames() { return List.of(name()); }

    @Override
    public void addMixer(BlockBuilder b, String mixer) {
        int d = b.config().dModel();
        b.add(new SubLayer.Mixing("mixer", b.norm("shift_norm"), new Shift(Linear.create(b.params(), b.name("shift.proj"), d, d)), null));
        b.mlpNormName("ffn_norm");
    }

    /** The layer: x [B, T, D] -> W (x shifted one position later, zeros first). */
    record Shift(Linear proj) implements SequenceMixer {
        @Override
        public Tensor apply(Tensor x, int start) {
            int t = x.dim(1);
            Tensor shifted = Layout.pad(Layout.slice(x, 1, 0, t - 1), 1, 1, t);
            return proj.apply(shifted);
        }

        @Override
        public Tensor apply(Tensor x, MixerCache mixerCache) {
            Cache cache = (Cache) mixerCache;
            int t = x.dim(1);
            Tensor previous = cache.last != null ? cache.last : Tensor.zeros(x.dtype(), 1, 1, x.dim(2));
            Tensor shifted = t == 1 ? previous : Layout.concat(List.of(previous, Layout.slice(x, 1, 0, t - 1)), 1);
            cache.last = Layout.slice(x, 1, t - 1, t).detach();
            cache.position += t;
            return proj.apply(shifted);
        }

        @Override
        public MixerCache newCache(int maxChunk) {
            return new Cache();
        }
    }

    /** The last token's input and the position. */
    static final class Cache implements MixerCache {
        Tensor last;
        long position;

        @Override public long position() { return position; }
        @Override public long floats() { return last == null ? 0 : last.size(); }

        @Override
        public void saveState(String prefix, Map<String, Tensor> tensors, Map<String, String> meta) {
            meta.put(prefix + "position", Long.toString(position));
            if (last != null) tensors.put(prefix + "last", last.copy());
        }

        @Override
        public void loadState(String prefix, Map<String, Tensor> tensors, Map<String, String> meta, String source) {
            position = CacheFields.counter(meta, prefix + "position", 0, Long.MAX_VALUE, source);
            Tensor saved = tensors.get(prefix + "last");
            if (position > 0 && saved == null) throw new IllegalArgumentException(source + ": field " + prefix + "last is missing");
            last = saved == null ? null : saved.copy();
        }
    }
}
