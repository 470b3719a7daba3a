package org.ttt4j.lm.methods;

import java.lang.ref.SoftReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import org.ttt4j.core.kernel.Team;
import org.ttt4j.lm.decode.DecodeStep;
import org.ttt4j.lm.model.Decoder;

/**
 * Decoding several sessions together: each reads one token, and sessions of one attention model
 * share every weight read (one matrix product for all of them, {@link DecodeStep}). Each session's
 * logits are the same bits as its own {@link MethodSession#next}. Sessions of other methods, or of
 * different models, read one after another.
 */
public final class Batched {
    /** Most sessions one shared step reads; larger groups are read in steps of this many. */
    public static final int MAX_BATCH = 16;

    /** One shared step per model; softly held, as the step references its model (a strong value would keep the key alive). */
    private static final Map<Decoder, SoftReference<DecodeStep>> STEPS = new WeakHashMap<>();

    private Batched() {}

    /**
     * Reads {@code tokens[i]} into {@code sessions.get(i)} for every i and returns each session's
     * logits after it (row i, freshly allocated).
     */
    public static float[][] next(List<? extends MethodSession> sessions, int[] tokens) {
        if (sessions.size() != tokens.length) throw new IllegalArgumentException(sessions.size() + " sessions but " + tokens.length + " tokens");
        for (int i = 0; i < sessions.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (sessions.get(i) == sessions.get(j)) throw new IllegalArgumentException("session " + j + " is given twice (at " + j + " and " + i + ")");
            }
        }
        float[][] out = new float[sessions.size()][];
        List<Integer> group = new ArrayList<>();
        for (int i = 0; i < sessions.size(); i++) {
            if (!(sessions.get(i) instanceof CacheSession c) || c.step() == null) {
                out[i] = sessions.get(i).next(tokens[i]).clone();
                continue;
            }
            if (!group.isEmpty() && ((CacheSession) sessions.get(group.getFirst())).model() != c.model()) flush(sessions, tokens, group, out);
            group.add(i);
            if (group.size() == MAX_BATCH) flush(sessions, tokens, group, out);
        }
        flush(sessions, tokens, group, out);
        return out;
    }

    private static void flush(List<? extends MethodSession> sessions, int[] tokens, List<Integer> group, float[][] out) {
        if (group.isEmpty()) return;
        CacheSession first = (CacheSession) sessions.get(group.getFirst());
        int v = first.model().config().vocabSize();
        synchronized (STEPS) {
            SoftReference<DecodeStep> held = STEPS.get(first.model());
            DecodeStep step = held == null ? null : held.get();
            if (step == null) {
                step = new DecodeStep(first.step().plan(), MAX_BATCH, Team.engine(), -1);
                STEPS.put(first.model(), new SoftReference<>(step));
            }
            DecodeStep.Sequence[] seqs = new DecodeStep.Sequence[group.size()];
            for (int j = 0; j < seqs.length; j++) {
                CacheSession s = (CacheSession) sessions.get(group.get(j));
                seqs[j] = new DecodeStep.Sequence(s.caches(), tokens[group.get(j)]);
            }
            float[] logits = step.run(seqs);
            for (int j = 0; j < seqs.length; j++) {
                CacheSession s = (CacheSession) sessions.get(group.get(j));
                s.lastLogits(logits, j * v);
                out[group.get(j)] = java.util.Arrays.copyOfRange(logits, j * v, (j + 1) * v);
            }
        }
        group.clear();
    }
}
