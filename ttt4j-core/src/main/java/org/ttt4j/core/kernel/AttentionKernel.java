package org.ttt4j.core.kernel;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ttt4j.core.tensor.Storage;

/**
 * Fused fp32 scaled-dot-product attention (flash-attention style), forward and backward. Same
 * semantics, layout and validation as {@link AttentionReference} (read its javadoc); falls back
 * to it when {@link Simd#enabled()} is false.
 *
 * <h2>How it works</h2>
 * <ul>
 *   <li>Work is cut into (head, block) tasks run by {@link Parallel#forRange}. Every output
 *       element is written by exactly one task, in an order that depends only on the shapes, so
 *       results are bit-identical whatever the thread count or scheduling. Nothing of size
 *       t x s is ever allocated: scratch per task is O(block x (block + d + dv)).</li>
 *   <li>Forward: per (head, block of {@value #BQ} queries), loop over the key blocks of
 *       {@value #BK_MAX} keys that intersect the visible band of the block only (a sliding window
 *       touches O(window) keys per query), compute the score tile, keep a running row max and a
 *       running row sum (online softmax) and accumulate out; write out and lse at the end.</li>
 *   <li>Backward (FlashAttention-2 style, recomputing probabilities from lse, two passes):
 *       D_i = dO_i . out_i first; pass 1 per (head, key block) walks the query blocks that can see
 *       it and accumulates dK and dV; pass 2 per (head, query block) walks the visible key blocks
 *       and accumulates dQ.</li>
 *   <li>Every product is a small GEMM {@code C += A B} done by one register-blocked micro-kernel
 *       (4 rows x 4 vectors) that vectorises over C's columns: the head dimension d/dv for out,
 *       dq, dk, dv, and the key index for score tiles (the key block is transposed once into a
 *       d x BK scratch). Head dimensions that are not a multiple of the lane count are padded in
 *       scratch copies; d = 1 works. Blocks of fewer than 4 queries (decoding) skip the
 *       transpose and compute scores as vectorised dot products over d instead.</li>
 *   <li>exp is a polynomial built only from add/mul/fma and bit operations (Cephes expf, ~1 ulp),
 *       never {@code VectorOperators.EXP} or {@code reduceLanes(ADD)}, whose results may differ
 *       between the interpreter's fallback and the C2 intrinsic: that would break run-to-run
 *       bit identity while the JIT warms up.</li>
 * </ul>
 */
public final class AttentionKernel {
    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();
    /** Queries per block. */
    static final int BQ = 64;
    /** Keys per block (the block is max(BK_MAX, lanes), a multiple of the lane count). */
    static final int BK_MAX = 64;
    private static final int BK = Math.max(BK_MAX, L);
    /** Query blocks smaller than this compute scores by dot products instead of transposed tiles. */
    private static final int DOT_BELOW = 4;

    private AttentionKernel() {}

    // ------------------------------------------------------------------------------------------
    // Forward
    // ------------------------------------------------------------------------------------------

    public static void forward(int bh, int t, int s, int d, int dv, boolean causal, int window,
                               double scale, float[] q, int qOff, float[] k, int kOff,
                               float[] v, int vOff, float[] out, int outOff,
                               float[] lse, int lseOff) {
        if (!Simd.enabled()) {
            AttentionReference.forward(bh, t, s, d, dv, causal, window, scale,
                    wrap(q), qOff, wrap(k), kOff, wrap(v), vOff, wrap(out), outOff, wrap(lse), lseOff);
            return;
        }
        AttentionReference.checkShape(bh, t, s, d, dv, scale);
        AttentionReference.checkRange("q", len(q), qOff, (long) bh * t * d);
        AttentionReference.checkRange("k", len(k), kOff, (long) bh * s * d);
        AttentionReference.checkRange("v", len(v), vOff, (long) bh * s * dv);
        AttentionReference.checkRange("out", len(out), outOff, (long) bh * t * dv);
        AttentionReference.checkRange("lse", len(lse), lseOff, (long) bh * t);
        if (bh == 0 || t == 0) return;

        final Shape sh = new Shape(t, s, d, dv, causal, window, (float) scale);
        final int nqb = (t + BQ - 1) / BQ;
        Parallel.forRange(bh * nqb, 1, (from, to) -> {
            Scratch w = Scratch.of(sh, false);
            for (int task = from; task < to; task++) {
                forwardBlock(sh, task / nqb, (task % nqb) * BQ, q, qOff, k, kOff, v, vOff,
                        out, outOff, lse, lseOff, w);
            }
        });
    }

    private static void forwardBlock(Shape sh, int h, int i0, float[] q, int qOff, float[] k, int kOff,
                                     float[] v, int vOff, float[] out, int outOff, float[] lse, int lseOff,
                                     Scratch w) {
        final int t = sh.t, s = sh.s, d = sh.d, dv = sh.dv, dvp = sh.dvp;
        final int bq = Math.min(BQ, t - i0);
        final float[] acc = w.accA, st = w.st, m = w.m, lvec = w.lvec;
        Arrays.fill(acc, 0, bq * dvp, 0f);
        Arrays.fill(m, 0, bq, Float.NEGATIVE_INFINITY);
        Arrays.fill(lvec, 0, bq * L, 0f);
        final int qBlk = qOff + (h * t + i0) * d;
        final int lo = sh.lo(i0), hi = sh.hi(i0 + bq - 1);

        for (int j0 = lo / BK * BK; lo <= hi && j0 <= hi; j0 += BK) {
            int bk = Math.min(BK, s - j0);
            boolean tiles = bq >= DOT_BELOW;
            if (tiles) transposePad(k, kOff + (h * s + j0) * d, bk, d, w.kT);
            scores(bq, bk, d, q, qBlk, k, kOff + (h * s + j0) * d, w.kT, tiles, st, w.tmp);
            scaleAndMask(sh, st, bq, i0, j0);

            // online softmax: running max m, running (lane-wise) sum lvec, rescaled accumulator
            for (int r = 0; r < bq; r++) {
                int row = r * BK;
                FloatVector mx = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
                for (int c = 0; c < BK; c += L) mx = mx.max(FloatVector.fromArray(F, st, row + c));
                float rowMax = mx.reduceLanes(VectorOperators.MAX) + 0f; // + 0f: -0 -> +0, whatever the lane order
                if (rowMax == Float.NEGATIVE_INFINITY) { // nothing visible in this block
                    Arrays.fill(st, row, row + BK, 0f);
                    continue;
                }
                float mOld = m[r];
                float mNew = Math.max(mOld, rowMax);
                FloatVector sum = FloatVector.zero(F);
                for (int c = 0; c < BK; c += L) {
                    FloatVector p = VectorMath.exp(FloatVector.fromArray(F, st, row + c).sub(mNew));
                    p.intoArray(st, row + c);
                    sum = sum.add(p);
                }
                FloatVector lv = FloatVector.fromArray(F, lvec, r * L);
                if (mOld != mNew && mOld != Float.NEGATIVE_INFINITY) {
                    float alpha = (float) Math.exp((double) mOld - mNew);
                    lv = lv.mul(alpha);
                    int ar = r * dvp;
                    for (int c = 0; c < dvp; c += L) {
                        FloatVector.fromArray(F, acc, ar + c).mul(alpha).intoArray(acc, ar + c);
                    }
                }
                lv.add(sum).intoArray(lvec, r * L);
                m[r] = mNew;
            }

            // acc += P V
            float[] vb;
            int vbOff, ldv;
            if (dv == dvp) {
                vb = v; vbOff = vOff + (h * s + j0) * dv; ldv = dv;
            } else {
                copyPad(v, vOff + (h * s + j0) * dv, bk, dv, w.bufA, dvp);
                vb = w.bufA; vbOff = 0; ldv = dvp;
            }
            gemm(bq, dvp, bk, st, 0, BK, 1, vb, vbOff, ldv, acc, 0, dvp, true);
        }

        for (int r = 0; r < bq; r++) {
            double l = 0;
            for (int x = 0; x < L; x++) l += lvec[r * L + x];
            int o = outOff + (h * t + i0 + r) * dv;
            int li = lseOff + h * t + i0 + r;
            if (l == 0 || m[r] == Float.NEGATIVE_INFINITY) {
                Arrays.fill(out, o, o + dv, 0f);
                lse[li] = Float.NEGATIVE_INFINITY;
                continue;
            }
            float inv = (float) (1.0 / l);
            for (int c = 0; c < dv; c++) out[o + c] = acc[r * dvp + c] * inv;
            lse[li] = (float) (m[r] + Math.log(l));
        }
    }

    // ------------------------------------------------------------------------------------------
    // Backward
    // ------------------------------------------------------------------------------------------

    public static void backward(int bh, int t, int s, int d, int dv, boolean causal, int window,
                                double scale, float[] q, int qOff, float[] k, int kOff,
                                float[] v, int vOff, float[] out, int outOff,
                                float[] lse, int lseOff, float[] dOut, int dOutOff,
                                float[] dq, int dqOff, float[] dk, int dkOff,
                                float[] dvGrad, int dvOff) {
        if (!Simd.enabled()) {
            AttentionReference.backward(bh, t, s, d, dv, causal, window, scale,
                    wrap(q), qOff, wrap(k), kOff, wrap(v), vOff, wrap(out), outOff, wrap(lse), lseOff,
                    wrap(dOut), dOutOff, wrap(dq), dqOff, wrap(dk), dkOff, wrap(dvGrad), dvOff);
            return;
        }
        AttentionReference.checkShape(bh, t, s, d, dv, scale);
        AttentionReference.checkRange("q", len(q), qOff, (long) bh * t * d);
        AttentionReference.checkRange("k", len(k), kOff, (long) bh * s * d);
        AttentionReference.checkRange("v", len(v), vOff, (long) bh * s * dv);
        AttentionReference.checkRange("out", len(out), outOff, (long) bh * t * dv);
        AttentionReference.checkRange("lse", len(lse), lseOff, (long) bh * t);
        AttentionReference.checkRange("dOut", len(dOut), dOutOff, (long) bh * t * dv);
        AttentionReference.checkRange("dq", len(dq), dqOff, (long) bh * t * d);
        AttentionReference.checkRange("dk", len(dk), dkOff, (long) bh * s * d);
        AttentionReference.checkRange("dv", len(dvGrad), dvOff, (long) bh * s * dv);
        if (bh == 0) return;
        if (t == 0) { // no query: every key gets zero gradient
            Arrays.fill(dk, dkOff, dkOff + bh * s * d, 0f);
            Arrays.fill(dvGrad, dvOff, dvOff + bh * s * dv, 0f);
            return;
        }

        final Shape sh = new Shape(t, s, d, dv, causal, window, (float) scale);
        // D_i = dO_i . out_i (each element by one task, fixed order)
        final float[] dd = new float[bh * t];
        Parallel.forRange(bh * t, 256, (from, to) -> {
            for (int row = from; row < to; row++) {
                double acc = 0;
                int o = outOff + row * dv, g = dOutOff + row * dv;
                for (int c = 0; c < dv; c++) acc += (double) dOut[g + c] * out[o + c];
                dd[row] = (float) acc;
            }
        });

        // pass 1: dK, dV per (head, key block)
        final int nkb = (s + BK - 1) / BK;
        Parallel.forRange(bh * nkb, 1, (from, to) -> {
            Scratch w = Scratch.of(sh, true);
            for (int task = from; task < to; task++) {
                backwardKeyBlock(sh, task / nkb, (task % nkb) * BK, q, qOff, k, kOff, v, vOff,
                        lse, lseOff, dd, dOut, dOutOff, dk, dkOff, dvGrad, dvOff, w);
            }
        });

        // pass 2: dQ per (head, query block)
        final int nqb = (t + BQ - 1) / BQ;
        Parallel.forRange(bh * nqb, 1, (from, to) -> {
            Scratch w = Scratch.of(sh, true);
            for (int task = from; task < to; task++) {
                backwardQueryBlock(sh, task / nqb, (task % nqb) * BQ, q, qOff, k, kOff, v, vOff,
                        lse, lseOff, dd, dOut, dOutOff, dq, dqOff, w);
            }
        });
    }

    private static void backwardKeyBlock(Shape sh, int h, int j0, float[] q, int qOff, float[] k, int kOff,
                                         float[] v, int vOff, float[] lse, int lseOff, float[] dd,
                                         float[] dOut, int dOutOff, float[] dk, int dkOff,
                                         float[] dvGrad, int dvOff, Scratch w) {
        final int t = sh.t, s = sh.s, d = sh.d, dv = sh.dv, dp = sh.dp, dvp = sh.dvp;
        final int bk = Math.min(BK, s - j0);
        final int jLast = j0 + bk - 1;
        final int off = s - t;
        // queries that can see some key of [j0, jLast]: hi_i >= j0 and lo_i <= jLast
        int iq0 = sh.causal ? Math.max(0, j0 - off) : 0;
        int iq1 = sh.window > 0 ? (int) Math.min(t, (long) jLast + sh.window - off) : t;
        final float[] gK = w.accA, gV = w.accB;
        Arrays.fill(gK, 0, bk * dp, 0f);
        Arrays.fill(gV, 0, bk * dvp, 0f);
        if (iq0 < iq1) {
            boolean tiles = iq1 - iq0 >= DOT_BELOW; // transpose once, reuse for every query block
            if (tiles) {
                transposePad(k, kOff + (h * s + j0) * d, bk, d, w.kT);
                transposePad(v, vOff + (h * s + j0) * dv, bk, dv, w.vT);
            }
            for (int i0 = iq0; i0 < iq1; i0 += BQ) {
                int bq = Math.min(BQ, iq1 - i0);
                probsAndDs(sh, h, i0, bq, j0, bk, tiles, q, qOff, k, kOff, v, vOff, lse, lseOff, dd, dOut, dOutOff, w);
                // dV += P^T dO
                float[] gb;
                int gbOff, ldg;
                if (dv == dvp) {
                    gb = dOut; gbOff = dOutOff + (h * t + i0) * dv; ldg = dv;
                } else {
                    copyPad(dOut, dOutOff + (h * t + i0) * dv, bq, dv, w.bufA, dvp);
                    gb = w.bufA; gbOff = 0; ldg = dvp;
                }
                gemm(bk, dvp, bq, w.st, 0, 1, BK, gb, gbOff, ldg, gV, 0, dvp, true);
                // dK += dS^T Q   (dS already carries the scale)
                float[] qb;
                int qbOff, ldq;
                if (d == dp) {
                    qb = q; qbOff = qOff + (h * t + i0) * d; ldq = d;
                } else {
                    copyPad(q, qOff + (h * t + i0) * d, bq, d, w.bufB, dp);
                    qb = w.bufB; qbOff = 0; ldq = dp;
                }
                gemm(bk, dp, bq, w.ds, 0, 1, BK, qb, qbOff, ldq, gK, 0, dp, true);
            }
        }
        for (int r = 0; r < bk; r++) {
            System.arraycopy(gK, r * dp, dk, dkOff + (h * s + j0 + r) * d, d);
            System.arraycopy(gV, r * dvp, dvGrad, dvOff + (h * s + j0 + r) * dv, dv);
        }
    }

    private static void backwardQueryBlock(Shape sh, int h, int i0, float[] q, int qOff, float[] k, int kOff,
                                           float[] v, int vOff, float[] lse, int lseOff, float[] dd,
                                           float[] dOut, int dOutOff, float[] dq, int dqOff, Scratch w) {
        final int t = sh.t, s = sh.s, d = sh.d, dv = sh.dv, dp = sh.dp;
        final int bq = Math.min(BQ, t - i0);
        final float[] gQ = w.accA;
        Arrays.fill(gQ, 0, bq * dp, 0f);
        final int lo = sh.lo(i0), hi = sh.hi(i0 + bq - 1);
        for (int j0 = lo / BK * BK; lo <= hi && j0 <= hi; j0 += BK) {
            int bk = Math.min(BK, s - j0);
            boolean tiles = bq >= DOT_BELOW;
            if (tiles) {
                transposePad(k, kOff + (h * s + j0) * d, bk, d, w.kT);
                transposePad(v, vOff + (h * s + j0) * dv, bk, dv, w.vT);
            }
            probsAndDs(sh, h, i0, bq, j0, bk, tiles, q, qOff, k, kOff, v, vOff, lse, lseOff, dd, dOut, dOutOff, w);
            // dQ += dS K
            float[] kb;
            int kbOff, ldk;
            if (d == dp) {
                kb = k; kbOff = kOff + (h * s + j0) * d; ldk = d;
            } else {
                copyPad(k, kOff + (h * s + j0) * d, bk, d, w.bufB, dp);
                kb = w.bufB; kbOff = 0; ldk = dp;
            }
            gemm(bq, dp, bk, w.ds, 0, BK, 1, kb, kbOff, ldk, gQ, 0, dp, true);
        }
        for (int r = 0; r < bq; r++) {
            System.arraycopy(gQ, r * dp, dq, dqOff + (h * t + i0 + r) * d, d);
        }
    }

    /**
     * For queries [i0, i0+bq) and keys [j0, j0+bk): P into w.st and scale * P (dP - D) into
     * w.ds; invisible entries and padding are 0. With {@code tiles}, w.kT and w.vT hold the
     * transposed key/value block.
     */
    private static void probsAndDs(Shape sh, int h, int i0, int bq, int j0, int bk, boolean tiles,
                                   float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                                   float[] lse, int lseOff, float[] dd, float[] dOut, int dOutOff, Scratch w) {
        final int t = sh.t, s = sh.s, d = sh.d, dv = sh.dv;
        final float[] st = w.st, ds = w.ds;
        scores(bq, bk, d, q, qOff + (h * t + i0) * d, k, kOff + (h * s + j0) * d, w.kT, tiles, st, w.tmp);
        scaleAndMask(sh, st, bq, i0, j0);
        scores(bq, bk, dv, dOut, dOutOff + (h * t + i0) * dv, v, vOff + (h * s + j0) * dv, w.vT, tiles, ds, w.tmp);
        final float scale = sh.scale;
        for (int r = 0; r < bq; r++) {
            int row = r * BK;
            float l = lse[lseOff + h * t + i0 + r];
            if (l == Float.NEGATIVE_INFINITY) { // no visible key: no gradient
                Arrays.fill(st, row, row + BK, 0f);
                Arrays.fill(ds, row, row + BK, 0f);
                continue;
            }
            float di = dd[h * t + i0 + r];
            for (int c = 0; c < BK; c += L) {
                FloatVector p = VectorMath.exp(FloatVector.fromArray(F, st, row + c).sub(l));
                p.intoArray(st, row + c);
                FloatVector g = FloatVector.fromArray(F, ds, row + c).sub(di).mul(p).mul(scale);
                g.intoArray(ds, row + c);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Tiles
    // ------------------------------------------------------------------------------------------

    /**
     * dst[r][c] = a_r . b_c for r < bq, c < bk (rows of length n, contiguous); columns bk..BK are
     * 0. With {@code tiles} bT must already hold b transposed (n x BK, zero padded) and a GEMM
     * does the work; otherwise (a few queries: decoding) one vectorised dot product per entry,
     * which avoids transposing a key block for a single query. The lanes of a dot product are
     * summed in a fixed scalar order (not reduceLanes) so that every JIT tier gives the same bits.
     */
    private static void scores(int bq, int bk, int n, float[] a, int aOff, float[] b, int bOff,
                               float[] bT, boolean tiles, float[] dst, float[] tmp) {
        if (tiles) {
            gemm(bq, BK, n, a, aOff, n, 1, bT, 0, BK, dst, 0, BK, false);
            return;
        }
        final int nv = n - n % L;
        final VectorMask<Float> tail = F.indexInRange(nv, n);
        for (int r = 0; r < bq; r++) {
            int ar = aOff + r * n, row = r * BK;
            for (int c = 0; c < bk; c++) {
                int bc = bOff + c * n;
                FloatVector acc = FloatVector.zero(F);
                int p = 0;
                for (; p < nv; p += L) {
                    acc = FloatVector.fromArray(F, a, ar + p).fma(FloatVector.fromArray(F, b, bc + p), acc);
                }
                if (p < n) {
                    acc = FloatVector.fromArray(F, a, ar + p, tail).fma(FloatVector.fromArray(F, b, bc + p, tail), acc);
                }
                acc.intoArray(tmp, 0);
                float sum = 0;
                for (int x = 0; x < L; x++) sum += tmp[x];
                dst[row + c] = sum;
            }
            Arrays.fill(dst, row + bk, row + BK, 0f);
        }
    }

    /** st[r][c] *= scale, then -inf where key j0+c is not visible to query i0+r (or is padding). */
    private static void scaleAndMask(Shape sh, float[] st, int bq, int i0, int j0) {
        final float scale = sh.scale;
        for (int x = 0, n = bq * BK; x < n; x += L) {
            FloatVector.fromArray(F, st, x).mul(scale).intoArray(st, x);
        }
        // fully visible tile? (lo and hi are nondecreasing in i; padding columns count as invisible)
        if (sh.lo(i0 + bq - 1) <= j0 && sh.hi(i0) >= j0 + BK - 1) return;
        for (int r = 0; r < bq; r++) {
            int i = i0 + r, row = r * BK;
            int cLo = Math.max(0, sh.lo(i) - j0);
            int cHi = Math.min(BK - 1, sh.hi(i) - j0); // hi < s, so padding is always cut
            if (cLo > cHi) {
                Arrays.fill(st, row, row + BK, Float.NEGATIVE_INFINITY);
            } else {
                Arrays.fill(st, row, row + cLo, Float.NEGATIVE_INFINITY);
                Arrays.fill(st, row + cHi + 1, row + BK, Float.NEGATIVE_INFINITY);
            }
        }
    }

    /** dst[p][c] = src[c][p] for c < rows, p < cols; zero for rows <= c < BK. dst is cols x BK. */
    private static void transposePad(float[] src, int off, int rows, int cols, float[] dst) {
        for (int c = 0; c < rows; c++) {
            int sr = off + c * cols;
            for (int p = 0; p < cols; p++) dst[p * BK + c] = src[sr + p];
        }
        if (rows < BK) {
            for (int p = 0; p < cols; p++) Arrays.fill(dst, p * BK + rows, p * BK + BK, 0f);
        }
    }

    /** Copies rows x cols (row stride cols) into dst with row stride ld; the pad columns stay 0. */
    private static void copyPad(float[] src, int off, int rows, int cols, float[] dst, int ld) {
        for (int r = 0; r < rows; r++) System.arraycopy(src, off + r * cols, dst, r * ld, cols);
    }

    // ------------------------------------------------------------------------------------------
    // Micro-kernel: C[m x n] (+)= A[m x kk] B[kk x n], n a multiple of L.
    // A is read as scalars a[aOff + r*aRs + p*aCs] (any strides, so A^T is free); B rows and
    // C rows are contiguous vectors.
    // ------------------------------------------------------------------------------------------

    static void gemm(int m, int n, int kk, float[] a, int aOff, int aRs, int aCs,
                     float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean acc) {
        int c0 = 0;
        for (; c0 + 4 * L <= n; c0 += 4 * L) {
            int r = 0;
            for (; r + 4 <= m; r += 4) kernel4x4(kk, a, aOff + r * aRs, aRs, aCs, b, bOff + c0, ldb, c, cOff + r * ldc + c0, ldc, acc);
            for (; r < m; r++) kernel1x4(kk, a, aOff + r * aRs, aCs, b, bOff + c0, ldb, c, cOff + r * ldc + c0, acc);
        }
        for (; c0 < n; c0 += L) {
            int r = 0;
            for (; r + 4 <= m; r += 4) kernel4x1(kk, a, aOff + r * aRs, aRs, aCs, b, bOff + c0, ldb, c, cOff + r * ldc + c0, ldc, acc);
            for (; r < m; r++) kernel1x1(kk, a, aOff + r * aRs, aCs, b, bOff + c0, ldb, c, cOff + r * ldc + c0, acc);
        }
    }

    private static FloatVector ld(boolean acc, float[] c, int i) {
        return acc ? FloatVector.fromArray(F, c, i) : FloatVector.zero(F);
    }

    private static void kernel4x4(int kk, float[] a, int a0, int aRs, int aCs, float[] b, int b0, int ldb,
                                  float[] c, int c0, int ldc, boolean acc) {
        int c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector x00 = ld(acc, c, c0), x01 = ld(acc, c, c0 + L), x02 = ld(acc, c, c0 + 2 * L), x03 = ld(acc, c, c0 + 3 * L);
        FloatVector x10 = ld(acc, c, c1), x11 = ld(acc, c, c1 + L), x12 = ld(acc, c, c1 + 2 * L), x13 = ld(acc, c, c1 + 3 * L);
        FloatVector x20 = ld(acc, c, c2), x21 = ld(acc, c, c2 + L), x22 = ld(acc, c, c2 + 2 * L), x23 = ld(acc, c, c2 + 3 * L);
        FloatVector x30 = ld(acc, c, c3), x31 = ld(acc, c, c3 + L), x32 = ld(acc, c, c3 + 2 * L), x33 = ld(acc, c, c3 + 3 * L);
        int a1 = a0 + aRs, a2 = a1 + aRs, a3 = a2 + aRs;
        for (int p = 0; p < kk; p++) {
            int bp = b0 + p * ldb, ap = p * aCs;
            FloatVector b0v = FloatVector.fromArray(F, b, bp);
            FloatVector b1v = FloatVector.fromArray(F, b, bp + L);
            FloatVector b2v = FloatVector.fromArray(F, b, bp + 2 * L);
            FloatVector b3v = FloatVector.fromArray(F, b, bp + 3 * L);
            FloatVector av = FloatVector.broadcast(F, a[a0 + ap]);
            x00 = av.fma(b0v, x00); x01 = av.fma(b1v, x01); x02 = av.fma(b2v, x02); x03 = av.fma(b3v, x03);
            av = FloatVector.broadcast(F, a[a1 + ap]);
            x10 = av.fma(b0v, x10); x11 = av.fma(b1v, x11); x12 = av.fma(b2v, x12); x13 = av.fma(b3v, x13);
            av = FloatVector.broadcast(F, a[a2 + ap]);
            x20 = av.fma(b0v, x20); x21 = av.fma(b1v, x21); x22 = av.fma(b2v, x22); x23 = av.fma(b3v, x23);
            av = FloatVector.broadcast(F, a[a3 + ap]);
            x30 = av.fma(b0v, x30); x31 = av.fma(b1v, x31); x32 = av.fma(b2v, x32); x33 = av.fma(b3v, x33);
        }
        x00.intoArray(c, c0); x01.intoArray(c, c0 + L); x02.intoArray(c, c0 + 2 * L); x03.intoArray(c, c0 + 3 * L);
        x10.intoArray(c, c1); x11.intoArray(c, c1 + L); x12.intoArray(c, c1 + 2 * L); x13.intoArray(c, c1 + 3 * L);
        x20.intoArray(c, c2); x21.intoArray(c, c2 + L); x22.intoArray(c, c2 + 2 * L); x23.intoArray(c, c2 + 3 * L);
        x30.intoArray(c, c3); x31.intoArray(c, c3 + L); x32.intoArray(c, c3 + 2 * L); x33.intoArray(c, c3 + 3 * L);
    }

    private static void kernel1x4(int kk, float[] a, int a0, int aCs, float[] b, int b0, int ldb,
                                  float[] c, int c0, boolean acc) {
        FloatVector x0 = ld(acc, c, c0), x1 = ld(acc, c, c0 + L), x2 = ld(acc, c, c0 + 2 * L), x3 = ld(acc, c, c0 + 3 * L);
        for (int p = 0; p < kk; p++) {
            int bp = b0 + p * ldb;
            FloatVector av = FloatVector.broadcast(F, a[a0 + p * aCs]);
            x0 = av.fma(FloatVector.fromArray(F, b, bp), x0);
            x1 = av.fma(FloatVector.fromArray(F, b, bp + L), x1);
            x2 = av.fma(FloatVector.fromArray(F, b, bp + 2 * L), x2);
            x3 = av.fma(FloatVector.fromArray(F, b, bp + 3 * L), x3);
        }
        x0.intoArray(c, c0); x1.intoArray(c, c0 + L); x2.intoArray(c, c0 + 2 * L); x3.intoArray(c, c0 + 3 * L);
    }

    private static void kernel4x1(int kk, float[] a, int a0, int aRs, int aCs, float[] b, int b0, int ldb,
                                  float[] c, int c0, int ldc, boolean acc) {
        int c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector x0 = ld(acc, c, c0), x1 = ld(acc, c, c1), x2 = ld(acc, c, c2), x3 = ld(acc, c, c3);
        int a1 = a0 + aRs, a2 = a1 + aRs, a3 = a2 + aRs;
        for (int p = 0; p < kk; p++) {
            int ap = p * aCs;
            FloatVector bv = FloatVector.fromArray(F, b, b0 + p * ldb);
            x0 = FloatVector.broadcast(F, a[a0 + ap]).fma(bv, x0);
            x1 = FloatVector.broadcast(F, a[a1 + ap]).fma(bv, x1);
            x2 = FloatVector.broadcast(F, a[a2 + ap]).fma(bv, x2);
            x3 = FloatVector.broadcast(F, a[a3 + ap]).fma(bv, x3);
        }
        x0.intoArray(c, c0); x1.intoArray(c, c1); x2.intoArray(c, c2); x3.intoArray(c, c3);
    }

    private static void kernel1x1(int kk, float[] a, int a0, int aCs, float[] b, int b0, int ldb,
                                  float[] c, int c0, boolean acc) {
        FloatVector x = ld(acc, c, c0);
        for (int p = 0; p < kk; p++) {
            x = FloatVector.broadcast(F, a[a0 + p * aCs]).fma(FloatVector.fromArray(F, b, b0 + p * ldb), x);
        }
        x.intoArray(c, c0);
    }

    // ------------------------------------------------------------------------------------------
    // Plumbing
    // ------------------------------------------------------------------------------------------

    /** Shape and mask of one call, with the padded head sizes. */
    private record Shape(int t, int s, int d, int dv, boolean causal, int window, float scale,
                         int dp, int dvp) {
        Shape(int t, int s, int d, int dv, boolean causal, int window, float scale) {
            this(t, s, d, dv, causal, window, scale, roundUp(d), roundUp(dv));
        }

        int lo(int i) {
            return AttentionReference.visibleLo(i, t, s, window);
        }

        int hi(int i) {
            return AttentionReference.visibleHi(i, t, s, causal);
        }
    }

    /** The last forward and backward scratch of each thread (index 0 and 1). */
    private static final ThreadLocal<Scratch[]> SCRATCH = ThreadLocal.withInitial(() -> new Scratch[2]);

    /**
     * Per-task scratch, reused across the tasks of one range and, per thread, across calls of the
     * same head sizes: a prefill or a training step calls the kernel once per head and layer, and
     * fresh scratch for each task came to gigabytes per prefill. Its pad columns are never written
     * for given sizes, so they stay 0 when it is reused.
     */
    private static final class Scratch {
        final int d, dv;
        final float[] kT, vT, st, ds, accA, accB, bufA, bufB, m, lvec;
        final float[] tmp = new float[L];

        /** This thread's scratch for {@code sh} (head sizes d, dv), made on first use. */
        static Scratch of(Shape sh, boolean backward) {
            Scratch[] mine = SCRATCH.get();
            int i = backward ? 1 : 0;
            Scratch w = mine[i];
            if (w == null || w.d != sh.d || w.dv != sh.dv) mine[i] = w = new Scratch(sh, backward);
            return w;
        }

        private Scratch(Shape sh, boolean backward) {
            d = sh.d;
            dv = sh.dv;
            int rows = Math.max(BQ, BK);
            kT = new float[sh.d * BK];
            st = new float[BQ * BK];
            accA = new float[rows * Math.max(sh.dp, sh.dvp)];
            bufA = new float[rows * sh.dvp];
            bufB = new float[rows * sh.dp];
            if (backward) {
                vT = new float[sh.dv * BK];
                ds = new float[BQ * BK];
                accB = new float[rows * sh.dvp];
                m = lvec = null;
            } else {
                vT = ds = accB = null;
                m = new float[BQ];
                lvec = new float[BQ * L];
            }
        }
    }

    private static int roundUp(int n) {
        return (n + L - 1) / L * L;
    }

    private static int len(float[] a) {
        return a == null ? -1 : a.length;
    }

    private static Storage wrap(float[] a) {
        return a == null ? null : new Storage.F32(a);
    }
}
