package org.ttt4j.lm.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Arrays;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.methods.qttt.QtttSession;
import org.ttt4j.lm.model.Decoder;

/**
 * A self-supervised probe of qTTT on real text: read a document but for its last {@code answer}
 * tokens, then score those tokens (mean next-token loss, each predicted from the frozen cache of
 * everything before it) once as read and once after qTTT's steps on spans of the part read. The
 * difference is what adapting the queries to the document did for the rest of it; the times put
 * the steps' cost beside the prefill's.
 *
 * @param tokens the document's tokens used (context plus answer)
 * @param lossBefore the answer's mean loss with the model's own queries
 * @param lossAfter the answer's mean loss with the adapted queries
 * @param prefillSeconds reading the context once (keys and values cached)
 * @param adaptSeconds the qTTT steps
 */
public record QtttProbe(@JsonProperty("tokens") int tokens, @JsonProperty("answer") int answer, @JsonProperty("steps") int steps,
                        @JsonProperty("span") int span, @JsonProperty("loss_before") double lossBefore,
                        @JsonProperty("loss_after") double lossAfter, @JsonProperty("prefill_s") double prefillSeconds,
                        @JsonProperty("adapt_s") double adaptSeconds) {

    /** The probe on {@code doc} (at least {@code answer + 2} tokens): the last {@code answer} are scored. */
    public static QtttProbe run(Decoder model, int[] doc, int answer, QtttOptions options) {
        if (answer < 1 || doc.length < answer + 2) {
            throw new IllegalArgumentException("qTTT probe: a document of " + doc.length + " tokens cannot hold a context and " + answer + " answer tokens");
        }
        int[] context = Arrays.copyOf(doc, doc.length - answer), rest = Arrays.copyOfRange(doc, doc.length - answer, doc.length);
        long t0 = System.nanoTime();
        QtttSession plain = QtttSession.prefill(model, context, 1024);
        double prefill = (System.nanoTime() - t0) / 1e9;
        double before = answerLoss(plain, rest);
        QtttSession adapted = QtttSession.prefill(model, context, 1024);
        long t1 = System.nanoTime();
        adapted.adapt(options, null);
        double adapt = (System.nanoTime() - t1) / 1e9;
        return new QtttProbe(doc.length, answer, options.steps(), Math.min(options.span(), context.length - 1), before, answerLoss(adapted, rest),
                prefill, adapt);
    }

    /** Mean loss of {@code rest}: its first token from the context's last logits, each next one after feeding the previous. */
    private static double answerLoss(QtttSession s, int[] rest) {
        float[] first = s.lastLogits();
        int v = first.length;
        Tensor logits = Tensor.of(first, 1, v);
        if (rest.length > 1) {
            Tensor more = Layout.reshape(s.feed(Arrays.copyOf(rest, rest.length - 1)), rest.length - 1, v);
            logits = Layout.concat(java.util.List.of(logits, more), 0);
        }
        return Nn.crossEntropyMean(logits, rest, -1).item();
    }
}
