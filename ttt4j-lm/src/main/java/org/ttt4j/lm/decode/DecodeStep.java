package org.ttt4j.lm.decode;

import java.util.List;
import org.ttt4j.core.kernel.DecodeKernels;
import org.ttt4j.core.kernel.PackedMatrix;
import org.ttt4j.core.kernel.Team;
import org.ttt4j.core.tensor.Tensor;
import org.ttt4j.lm.layers.KvCache;
import org.ttt4j.lm.layers.MixerCache;
import org.ttt4j.lm.model.Pass;
import org.ttt4j.lm.model.SubLayer;

/**
 * One decoding step of a {@link DecodePlan} for up to {@code maxBatch} sequences at once: each
 * reads one token and appends its keys and values to its own KV caches; every weight matrix is
 * read once for all of them (one matrix product of B rows). Buffers are allocated once, so a step
 * allocates nothing (score buffers grow with the longest context read). The laid-out ops run as
 * one {@link Team} region (one per run of them between foreign ops, which run on the caller):
 * members split each product by output rows (attention by heads) and meet at a barrier between
 * dependent products.
 *
 * <p>Every output row is computed by one member, in an order that depends on neither the member
 * count nor the batch: a sequence's logits are the same bits alone or batched, with any number of
 * threads.
 */
public final class DecodeStep {
    /** Weights that stand in for a sequence's MLP sub-layers (TTT-E2E's fast weights); null: the plan's own. */
    @FunctionalInterface
    public interface Substitutes {
        DecodePlan.Mlp mlp(int block, String name);
    }

    /**
     * One sequence of a step: its per-block KV caches, the token it reads, optional substitutes and
     * an optional tap that receives the hidden state [D] entering block {@code tapBlock}.
     */
    public record Sequence(List<? extends MixerCache> caches, int token, Substitutes substitutes, float[] tap) {
        public Sequence(List<? extends MixerCache> caches, int token) {
            this(caches, token, null, null);
        }
    }

    /** An op of the plan with its block, in execution order. */
    private record Placed(int block, boolean first, DecodePlan.Op op) {}

    private final DecodePlan plan;
    private final int maxBatch, d, vocab, tapBlock;
    private final Team team;
    private final float[] h, upd, q, k, v, att, gate, up, act, logits;
    private final float[][] xn, post;
    private final float[][] scores;
    private final double[][][] cos, sin; // [b][rope][half]
    // Per-step inputs, set before the region.
    private Sequence[] seqs;
    private int n;
    private final long[] pos;
    private final int[][] slots;
    private final KvCache[][] caches;
    private final Placed[] ops;
    private final boolean[] attends; // blocks whose mixer the step runs (a KV cache each)
    private final Team.Body body = this::member;
    private int segFrom, segTo;      // the ops the running region covers
    private boolean segHead;         // and whether it ends with the head

    /**
     * A step for {@code plan} of up to {@code maxBatch} sequences, run by {@code team};
     * {@code tapBlock} is the block whose input a sequence's tap receives (-1: none).
     */
    public DecodeStep(DecodePlan plan, int maxBatch, Team team, int tapBlock) {
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        this.plan = plan;
        this.maxBatch = maxBatch;
        this.team = team;
        this.tapBlock = tapBlock;
        var c = plan.model().config();
        this.d = c.dModel();
        this.vocab = plan.head().rows();
        int qw = 0, kvw = 0, ff = 0, halfMax = 1;
        List<Placed> placed = new java.util.ArrayList<>();
        attends = new boolean[plan.blocks().size()];
        for (int i = 0; i < plan.blocks().size(); i++) {
            List<DecodePlan.Op> ops = plan.blocks().get(i);
            for (int j = 0; j < ops.size(); j++) {
                DecodePlan.Op op = ops.get(j);
                placed.add(new Placed(i, j == 0, op));
                switch (op) {
                    case DecodePlan.Attend a -> {
                        qw = Math.max(qw, a.heads() * a.headDim());
                        kvw = Math.max(kvw, a.kvHeads() * a.headDim());
                        attends[i] = true;
                    }
                    case DecodePlan.Mlp m -> ff = Math.max(ff, m.gate().rows());
                    case DecodePlan.Foreign f -> { }
                }
            }
        }
        this.ops = placed.toArray(Placed[]::new);
        for (double[] f : plan.frequencies()) halfMax = Math.max(halfMax, f.length);
        h = new float[maxBatch * d];
        upd = new float[maxBatch * d];
        q = new float[maxBatch * qw];
        att = new float[maxBatch * qw];
        k = new float[maxBatch * kvw];
        v = new float[maxBatch * kvw];
        gate = new float[maxBatch * ff];
        up = new float[maxBatch * ff];
        act = new float[maxBatch * ff];
        logits = new float[maxBatch * vocab];
        int members = team.size();
        xn = new float[members][maxBatch * d];
        post = new float[members][d];
        scores = new float[members][64];
        cos = new double[maxBatch][plan.frequencies().size()][halfMax];
        sin = new double[maxBatch][plan.frequencies().size()][halfMax];
        pos = new long[maxBatch];
        slots = new int[maxBatch][plan.blocks().size()];
        caches = new KvCache[maxBatch][plan.blocks().size()];
    }

    public DecodePlan plan() {
        return plan;
    }

    /**
     * Reads one token for each of the sequences and returns the logits [n, V] (row b for sequence b)
     * in a buffer this step reuses: valid until its next call.
     */
    public float[] run(Sequence... sequences) {
        int count = sequences.length;
        if (count < 1 || count > maxBatch) throw new IllegalArgumentException("a step reads 1.." + maxBatch + " sequences, got " + count);
        int layers = plan.blocks().size();
        float[] emb = plan.model().embedding().f32();
        int embOff = plan.model().embedding().offset();
        int longest = 0;
        for (int b = 0; b < count; b++) {
            Sequence s = sequences[b];
            if (s.caches().size() != layers) throw new IllegalArgumentException("sequence " + b + " has " + s.caches().size() + " caches for " + layers + " blocks");
            if (s.token() < 0 || s.token() >= vocab) throw new IllegalArgumentException("token id " + s.token() + " outside the vocabulary of " + vocab);
            long p = s.caches().getFirst().position();
            for (int i = 0; i < layers; i++) {
                MixerCache c = s.caches().get(i);
                if (c.position() != p) throw new IllegalStateException("sequence " + b + ": block " + i + "'s cache is at position " + c.position() + ", block 0's at " + p);
                if (!attends[i]) continue;
                if (!(c instanceof KvCache kv)) throw new IllegalArgumentException("sequence " + b + ": block " + i + " attends but its cache is a " + c.getClass().getSimpleName());
                caches[b][i] = kv;
            }
            for (int i = 0; i < layers; i++) if (attends[i]) slots[b][i] = caches[b][i].reserve();
            pos[b] = p;
            longest = (int) Math.max(longest, p + 1);
            System.arraycopy(emb, embOff + s.token() * d, h, b * d, d);
            for (int r = 0; r < plan.frequencies().size(); r++) {
                double[] f = plan.frequencies().get(r);
                for (int j = 0; j < f.length; j++) {
                    double angle = p * f[j];
                    cos[b][r][j] = Math.cos(angle);
                    sin[b][r][j] = Math.sin(angle);
                }
            }
        }
        // a score for every visible key
        for (int m = 0; m < scores.length; m++) if (scores[m].length < longest) scores[m] = new float[Math.max(longest, 2 * scores[m].length)];
        this.seqs = sequences;
        this.n = count;
        try {
            // Regions over runs of laid-out ops; a foreign op runs on this thread between them.
            int from = 0;
            while (true) {
                int to = from;
                while (to < ops.length && !(ops[to].op() instanceof DecodePlan.Foreign)) to++;
                if (to > from || to == ops.length) {
                    segFrom = from;
                    segTo = to;
                    segHead = to == ops.length;
                    team.run(body);
                }
                if (to == ops.length) break;
                foreign(ops[to]);
                from = to + 1;
            }
        } finally {
            this.seqs = null;
        }
        return logits;
    }

    /**
     * A sub-layer the step does not lay out, through its own code on each sequence's cache: its
     * one-token path on arrays when it has one ({@code SequenceMixer.decodeOne} for a mixer,
     * {@code SubLayer.decodeOne} otherwise), else its tensor path.
     */
    private void foreign(Placed p) {
        if (p.first() && p.block() == tapBlock) tap();
        var foreign = (DecodePlan.Foreign) p.op();
        var layer = foreign.layer();
        for (int b = 0; b < n; b++) {
            MixerCache cache = seqs[b].caches().get(p.block());
            if (layer instanceof SubLayer.Mixing mix ? decodeOne(foreign, mix, b, cache) : layer.decodeOne(h, b * d, cache)) continue;
            Tensor x = Tensor.of(java.util.Arrays.copyOfRange(h, b * d, (b + 1) * d), 1, 1, d);
            Tensor y = layer.apply(x, new Pass.Decode(cache), java.util.Map.of());
            System.arraycopy(y.toFloatArray(), 0, h, b * d, d);
        }
    }

    /** A mixer's own one-token path on arrays ({@code SequenceMixer.decodeOne}), with the sub-layer's norms and residual. */
    private boolean decodeOne(DecodePlan.Foreign f, SubLayer.Mixing mix, int b, MixerCache cache) {
        float[] x = xn[0], y = post[0];
        DecodeKernels.rmsNorm(h, b * d, f.norm().weight(), x, 0, d, f.norm().eps());
        if (!mix.mixer().decodeOne(x, y, cache)) return false;
        if (f.postNorm() != null) DecodeKernels.rmsNorm(y, 0, f.postNorm().weight(), y, 0, d, f.postNorm().eps());
        DecodeKernels.add(y, 0, h, b * d, d);
        return true;
    }

    private void tap() {
        for (int b = 0; b < n; b++) if (seqs[b].tap() != null) System.arraycopy(h, b * d, seqs[b].tap(), 0, d);
    }

    private void member(int m, int members, Team t) {
        float[] x = xn[m];
        for (int o = segFrom; o < segTo; o++) {
            int i = ops[o].block();
            if (ops[o].first() && i == tapBlock && m == 0) tap();
            switch (ops[o].op()) {
                case DecodePlan.Attend a -> {
                    normRows(a.norm(), x);
                    attend(i, a, x, m, members, t);
                    rows(a.o().w(), a.o().bias(), att, a.heads() * a.headDim(), m, members);
                    residual(a.postNorm(), m, members, t);
                }
                case DecodePlan.Mlp mlp -> {
                    normRows(mlp.norm(), x);
                    mlp(i, mlp, x, m, members, t);
                    residual(mlp.postNorm(), m, members, t);
                }
                case DecodePlan.Foreign f -> throw new IllegalStateException("a foreign op inside a region");
            }
        }
        if (!segHead) return;
        normRows(plan.finalNorm(), x);
        int r0 = Team.from(vocab, m, members), r1 = Team.from(vocab, m + 1, members);
        product(plan.head(), x, d, logits, vocab, r0, r1);
    }

    /** x[b] = norm(h[b]) for every sequence (each member its own copy: no barrier needed). */
    private void normRows(DecodePlan.Norm norm, float[] x) {
        for (int b = 0; b < n; b++) DecodeKernels.rmsNorm(h, b * d, norm.weight(), x, b * d, d, norm.eps());
    }

    /** Q, K, V by heads (with qk-norm, RoPE and the cache writes), then each (sequence, head) attends. */
    private void attend(int block, DecodePlan.Attend a, float[] x, int m, int members, Team t) {
        int hd = a.headDim(), heads = a.heads(), kvh = a.kvHeads(), units = heads + 2 * kvh;
        int qw = heads * hd, kvw = kvh * hd;
        for (int u = Team.from(units, m, members), end = Team.from(units, m + 1, members); u < end; u++) {
            DecodePlan.Proj p;
            float[] out;
            int width, head;
            if (u < heads) {
                p = a.q(); out = q; width = qw; head = u;
            } else if (u < heads + kvh) {
                p = a.k(); out = k; width = kvw; head = u - heads;
            } else {
                p = a.v(); out = v; width = kvw; head = u - heads - kvh;
            }
            int r0 = head * hd;
            product(p.w(), x, d, out, width, r0, r0 + hd);
            for (int b = 0; b < n; b++) {
                int o = b * width + r0;
                if (p.bias() != null) DecodeKernels.add(p.bias(), r0, out, o, hd);
                if (out != v) {
                    DecodePlan.Norm qk = out == q ? a.qNorm() : a.kNorm();
                    if (qk != null) DecodeKernels.rmsNorm(out, o, qk.weight(), out, o, hd, qk.eps());
                    DecodeKernels.rope(out, o, hd, cos[b][a.rope()], sin[b][a.rope()]);
                }
                if (out != q) caches[b][block].write(out, o, out == k, head, slots[b][block]);
            }
        }
        t.barrier();
        float scale = (float) (1 / Math.sqrt(hd));
        int group = heads / kvh, pairs = n * heads;
        for (int pr = Team.from(pairs, m, members), end = Team.from(pairs, m + 1, members); pr < end; pr++) {
            int b = pr / heads, head = pr % heads, g = head / group;
            KvCache c = caches[b][block];
            long p = pos[b], from = Math.max(p + 1 - c.length(), a.window() > 0 ? Math.max(0, p - a.window() + 1) : 0);
            int ring = c.window() > 0 ? c.capacity() : 0; // a full-history cache (qTTT) keeps every position in order
            if (c.format() == KvCache.Format.F32) {
                DecodeKernels.attend(q, b * qw + head * hd, c.keyBuffer(), c.valueBuffer(), g * c.capacity() * hd, hd, from, p, ring,
                        scale, scores[m], att, b * qw + head * hd);
            } else {
                DecodeKernels.attend(q, b * qw + head * hd, c.keyBits(), c.valueBits(), g * c.capacity() * hd, hd, from, p, ring,
                        scale, scores[m], att, b * qw + head * hd);
            }
        }
        t.barrier();
    }

    /** Gate and up by rows with the activation fused, then down. */
    private void mlp(int block, DecodePlan.Mlp own, float[] x, int m, int members, Team t) {
        int ff = own.gate().rows();
        boolean mixed = false;
        for (int b = 0; b < n && !mixed; b++) mixed = substitute(b, block, own) != own;
        int r0 = Team.from(ff, m, members), r1 = Team.from(ff, m + 1, members);
        if (!mixed) {
            product(own.gate(), x, d, gate, ff, r0, r1);
            product(own.up(), x, d, up, ff, r0, r1);
        } else {
            for (int b = 0; b < n; b++) {
                DecodePlan.Mlp w = substitute(b, block, own);
                w.gate().matvec(x, b * d, gate, b * ff, r0, r1);
                w.up().matvec(x, b * d, up, b * ff, r0, r1);
            }
        }
        for (int b = 0; b < n; b++) DecodeKernels.siluMul(gate, up, act, b * ff + r0, b * ff + r1);
        t.barrier();
        if (!mixed) {
            rows(own.down(), null, act, ff, m, members);
        } else {
            int d0 = Team.from(d, m, members), d1 = Team.from(d, m + 1, members);
            for (int b = 0; b < n; b++) substitute(b, block, own).down().matvec(act, b * ff, upd, b * d, d0, d1);
        }
    }

    /** y[b * ldy + r] = W[r] . in[b * ldx ..] for the step's sequences and rows [r0, r1): one pass over W (matvec bits either way). */
    private void product(PackedMatrix w, float[] in, int ldx, float[] y, int ldy, int r0, int r1) {
        if (n == 1) w.matvec(in, 0, y, 0, r0, r1);
        else w.matmul(in, 0, ldx, n, y, 0, ldy, r0, r1);
    }

    private DecodePlan.Mlp substitute(int b, int block, DecodePlan.Mlp own) {
        Substitutes s = seqs[b].substitutes();
        if (s == null) return own;
        DecodePlan.Mlp w = s.mlp(block, own.name());
        return w == null ? own : w;
    }

    /** upd[b] rows [from, to) of this member = W in[b] (+ bias). */
    private void rows(PackedMatrix w, float[] bias, float[] in, int width, int m, int members) {
        int r0 = Team.from(d, m, members), r1 = Team.from(d, m + 1, members);
        product(w, in, width, upd, d, r0, r1);
        if (bias != null) for (int b = 0; b < n; b++) DecodeKernels.add(bias, r0, upd, b * d + r0, r1 - r0);
    }

    /** h += upd (through the post norm if any) on this member's rows; a barrier before the next sub-layer reads h. */
    private void residual(DecodePlan.Norm postNorm, int m, int members, Team t) {
        int r0 = Team.from(d, m, members), r1 = Team.from(d, m + 1, members);
        if (postNorm == null) {
            for (int b = 0; b < n; b++) DecodeKernels.add(upd, b * d + r0, h, b * d + r0, r1 - r0);
        } else {
            t.barrier(); // the post norm needs whole rows of upd
            float[] y = post[m];
            for (int b = 0; b < n; b++) {
                DecodeKernels.rmsNorm(upd, b * d, postNorm.weight(), y, 0, d, postNorm.eps());
                DecodeKernels.add(y, r0, h, b * d + r0, r1 - r0);
            }
        }
        t.barrier();
    }
}
