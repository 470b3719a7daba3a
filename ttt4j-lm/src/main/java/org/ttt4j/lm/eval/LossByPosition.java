package org.ttt4j.lm.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;

/**
 * Mean loss by token index over a set of documents, in buckets whose edges double (1, 2, 4, ...):
 * the curve of TTT paper Fig. 2 / TTT-E2E Fig. 6, read on a log-scale x axis.
 */
public record LossByPosition(@JsonProperty("label") String label,
                             @JsonProperty("documents") int documents,
                             @JsonProperty("buckets") List<Bucket> buckets,
                             @JsonProperty("mean_loss") double meanLoss,
                             @JsonProperty("by_context") List<ContextLoss> byContext) {

    /** Tokens at indices [from, to) (1-based index of the predicted token), their mean loss. */
    public record Bucket(@JsonProperty("from") int from, @JsonProperty("to") int to,
                         @JsonProperty("tokens") long tokens, @JsonProperty("mean_loss") double meanLoss) {}

    /**
     * Mean loss over the first {@code context} tokens of every document at least that long: the
     * loss "at context length L" of the papers' tables (a causal model's loss on a prefix does not
     * depend on what follows, so one long pass gives every shorter context).
     */
    public record ContextLoss(@JsonProperty("context") int context, @JsonProperty("documents") int documents,
                              @JsonProperty("mean_loss") double meanLoss) {}

    public static LossByPosition of(String label, List<float[]> perDocumentLosses) {
        int longest = 0;
        for (float[] l : perDocumentLosses) longest = Math.max(longest, l.length);
        List<Bucket> buckets = new ArrayList<>();
        double total = 0;
        long count = 0;
        for (int from = 1; from <= longest; from *= 2) {
            int to = Math.min(longest + 1, from * 2);
            double sum = 0;
            long n = 0;
            for (float[] l : perDocumentLosses) {
                for (int i = from; i < to && i <= l.length; i++) {
                    sum += l[i - 1];
                    n++;
                }
            }
            if (n > 0) buckets.add(new Bucket(from, to, n, sum / n));
            total += sum;
            count += n;
        }
        List<ContextLoss> byContext = new ArrayList<>();
        for (int c = 2; c <= longest; c = c * 2 > longest && c < longest ? longest : c * 2) {
            double sum = 0;
            int docs = 0;
            for (float[] l : perDocumentLosses) {
                if (l.length < c) continue;
                double d = 0;
                for (int i = 0; i < c; i++) d += l[i];
                sum += d / c;
                docs++;
            }
            byContext.add(new ContextLoss(c, docs, sum / docs));
        }
        return new LossByPosition(label, perDocumentLosses.size(), buckets, count == 0 ? Double.NaN : total / count, byContext);
    }
}
