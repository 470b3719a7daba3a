package org.ttt4j.lm.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.methods.qttt.QtttSession;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.tokenizer.Tokenizer;

/**
 * Exact-match accuracy on {@link KvRetrieval} probes (greedy answers) for one model, three ways:
 * in context; after qTTT on the context; and after spending qTTT's compute on generated tokens
 * instead (2 N k tokens, then the question again). Also the attention mass on the needle, per
 * layer, before and after adapting, and the time of the adaptation against the prefill's.
 */
public final class RetrievalEval {
    private RetrievalEval() {}

    /** One probe's outcome for one method. */
    public record Outcome(String method, int context, double lr, boolean correct, String answer, String expected,
                          double prefillMs, double adaptMs, double[] massBefore, double[] massAfter) {}

    /** The three methods on {@code probes} probes at each context, needles spread evenly over depth. */
    public static List<Outcome> run(Decoder model, Tokenizer tok, int[] contexts, int probes, QtttOptions qttt, boolean think, long seed,
                                    Consumer<Outcome> progress) {
        List<Outcome> out = new ArrayList<>();
        for (int c : contexts) {
            var rng = new SplittableRandom(seed + c);
            for (int i = 0; i < probes; i++) {
                KvRetrieval.Probe p = KvRetrieval.probe(rng, c, (i + 0.5) / probes);
                List<Outcome> these = new ArrayList<>(List.of(inContext(model, tok, p, c), adapted(model, tok, p, c, qttt)));
                if (think) these.add(thinking(model, tok, p, c, 2 * qttt.steps() * Math.min(qttt.span(), c)));
                for (Outcome o : these) {
                    out.add(o);
                    if (progress != null) progress.accept(o);
                }
            }
        }
        return out;
    }

    /** qTTT alone at one context, for a learning-rate sweep. */
    public static List<Outcome> sweep(Decoder model, Tokenizer tok, int context, int probes, QtttOptions qttt, double[] lrs, long seed,
                                      Consumer<Outcome> progress) {
        List<Outcome> out = new ArrayList<>();
        for (double lr : lrs) {
            var rng = new SplittableRandom(seed + context);
            for (int i = 0; i < probes; i++) {
                Outcome o = adapted(model, tok, KvRetrieval.probe(rng, context, (i + 0.5) / probes), context, qttt.withLr(lr));
                out.add(o);
                if (progress != null) progress.accept(o);
            }
        }
        return out;
    }

    /** The probe's tokens after a document boundary, as training documents start. */
    static int[] ids(Tokenizer tok, String text) {
        int[] body = tok.encode(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        int[] ids = new int[body.length + 1];
        ids[0] = tok.documentBoundary();
        System.arraycopy(body, 0, ids, 1, body.length);
        return ids;
    }

    private static Outcome inContext(Decoder model, Tokenizer tok, KvRetrieval.Probe p, int c) {
        long t0 = System.nanoTime();
        QtttSession s = QtttSession.prefill(model, ids(tok, p.context()), 256);
        double prefill = (System.nanoTime() - t0) / 1e6;
        String a = answer(s, tok, p.answer().length());
        return new Outcome("in-context", c, 0, a.equals(p.answer()), a, p.answer(), prefill, 0, null, null);
    }

    private static Outcome adapted(Decoder model, Tokenizer tok, KvRetrieval.Probe p, int c, QtttOptions o) {
        int[] ids = ids(tok, p.context());
        long t0 = System.nanoTime();
        QtttSession s = QtttSession.prefill(model, ids, 256);
        long t1 = System.nanoTime();
        // The needle's tokens: those of the text up to its line, then through it (exact for bytes; lines end in '\n' for BPE).
        int last = ids.length - 1, from = ids(tok, p.context().substring(0, p.needleStart())).length;
        int to = ids(tok, p.context().substring(0, p.needleEnd())).length;
        double[] before = s.attentionMass(last, from, to);
        long t2 = System.nanoTime();
        s.adapt(o, null);
        long t3 = System.nanoTime();
        double[] after = s.attentionMass(last, from, to);
        String a = answer(s, tok, p.answer().length());
        return new Outcome("qttt", c, o.lr(), a.equals(p.answer()), a, p.answer(), (t1 - t0) / 1e6, (t3 - t2) / 1e6, before, after);
    }

    /** The same compute as qTTT spent on decoding: the haystack, {@code extra} generated tokens, then the question again. */
    private static Outcome thinking(Decoder model, Tokenizer tok, KvRetrieval.Probe p, int c, int extra) {
        String question = p.context().substring(p.context().lastIndexOf('\n') + 1);
        String haystack = p.context().substring(0, p.context().length() - question.length());
        long t0 = System.nanoTime();
        QtttSession s = QtttSession.prefill(model, ids(tok, haystack), 256);
        double prefill = (System.nanoTime() - t0) / 1e6;
        long t1 = System.nanoTime();
        for (int i = 0; i < extra; i++) s.feed(new int[] {argmax(s.lastLogits(), tok.vocabSize())});
        double spent = (System.nanoTime() - t1) / 1e6;
        s.feed(tok.encode(("\n" + question).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        String a = answer(s, tok, p.answer().length());
        return new Outcome("thinking", c, 0, a.equals(p.answer()), a, p.answer(), prefill, spent, null, null);
    }

    /** n greedy tokens after what the session has read, as text. */
    private static String answer(QtttSession s, Tokenizer tok, int n) {
        int[] got = new int[n];
        for (int i = 0; i < n; i++) {
            got[i] = argmax(s.lastLogits(), tok.vocabSize());
            if (i + 1 < n) s.feed(new int[] {got[i]});
        }
        return new String(tok.decode(got), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The most likely id the tokenizer knows (the model's vocabulary may be padded beyond it). */
    private static int argmax(float[] logits, int vocab) {
        int best = 0;
        for (int i = 1; i < Math.min(vocab, logits.length); i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /** Accuracy of the outcomes matching a method, context and lr (NaN when there are none). */
    public static double accuracy(List<Outcome> all, String method, int context, double lr) {
        return all.stream().filter(o -> o.method().equals(method) && o.context() == context && (lr < 0 || o.lr() == lr))
                .mapToDouble(o -> o.correct() ? 1 : 0).average().orElse(Double.NaN);
    }

    /** Mean per-layer mass before (or after) adapting over the qTTT outcomes at one context. */
    public static double[] meanMass(List<Outcome> all, int context, boolean after) {
        return meanMass(all.stream().filter(o -> o.method().equals("qttt") && o.context() == context).toList(), after);
    }

    /** Mean per-layer mass before (or after) adapting over qTTT outcomes (empty when there are none). */
    public static double[] meanMass(List<Outcome> qttt, boolean after) {
        double[] sum = null;
        for (Outcome o : qttt) {
            double[] m = after ? o.massAfter() : o.massBefore();
            if (sum == null) sum = new double[m.length];
            for (int i = 0; i < m.length; i++) sum[i] += m[i] / qttt.size();
        }
        return sum == null ? new double[0] : sum;
    }
}
