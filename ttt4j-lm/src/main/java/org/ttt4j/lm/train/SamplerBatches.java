package org.ttt4j.lm.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.ttt4j.lm.data.Batch;
import org.ttt4j.lm.data.BatchSampler;
import org.ttt4j.lm.data.SamplerState;
import org.ttt4j.lm.data.TokenizedCorpus;

/** Connects the data pipeline's sampler to the trainer: batches, state in checkpoints, validation. */
public final class SamplerBatches implements BatchSource {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BatchSampler sampler;
    private final int boundary;

    /** Batches of {@code sampler}; {@code boundary}: the corpus's document-boundary id (-1: none). */
    public SamplerBatches(BatchSampler sampler, int boundary) {
        this.sampler = sampler;
        this.boundary = boundary;
    }

    @Override
    public int documentBoundary() {
        return boundary;
    }

    @Override
    public int[] next() {
        return sampler.next().tokens();
    }

    @Override
    @SuppressWarnings("unchecked")
    public Map<String, Object> state() {
        return JSON.convertValue(sampler.state(), Map.class);
    }

    @Override
    public void restore(Map<String, Object> state) {
        sampler.restore(JSON.convertValue(state, SamplerState.class));
    }

    /**
     * Fixed validation batches; positions past a row's length are padding and are marked -1 so the
     * loss leaves them out. The last batch may have fewer rows than {@code batch} (a held-out split
     * smaller than one batch gives one such batch).
     */
    public static List<int[]> validation(TokenizedCorpus corpus, int batch, int context, int limit) {
        List<int[]> out = new ArrayList<>();
        for (Batch b : corpus.validationBatches(batch, context)) {
            if (out.size() >= limit) break;
            if (b.rows() < 1 || b.rows() > batch || b.columns() != context + 1) continue;
            int[] t = b.tokens().clone();
            for (int r = 0; r < b.rows(); r++) {
                for (int c = b.lengths()[r]; c < b.columns(); c++) t[r * b.columns() + c] = -1;
            }
            out.add(t);
        }
        return out;
    }
}
