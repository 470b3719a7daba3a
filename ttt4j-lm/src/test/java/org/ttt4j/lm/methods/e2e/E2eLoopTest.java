package org.ttt4j.lm.methods.e2e;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.autograd.Autograd;
import org.ttt4j.core.autograd.GradCheck;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.GradMode;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.Params;
import org.ttt4j.lm.methods.e2e.E2eSettings;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.ModelConfig;

class E2eLoopTest {
    /** 2 SWA blocks (window 4) with qk_norm and sandwich norms, the last one a suffix block with a prime MLP. */
    private static ModelConfig tiny(double innerLr, boolean firstOrder) {
        return ModelConfig.builder().vocabSize(13).dModel(8).dFf(8).context(16).qkNorm(true).postNorm(true).mixers("swa").window(4).initStd(0.3).section("e2e", new E2eSettings(1, 3, innerLr, 1.0, firstOrder)).build().validate();
    }

    private static int[] tokens(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rng.nextInt(13);
        return t;
    }

    @Test
    void suffixBlocksHoldAPrimeMlpBeforeTheStaticOne() {
        var names = new Decoder(tiny(1, false), 1).params().all().keySet();
        assertTrue(names.contains("model.layers.1.prime_mlp.gate_proj.weight"));
        assertTrue(names.contains("model.layers.1.prime_out_norm.weight"));
        assertFalse(names.contains("model.layers.0.prime_mlp.gate_proj.weight"), "prefix blocks have none");
    }

    /** With inner lr 0 the chunked pass scores a sequence exactly like the same weights run in one pass. */
    @Test
    void innerLrZeroScoresLikeThePlainModel() {
        Decoder m = new Decoder(tiny(0, false), 3);
        int b = 2, t = 10;
        int[] ids = tokens(b * t, 4), targets = tokens(b * t, 5);
        try (var off = GradMode.disabled()) {
            double plain = m.loss(ids, targets, b, t).item();
            // two chunks of 5: equal chunks, so the mean of chunk means is the token mean of the plain loss
            double chunked = E2eLoop.loss(m, ids, targets, b, t, new E2eLoop.Options(5, 0, 1, false, 1)).item();
            assertEquals(plain, chunked, 1e-5);
        }
    }

    /** The inner steps change the score, and evaluation (no recording) gives the value training sees. */
    @Test
    void innerStepsLowerTheLossOfARepeatedSequenceAndEvaluationMatchesTraining() {
        Decoder m = new Decoder(tiny(1, false), 3);
        int[] half = tokens(6, 9), ids = new int[12], targets = new int[12];
        for (int i = 0; i < 12; i++) ids[i] = half[i % 6];
        for (int i = 0; i < 12; i++) targets[i] = half[(i + 1) % 6];
        var o = new E2eLoop.Options(6, 1.0, 1.0, false, 1);
        double trained = E2eLoop.loss(m, ids, targets, 1, 12, o).item();
        double none = E2eLoop.loss(m, ids, targets, 1, 12, new E2eLoop.Options(6, 0, 1.0, false, 1)).item();
        double evaluated;
        try (var off = GradMode.disabled()) {
            evaluated = E2eLoop.loss(m, ids, targets, 1, 12, o).item();
        }
        assertEquals(trained, evaluated, 1e-6);
        // Per-token evaluation (what eval plots) averages to the same loss: chunks of 6 over 12 positions.
        int[] seq = new int[13];
        for (int i = 0; i < 13; i++) seq[i] = half[i % 6];
        float[] perToken = E2eLoop.tokenLosses(m, seq, o);
        double mean = 0;
        for (float v : perToken) mean += v / perToken.length;
        assertEquals(trained, mean, 1e-5);
        assertTrue(trained < none, "a chunk seen before is predicted better after the inner step: " + trained + " vs " + none);
    }

    /** The meta-gradient (through the inner SGD steps, second order) against finite differences. */
    @Test
    void metaGradientMatchesFiniteDifferences() {
        ModelConfig c = tiny(0.5, false);
        Map<String, Tensor> init = new LinkedHashMap<>();
        new Decoder(c, 7).params().all().forEach((n, v) -> init.put(n, v.to(DType.FP64).copy()));
        List<String> checked = List.of("model.layers.1.prime_mlp.down_proj.weight", "model.layers.1.prime_norm.weight",
                "model.layers.0.self_attn.v_proj.weight");
        int b = 1, t = 6;
        int[] ids = tokens(t, 11), targets = tokens(t, 12);
        var r = GradCheck.firstOrder(x -> {
            Map<String, Tensor> given = new LinkedHashMap<>(init);
            for (int i = 0; i < checked.size(); i++) given.put(checked.get(i), x[i]);
            return E2eLoop.loss(new Decoder(c, new Params(given)), ids, targets, b, t, E2eLoop.Options.of(c, 1));
        }, checked.stream().map(init::get).toArray(Tensor[]::new), 3);
        assertTrue(r.passed(), r.toString());
    }

    /** Per-chunk checkpointing recomputes the same values: loss and meta-gradients agree with the plain graph. */
    @Test
    void checkpointedChunksGiveTheSameLossAndGradients() {
        int segment = E2eLoop.prefixSegment;
        E2eLoop.prefixSegment = 4; // prefix blocks checkpointed in pieces of 4 tokens (10 tokens: 3 pieces)
        try {
            checkpointedAndPlainAgree();
        } finally {
            E2eLoop.prefixSegment = segment;
        }
    }

    private void checkpointedAndPlainAgree() {
        for (boolean firstOrder : new boolean[] {false, true}) {
            ModelConfig c = tiny(0.7, firstOrder);
            double[] losses = new double[2];
            List<Tensor[]> grads = new ArrayList<>();
            for (boolean checkpoint : new boolean[] {false, true}) {
                Map<String, Tensor> init = new LinkedHashMap<>();
                new Decoder(c, 8).params().all().forEach((n, v) -> init.put(n, v.to(DType.FP64).copy()));
                Decoder m = new Decoder(c, new Params(init));
                Tensor loss = E2eLoop.loss(m, tokens(2 * 10, 3), tokens(2 * 10, 4), 2, 10, E2eLoop.Options.of(c, 1).withCheckpoint(checkpoint));
                losses[checkpoint ? 1 : 0] = loss.item();
                grads.add(Autograd.grad(new Tensor[] {loss}, m.params().all().values().toArray(Tensor[]::new), null, false));
            }
            assertEquals(losses[0], losses[1], 1e-12);
            for (int i = 0; i < grads.get(0).length; i++) {
                for (int e = 0; e < grads.get(0)[i].size(); e++) {
                    assertEquals(grads.get(0)[i].get(e), grads.get(1)[i].get(e), 1e-10, "parameter " + i + " element " + e);
                }
            }
        }
    }

    /**
     * Each sequence of a batch runs its own inner loop: the batch's loss and meta-gradient equal the
     * mean of the sequences' own (each run alone), first and second order, with and without
     * checkpointing, and with a row padded short (validation batches). A loop that shares the prime
     * weights across rows, or clips the rows' gradients jointly, fails this.
     */
    @Test
    void batchLossAndGradientAreTheMeanOfTheSequences() {
        int segment = E2eLoop.prefixSegment;
        E2eLoop.prefixSegment = 4;
        try {
            for (boolean firstOrder : new boolean[] {false, true}) {
                for (boolean checkpoint : new boolean[] {false, true}) batchAgreesWithSequences(firstOrder, checkpoint);
            }
        } finally {
            E2eLoop.prefixSegment = segment;
        }
    }

    private void batchAgreesWithSequences(boolean firstOrder, boolean checkpoint) {
        ModelConfig c = tiny(1.0, firstOrder);
        Map<String, Tensor> init = new LinkedHashMap<>();
        new Decoder(c, 21).params().all().forEach((n, v) -> init.put(n, v.to(DType.FP64).copy()));
        Decoder m = new Decoder(c, new Params(init));
        Tensor[] params = m.params().all().values().toArray(Tensor[]::new);
        int b = 3, t = 10;
        int[] ids = tokens(b * t, 31), targets = tokens(b * t, 32);
        for (int i = 2 * t + 6; i < 3 * t; i++) targets[i] = -1; // row 2: 6 targets, the last chunk unscored
        var o = E2eLoop.Options.of(c, 1).withCheckpoint(checkpoint);
        Tensor batched = E2eLoop.loss(m, ids, targets, b, t, o);
        double mean = 0;
        List<Tensor[]> rowGrads = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            int[] rowIds = java.util.Arrays.copyOfRange(ids, r * t, (r + 1) * t);
            int[] rowTargets = java.util.Arrays.copyOfRange(targets, r * t, (r + 1) * t);
            Tensor l = E2eLoop.loss(m, rowIds, rowTargets, 1, t, o);
            mean += l.item() / b;
            rowGrads.add(Autograd.grad(new Tensor[] {l}, params, null, false));
        }
        String what = (firstOrder ? "first" : "second") + " order, checkpoint " + checkpoint;
        assertEquals(mean, batched.item(), 1e-12, what);
        assertEquals(mean, E2eLoop.lossRowByRow(m, ids, targets, b, t, o).item(), 1e-12, what);
        Tensor[] g = Autograd.grad(new Tensor[] {batched}, params, null, false);
        for (int i = 0; i < g.length; i++) {
            for (int e = 0; e < g[i].size(); e++) {
                double expected = 0;
                for (Tensor[] rg : rowGrads) expected += rg[i] == null ? 0 : rg[i].get(e) / b;
                assertEquals(expected, g[i].get(e), 1e-10, what + ", parameter " + i + " element " + e);
            }
        }
    }

    /**
     * The inner step against a hand computation: for the score sum(c * W^2) / 2 over two fast
     * tensors the gradient is c * W, and the step is W - lr * min(1, clip / ||g||) * g with ||g|| over
     * both tensors together; with a batch axis, each row's norm is its own. Clip below and above the
     * norm.
     */
    @Test
    void innerStepClipsByTheGlobalNormOfEachSequence() {
        var rng = new SplittableRandom(40);
        for (int rows : new int[] {0, 3}) { // 0: one sequence (no batch axis)
            for (double clip : new double[] {0.3, 1e3}) {
                int[][] shapes = rows == 0 ? new int[][] {{2, 3}, {4, 1}} : new int[][] {{rows, 2, 3}, {rows, 4, 1}};
                List<Tensor> fast = new ArrayList<>(), weights = new ArrayList<>();
                for (int[] shape : shapes) {
                    Tensor w = Tensor.zeros(DType.FP64, shape), c = Tensor.zeros(DType.FP64, shape);
                    for (int i = 0; i < w.size(); i++) {
                        w.set(i, rng.nextGaussian());
                        c.set(i, 0.5 + rng.nextDouble());
                    }
                    fast.add(w.requiresGrad(true));
                    weights.add(c);
                }
                Tensor score = null;
                for (int i = 0; i < fast.size(); i++) {
                    Tensor part = org.ttt4j.core.ops.Reduce.sum(org.ttt4j.core.ops.Arith.mul(weights.get(i),
                            org.ttt4j.core.ops.Arith.mul(fast.get(i), fast.get(i))));
                    score = score == null ? part : org.ttt4j.core.ops.Arith.add(score, part);
                }
                score = org.ttt4j.core.ops.Arith.mul(score, 0.5);
                double lr = 0.7;
                List<Tensor> next = E2eLoop.step(fast, score, lr, clip, false, false);
                int n = Math.max(1, rows);
                double[] sq = new double[n];
                for (int i = 0; i < fast.size(); i++) {
                    int per = fast.get(i).size() / n;
                    for (int e = 0; e < fast.get(i).size(); e++) {
                        double g = weights.get(i).get(e) * fast.get(i).get(e);
                        sq[e / per] += g * g;
                    }
                }
                for (int i = 0; i < fast.size(); i++) {
                    int per = fast.get(i).size() / n;
                    for (int e = 0; e < fast.get(i).size(); e++) {
                        double g = weights.get(i).get(e) * fast.get(i).get(e), scale = Math.min(1, clip / Math.sqrt(sq[e / per]));
                        assertEquals(fast.get(i).get(e) - lr * scale * g, next.get(i).get(e), 1e-12,
                                "rows " + rows + ", clip " + clip + ", tensor " + i + ", element " + e);
                    }
                }
            }
        }
    }

    /** Causality through the inner loop: changing token j moves no loss before position j - 1 (each predicts its next token). */
    @Test
    void noLossDependsOnLaterTokens() {
        ModelConfig c = tiny(1.0, false);
        Decoder m = new Decoder(c, 3);
        int[] tokens = tokens(22, 9);
        float[] base = E2eLoop.tokenLosses(m, tokens, E2eLoop.Options.of(c, 1));
        for (int j : new int[] {4, 7, 12, 21}) { // in a chunk, first of a chunk (chunk 3), later chunks
            int[] changed = tokens.clone();
            changed[j] = (changed[j] + 5) % 13;
            float[] got = E2eLoop.tokenLosses(m, changed, E2eLoop.Options.of(c, 1));
            for (int i = 0; i < j - 1; i++) assertEquals(base[i], got[i], 0.0, "loss " + i + " after changing token " + j);
            assertNotEquals(base[j - 1], got[j - 1], "the loss predicting token " + j + " sees it");
        }
    }

    /** First- and second-order meta-gradients differ with a non-zero inner lr and agree when it is 0. */
    @Test
    void firstOrderDiffersFromSecondOrderExceptAtInnerLrZero() {
        for (double lr : new double[] {0, 1}) {
            List<Tensor> grads = new ArrayList<>();
            for (boolean firstOrder : new boolean[] {false, true}) {
                ModelConfig c = tiny(lr, firstOrder);
                Decoder m = new Decoder(c, 5);
                Tensor w = m.params().get("model.layers.0.self_attn.q_proj.weight");
                Tensor loss = E2eLoop.loss(m, tokens(9, 1), tokens(9, 2), 1, 9, E2eLoop.Options.of(c, 1));
                grads.add(Autograd.grad(loss, w, false));
            }
            double diff = 0;
            for (int i = 0; i < grads.get(0).size(); i++) diff = Math.max(diff, Math.abs(grads.get(0).get(i) - grads.get(1).get(i)));
            if (lr == 0) assertEquals(0, diff, 1e-12, "identical at inner lr 0");
            else assertTrue(diff > 1e-6, "first order drops the second-order terms: " + diff);
        }
    }

    /** The shrunk MLP width keeps the parameter count within one MLP row of the baseline's. */
    @Test
    void matchedWidthKeepsTheBaselineParameterCount() {
        ModelConfig base = org.ttt4j.lm.model.Presets.byName("small").withMixers("swa", 64).withNorms(true, true);
        var e = new E2eSettings(null, null, null, null, null);
        int width = E2eSettings.matchedWidth(base, e.suffixBlocks(base), true);
        assertTrue(width < base.dFf(), "shrunk: " + width);
        long ours = new Decoder(base.withFeedForward(width).withSection("e2e", e), 0).params().count();
        long theirs = new Decoder(base, 0).params().count();
        assertTrue(ours <= theirs && theirs - ours <= 3L * base.dModel() * (base.layers() + 1), ours + " vs " + theirs);
    }

    @Test
    void e2eNeedsSlidingWindowBlocksAndASmallEnoughChunk() {
        ModelConfig c = tiny(1, false);
        var e = assertThrows(IllegalArgumentException.class, () -> c.withMixers("full", 4).validate());
        assertTrue(e.getMessage().contains("config field e2e.mixers"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.withSection("e2e", new E2eSettings(1, 9, null, null, null)).validate());
        assertTrue(e.getMessage().contains("e2e.chunk"), e.getMessage());
    }
}
