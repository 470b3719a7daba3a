package org.ttt4j.lm.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;

/**
 * A model's loss minus a reference model's on the same documents (TTT-E2E's "loss delta vs full
 * attention", negative = better than the reference): by token-index bucket and by context length.
 * Both must be scored on the same documents with the same tokenizer.
 */
public record LossDelta(@JsonProperty("label") String label,
                        @JsonProperty("reference") String reference,
                        @JsonProperty("mean_delta") double meanDelta,
                        @JsonProperty("by_position") List<Point> byPosition,
                        @JsonProperty("by_context") List<Point> byContext) {

    /** At token indices [from, to) (by position) or over the first {@code to - 1} tokens (by context, from = 1). */
    public record Point(@JsonProperty("from") int from, @JsonProperty("to") int to, @JsonProperty("delta") double delta) {}

    public static LossDelta of(LossByPosition model, LossByPosition reference) {
        if (model.documents() != reference.documents()) {
            throw new IllegalArgumentException("loss delta: " + model.label() + " was scored on " + model.documents() + " documents, the reference "
                    + reference.label() + " on " + reference.documents() + ": score both on the same documents");
        }
        List<Point> byPosition = new ArrayList<>();
        for (var b : model.buckets()) {
            for (var r : reference.buckets()) {
                if (r.from() == b.from() && r.to() == b.to()) byPosition.add(new Point(b.from(), b.to(), b.meanLoss() - r.meanLoss()));
            }
        }
        List<Point> byContext = new ArrayList<>();
        for (var c : model.byContext()) {
            for (var r : reference.byContext()) {
                if (r.context() == c.context()) byContext.add(new Point(1, c.context() + 1, c.meanLoss() - r.meanLoss()));
            }
        }
        return new LossDelta(model.label(), reference.label(), model.meanLoss() - reference.meanLoss(), byPosition, byContext);
    }
}
