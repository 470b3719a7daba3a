package org.ttt4j.lm.methods.e2e;

import static org.ttt4j.core.ops.Arith.add;
import static org.ttt4j.core.ops.Arith.div;
import static org.ttt4j.core.ops.Arith.mul;
import static org.ttt4j.core.ops.Arith.sub;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.autograd.Checkpoint;
import org.ttt4j.core.ops.Arith;
import org.ttt4j.core.ops.Layout;
import org.ttt4j.core.ops.Maths;
import org.ttt4j.core.ops.Nn;
import org.ttt4j.core.ops.Reduce;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.layers.SelfAttention;
import org.ttt4j.lm.layers.SwiGlu;
import org.ttt4j.lm.model.Block;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

/**
 * TTT-E2E's inner loop (docs/methods.md, section 3), in the order of the spec: the prefix blocks run
 * once over the sequence; the suffix blocks run chunk by chunk, carrying each block's attention
 * window; chunk i is scored with the current prime weights W_{i-1}, then
 * {@code W_i = W_{i-1} - lr * mult * clip_by_global_norm(grad, clip)}. The sequence's loss is the
 * mean of the chunk scores: every token is predicted before the model trains on it.
 *
 * <p>With gradients recorded, the returned loss is differentiable with respect to every parameter
 * through the inner updates (a second-order meta-gradient), or, with {@code firstOrder}, with the
 * inner gradients taken as constants. Without recording (evaluation) the inner steps still run:
 * each chunk records just long enough to take its own gradient.
 *
 * <p>Training checkpoints every chunk ({@link Checkpoint}) and every prefix block in pieces:
 * memory grows with the number of chunks only by each chunk's inputs. The trainer uses this loop
 * for models with an {@code e2e} section; {@link E2eSession} is its decoding counterpart.
 */
public final class E2eLoop {
    private E2eLoop() {}

    /** Inner-loop options; {@code lrMultiplier} is the outer schedule's warm-up factor (1 at evaluation). */
    /** The name of the suffix blocks' prime MLP sub-layer. */
    public static final String PRIME = "prime_mlp";

    public record Options(int chunk, double innerLr, double clip, boolean firstOrder, double lrMultiplier, boolean checkpoint) {
        public Options(int chunk, double innerLr, double clip, boolean firstOrder, double lrMultiplier) {
            this(chunk, innerLr, clip, firstOrder, lrMultiplier, true);
        }

        public static Options of(ModelConfig c, double lrMultiplier) {
            E2eSettings e = E2eSettings.of(c);
            if (e == null) throw new IllegalArgumentException("not a TTT-E2E model: the config has no e2e section");
            return new Options(e.chunk(c), e.innerLearningRate(), e.clipNorm(), e.firstOrderOnly(), lrMultiplier, true);
        }

        public Options withCheckpoint(boolean on) {
            return new Options(chunk, innerLr, clip, firstOrder, lrMultiplier, on);
        }
    }

    /**
     * The post-TTT mean next-token loss of {@code targets} ([B, T] row-major like ids; -1 ignored).
     * Every sequence runs its own inner loop (its own prime weights, inner gradient and clip), batched:
     * the fast weights carry a leading batch axis and each row's inner gradient is that of its own
     * chunk score. The loss is the mean over sequences of each sequence's mean chunk score.
     */
    public static Tensor loss(Decoder model, int[] ids, int[] targets, int batch, int t, Options o) {
        checkShape(ids, targets, batch, t);
        if (batch == 1) {
            List<Tensor> scores = run(model, ids, targets, 1, t, o, null).scores();
            Tensor sum = scores.getFirst();
            for (int i = 1; i < scores.size(); i++) sum = add(sum, scores.get(i));
            return div(sum, scores.size());
        }
        Run r = run(model, ids, targets, batch, t, o, null);
        // Row b's loss is the mean of its scored chunks; the batch loss is the mean over rows with any target.
        int[] chunksOf = new int[batch];
        for (boolean[] valid : r.valid()) for (int b = 0; b < batch; b++) if (valid[b]) chunksOf[b]++;
        int rows = (int) Arrays.stream(chunksOf).filter(n -> n > 0).count();
        Tensor total = null;
        for (int c = 0; c < r.scores().size(); c++) {
            double[] w = new double[batch];
            for (int b = 0; b < batch; b++) w[b] = r.valid().get(c)[b] ? 1.0 / ((double) chunksOf[b] * rows) : 0;
            Tensor part = Reduce.sum(mul(r.scores().get(c), constant(r.scores().get(c), w)));
            total = total == null ? part : add(total, part);
        }
        return total;
    }

    /**
     * The same loss as {@link #loss}, one sequence at a time (a Java loop over rows, each with
     * unbatched fast weights): the reference the batched loop is held against, and the other
     * candidate {@code bench train --e2e-batching rows} times.
     */
    public static Tensor lossRowByRow(Decoder model, int[] ids, int[] targets, int batch, int t, Options o) {
        checkShape(ids, targets, batch, t);
        Tensor total = null;
        int rows = 0;
        for (int b = 0; b < batch; b++) {
            int[] rowTargets = Arrays.copyOfRange(targets, b * t, (b + 1) * t);
            if (Arrays.stream(rowTargets).allMatch(v -> v < 0)) continue;
            Tensor l = loss(model, Arrays.copyOfRange(ids, b * t, (b + 1) * t), rowTargets, 1, t, o);
            total = total == null ? l : add(total, l);
            rows++;
        }
        if (total == null) throw new IllegalArgumentException("TTT-E2E loss: no sequence has a target");
        return div(total, rows);
    }

    private static void checkShape(int[] ids, int[] targets, int batch, int t) {
        if (batch < 1 || t < 1 || ids.length != batch * t || targets.length != batch * t) {
            throw new IllegalArgumentException("TTT-E2E loss: " + ids.length + " ids and " + targets.length + " targets for "
                    + batch + " x " + t);
        }
    }

    /** A constant tensor of {@code like}'s dtype holding {@code values}. */
    private static Tensor constant(Tensor like, double[] values) {
        Tensor c = Tensor.zeros(like.dtype(), values.length);
        for (int i = 0; i < values.length; i++) c.set(i, values[i]);
        return c;
    }

    /**
     * Evaluation: the loss of every token of one sequence, each predicted with the prime weights
     * trained on the chunks before its own: losses[i] = -log p(tokens[i + 1] | tokens[0..i]).
     */
    public static float[] tokenLosses(Decoder model, int[] tokens, Options o) {
        if (tokens.length < 2) return new float[0];
        int t = tokens.length - 1;
        float[] losses = new float[t];
        try (var off = GradMode.disabled()) {
            run(model, Arrays.copyOf(tokens, t), Arrays.copyOfRange(tokens, 1, t + 1), 1, t, o, losses);
        }
        return losses;
    }

    /**
     * The inner loop's chunk scores: with one sequence each is a scalar; with B > 1 each is a [B]
     * vector of the rows' own chunk means, and {@code valid} says which rows had targets in it.
     */
    private record Run(List<Tensor> scores, List<boolean[]> valid) {}

    /** The inner loop; returns the chunk scores, and fills {@code tokenLosses} (one sequence) when given. */
    private static Run run(Decoder model, int[] ids, int[] targets, int batch, int t, Options o, float[] tokenLosses) {
        ModelConfig c = model.config();
        List<Block> blocks = model.blocks();
        int suffix = E2eSettings.of(c).suffixBlocks(c), first = blocks.size() - suffix;
        boolean outer = GradMode.isEnabled();
        Tensor h = model.embed(ids, batch, t);
        // Training checkpoints the prefix blocks and every chunk; evaluation keeps nothing past a chunk anyway.
        boolean checkpoint = outer && o.checkpoint() && tokenLosses == null;
        for (int i = 0; i < first; i++) h = checkpoint ? checkpointedBlock(model, i, h) : blocks.get(i).apply(h, 0);
        List<Tensor> fast = perSequence(primeWeights(blocks, first), batch);
        SelfAttention.Window[] windows = new SelfAttention.Window[suffix];
        List<String> suffixNames = checkpoint ? suffixParameterNames(model, first) : null;
        List<Tensor> scores = new ArrayList<>();
        List<boolean[]> valid = new ArrayList<>();
        double step = o.innerLr() * o.lrMultiplier();
        for (int at = 0; at < t; at += o.chunk()) {
            int end = Math.min(t, at + o.chunk());
            boolean update = step != 0 && end < t; // the last chunk's update would serve no later chunk
            int[] chunkTargets = chunkTargets(targets, batch, t, at, end);
            if (Arrays.stream(chunkTargets).allMatch(v -> v < 0)) break; // padding only from here on: nothing to score
            valid.add(rowsWithTargets(chunkTargets, batch));
            if (checkpoint) {
                Checkpointed r = checkpointed(model, first, suffixNames, Layout.slice(h, 1, at, end), at, windows, fast, chunkTargets,
                        update ? step : 0, o);
                scores.add(r.score());
                fast = r.fast();
                windows = r.windows();
                continue;
            }
            try (var rec = GradMode.set(outer || update)) {
                Tensor x = suffixChunk(blocks.subList(first, blocks.size()), Layout.slice(h, 1, at, end), at, windows, fast);
                if (!outer) for (int j = 0; j < suffix; j++) windows[j] = detach(windows[j]);
                Tensor logits = Layout.reshape(model.head(x), batch * (end - at), -1);
                if (tokenLosses != null) {
                    System.arraycopy(Nn.crossEntropy(logits, chunkTargets, -1).toFloatArray(), 0, tokenLosses, at, end - at);
                }
                Tensor score = chunkScore(logits, chunkTargets, batch);
                scores.add(score);
                if (update) fast = step(fast, innerObjective(score), step, o.clip(), outer, outer && !o.firstOrder());
            }
        }
        if (scores.isEmpty()) throw new IllegalArgumentException("TTT-E2E loss: the first chunk has no targets");
        return new Run(scores, valid);
    }

    /**
     * The fast weights of B sequences: for one, the prime weights themselves; for more, each
     * broadcast to [B, ...] so that every row's inner gradient is its own (the broadcast's gradient
     * sums the rows' meta-gradients back into the shared initial weights).
     */
    private static List<Tensor> perSequence(List<Tensor> fast, int batch) {
        if (batch == 1) return fast;
        List<Tensor> out = new ArrayList<>(fast.size());
        for (Tensor w : fast) {
            int[] shape = new int[w.rank() + 1];
            shape[0] = batch;
            System.arraycopy(w.shape(), 0, shape, 1, w.rank());
            Tensor rows = Reduce.broadcastTo(w, shape);
            out.add(GradMode.isEnabled() ? rows : rows.requiresGrad(true)); // evaluation: fresh leaves for the inner gradient
        }
        return out;
    }

    /** One chunk's score: the mean cross-entropy (one sequence), or each row's own mean as a [B] vector. */
    private static Tensor chunkScore(Tensor logits, int[] chunkTargets, int batch) {
        if (batch == 1) return Nn.crossEntropyMean(logits, chunkTargets, -1);
        int n = chunkTargets.length / batch;
        double[] inverse = new double[batch];
        for (int b = 0; b < batch; b++) {
            int counted = 0;
            for (int i = b * n; i < (b + 1) * n; i++) if (chunkTargets[i] >= 0) counted++;
            inverse[b] = counted == 0 ? 0 : 1.0 / counted;
        }
        Tensor rowSums = Reduce.sum(Layout.reshape(Nn.crossEntropy(logits, chunkTargets, -1), batch, n), new int[] {1}, false);
        return mul(rowSums, constant(rowSums, inverse));
    }

    /** What the inner step differentiates: the sum of the rows' scores, so each row's gradient is its own score's. */
    private static Tensor innerObjective(Tensor score) {
        return score.rank() == 0 ? score : Reduce.sum(score);
    }

    private static boolean[] rowsWithTargets(int[] chunkTargets, int batch) {
        int n = chunkTargets.length / batch;
        boolean[] valid = new boolean[batch];
        for (int i = 0; i < chunkTargets.length; i++) if (chunkTargets[i] >= 0) valid[i / n] = true;
        return valid;
    }

    /** The inner parameters: each suffix block's prime MLP weights (gate, up, down), block by block. */
    static List<Tensor> primeWeights(List<Block> blocks, int first) {
        List<Tensor> fast = new ArrayList<>();
        for (Block b : blocks.subList(first, blocks.size())) {
            SwiGlu p = b.mlp(PRIME).mlp();
            fast.addAll(List.of(p.gate().weight(), p.up().weight(), p.down().weight()));
        }
        return fast;
    }

    /** Suffix block {@code j}'s prime MLP made of the fast weights. */
    static SwiGlu prime(List<Tensor> fast, int j) {
        return SwiGlu.of(fast.get(3 * j), fast.get(3 * j + 1), fast.get(3 * j + 2));
    }

    /**
     * The suffix blocks over one chunk x at positions at.., each after its window in {@code windows}
     * (null: none yet) and with its prime MLP made of {@code fast}; returns the last block's output
     * and leaves each block's new window in {@code windows}.
     */
    static Tensor suffixChunk(List<Block> suffix, Tensor x, int at, SelfAttention.Window[] windows, List<Tensor> fast) {
        for (int j = 0; j < suffix.size(); j++) {
            Block.Chunked out = suffix.get(j).apply(x, at, windows[j], Map.of(PRIME, prime(fast, j)));
            x = out.h();
            windows[j] = out.window();
        }
        return x;
    }

    /** The parameters a checkpointed chunk reads: the suffix blocks' (but their prime MLPs') and the head's. */
    private static List<String> suffixParameterNames(Decoder model, int first) {
        List<String> names = new ArrayList<>();
        for (String name : model.params().all().keySet()) {
            for (int i = first; i < model.blocks().size(); i++) {
                if (name.startsWith("model.layers." + i + ".") && !name.contains(".prime_mlp.")) names.add(name);
            }
        }
        for (String name : model.headParameterNames()) if (!names.contains(name)) names.add(name);
        return names;
    }

    /** Tokens per checkpointed piece of a prefix block: backward holds one piece's intermediates (tests lower it). */
    static int prefixSegment = 1024;

    /**
     * A prefix block over the whole sequence under gradient checkpointing, in pieces of
     * {@link #prefixSegment} tokens that carry the attention window: training keeps each piece's
     * input and output (with its window), and backward recomputes one piece at a time, so the
     * block's intermediates (attention, MLP activations) never exist for the whole sequence.
     */
    private static Tensor checkpointedBlock(Decoder model, int index, Tensor h) {
        ModelConfig c = model.config();
        Map<String, Tensor> all = model.params().all();
        String prefix = "model.layers." + index + ".";
        List<String> names = all.keySet().stream().filter(n -> n.startsWith(prefix)).toList();
        int batch = h.dim(0), t = h.dim(1), d = h.dim(2);
        List<Tensor> outs = new ArrayList<>();
        SelfAttention.Window past = null;
        for (int at = 0; at < t; at += prefixSegment) {
            int start = at, n = Math.min(prefixSegment, t - at);
            boolean hasPast = past != null;
            List<Tensor> inputs = new ArrayList<>(List.of(Layout.slice(h, 1, at, at + n)));
            if (hasPast) inputs.addAll(List.of(past.keys(), past.values()));
            int paramAt = inputs.size();
            for (String name : names) inputs.add(all.get(name));
            int kept = Math.min(c.window(), (hasPast ? past.keys().dim(2) : 0) + n);
            Tensor packed = Checkpoint.run(in -> {
                Map<String, Tensor> given = new LinkedHashMap<>(all);
                for (int i = 0; i < names.size(); i++) given.put(names.get(i), in[paramAt + i]);
                var out = Decoder.block(new Params(given), c, index).apply(in[0], start, hasPast ? new SelfAttention.Window(in[1], in[2]) : null, Map.of());
                return Layout.concat(List.of(Layout.reshape(out.h(), -1), Layout.reshape(out.window().keys(), -1),
                        Layout.reshape(out.window().values(), -1)), 0);
            }, inputs.toArray(Tensor[]::new));
            // The outputs are views of the packed result: nothing is kept twice.
            int hs = batch * n * d, ws = batch * c.kvHeads() * kept * c.headDim();
            int[] windowShape = {batch, c.kvHeads(), kept, c.headDim()};
            outs.add(Layout.reshape(Layout.narrow(packed, 0, hs), batch, n, d));
            past = new SelfAttention.Window(Layout.reshape(Layout.narrow(packed, hs, hs + ws), windowShape),
                    Layout.reshape(Layout.narrow(packed, hs + ws, hs + 2 * ws), windowShape));
        }
        return outs.size() == 1 ? outs.getFirst() : Layout.concat(outs, 1);
    }

    /** One chunk's score and what it hands to the next chunk. */
    private record Checkpointed(Tensor score, List<Tensor> fast, SelfAttention.Window[] windows) {}

    /**
     * One chunk under gradient checkpointing: only its inputs are kept (the chunk's hidden states,
     * the carried windows, the fast weights and the parameters the suffix reads); its
     * intermediates, including the inner gradient's own graph, are recomputed during backward.
     * The chunk function builds the suffix blocks from its inputs so gradients reach every
     * parameter; its outputs (score, next fast weights, next windows) travel packed in one tensor.
     */
    private static Checkpointed checkpointed(Decoder model, int first, List<String> names, Tensor x, int at, SelfAttention.Window[] windows,
                                             List<Tensor> fast, int[] chunkTargets, double lr, Options o) {
        ModelConfig c = model.config();
        int suffix = windows.length, batch = x.dim(0), n = x.dim(1);
        boolean hasPast = windows[0] != null;
        Map<String, Tensor> all = model.params().all();
        List<Tensor> inputs = new ArrayList<>(List.of(x));
        inputs.addAll(fast);
        if (hasPast) for (SelfAttention.Window w : windows) inputs.addAll(List.of(w.keys(), w.values()));
        for (String name : names) inputs.add(all.get(name));
        int fastAt = 1, windowAt = fastAt + fast.size(), paramAt = windowAt + (hasPast ? 2 * suffix : 0);
        // Shapes of the outputs, to unpack them.
        int[][] fastShapes = fast.stream().map(Tensor::shape).toArray(int[][]::new);
        int kept = Math.min(c.window(), (hasPast ? windows[0].keys().dim(2) : 0) + n);
        int[] windowShape = {batch, c.kvHeads(), kept, c.headDim()};
        Function<Tensor[], Tensor> fn = in -> {
            boolean recording = GradMode.isEnabled();
            try (var on = GradMode.enabled()) {
                Map<String, Tensor> given = new LinkedHashMap<>(all);
                for (int i = 0; i < names.size(); i++) given.put(names.get(i), in[paramAt + i]);
                Decoder chunkModel = new Decoder(c, new Params(given)); // the model reading this chunk's inputs
                List<Tensor> f = new ArrayList<>(Arrays.asList(in).subList(fastAt, windowAt));
                SelfAttention.Window[] carried = new SelfAttention.Window[suffix];
                for (int j = 0; hasPast && j < suffix; j++) carried[j] = new SelfAttention.Window(in[windowAt + 2 * j], in[windowAt + 2 * j + 1]);
                Tensor h = suffixChunk(chunkModel.blocks().subList(first, c.layers()), in[0], at, carried, f);
                Tensor logits = Layout.reshape(chunkModel.head(h), batch * n, -1);
                Tensor score = chunkScore(logits, chunkTargets, batch);
                List<Tensor> packed = new ArrayList<>(List.of(Layout.reshape(score, -1)));
                List<Tensor> next = lr == 0 ? f : step(f, innerObjective(score), lr, o.clip(), true, recording && !o.firstOrder());
                for (Tensor w : next) packed.add(Layout.reshape(w, -1));
                for (SelfAttention.Window win : carried) packed.addAll(List.of(Layout.reshape(win.keys(), -1), Layout.reshape(win.values(), -1)));
                return Layout.concat(packed, 0);
            }
        };
        Tensor packed = Checkpoint.run(fn, inputs.toArray(Tensor[]::new));
        int scores = batch == 1 ? 1 : batch;
        Tensor score = batch == 1 ? Layout.reshape(Layout.narrow(packed, 0, 1), new int[0]) : Layout.narrow(packed, 0, batch);
        int off = scores;
        List<Tensor> next = new ArrayList<>();
        for (int[] shape : fastShapes) {
            int size = org.ttt4j.core.tensor.Shapes.size(shape);
            next.add(Layout.reshape(Layout.narrow(packed, off, off + size), shape));
            off += size;
        }
        SelfAttention.Window[] nextWindows = new SelfAttention.Window[suffix];
        int ws = org.ttt4j.core.tensor.Shapes.size(windowShape);
        for (int j = 0; j < suffix; j++) {
            Tensor k = Layout.reshape(Layout.narrow(packed, off, off + ws), windowShape);
            Tensor v = Layout.reshape(Layout.narrow(packed, off + ws, off + 2 * ws), windowShape);
            nextWindows[j] = new SelfAttention.Window(k, v);
            off += 2 * ws;
        }
        return new Checkpointed(score, next, nextWindows);
    }

    /**
     * W - lr * min(1, clip / ||g||) * g over the global norm of all fast weights' gradients. Fast
     * weights with a leading batch axis (one set per sequence) are clipped row by row: each
     * sequence's norm is over its own gradients only. With {@code outer} the new weights stay
     * connected to the old ones (and, with {@code createGraph}, to the gradient's own graph);
     * without, they start fresh leaves so memory stays bounded.
     */
    static List<Tensor> step(List<Tensor> fast, Tensor score, double lr, double clip, boolean outer, boolean createGraph) {
        Tensor[] g = Autograd.grad(new Tensor[] {score}, fast.toArray(Tensor[]::new), null, createGraph);
        boolean rows = fast.getFirst().rank() == 3;
        Tensor sq = null;
        for (Tensor gi : g) {
            Tensor s = rows ? Reduce.sum(mul(gi, gi), new int[] {1, 2}, false) : Reduce.sum(mul(gi, gi));
            sq = sq == null ? s : add(sq, s);
        }
        // A row with no targets in this chunk has a zero gradient: its norm's square root is taken of 1
        // instead, so the second-order backward does not divide by zero (its update is zero either way).
        if (rows) sq = Arith.where(Arith.greater(sq, Tensor.scalar(sq.dtype(), 0)), sq, Tensor.scalar(sq.dtype(), 1));
        Tensor norm = Maths.sqrt(sq);
        Tensor limit = Tensor.scalar(norm.dtype(), clip);
        Tensor scale = div(limit, Arith.where(Arith.greater(norm, limit), norm, limit)); // min(1, clip / norm)
        if (rows) scale = Layout.reshape(scale, -1, 1, 1);
        List<Tensor> next = new ArrayList<>(fast.size());
        for (int i = 0; i < fast.size(); i++) {
            Tensor w = sub(fast.get(i), mul(mul(g[i], scale), lr));
            next.add(outer ? w : w.detach().requiresGrad(true));
        }
        return next;
    }

    static SelfAttention.Window detach(SelfAttention.Window w) {
        return new SelfAttention.Window(w.keys().detach(), w.values().detach());
    }

    private static int[] chunkTargets(int[] targets, int batch, int t, int at, int end) {
        int n = end - at;
        int[] out = new int[batch * n];
        for (int b = 0; b < batch; b++) System.arraycopy(targets, b * t + at, out, b * n, n);
        return out;
    }
}
