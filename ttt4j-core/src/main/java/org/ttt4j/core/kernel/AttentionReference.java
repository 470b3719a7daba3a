package org.ttt4j.core.kernel;

import org.ttt4j.core.tensor.Storage;

/**
 * The plain scaled-dot-product attention that {@link AttentionKernel} is tested against, and the
 * path FP64 tensors and {@code -Dttt4j.simd=false} take. Reads and writes through {@link Storage}
 * (so it serves FP32 and FP64) and accumulates in double.
 *
 * <h2>Semantics (shared with {@link AttentionKernel})</h2>
 * <ul>
 *   <li>{@code bh} independent heads (batch x heads flattened). All tensors are contiguous
 *       row-major starting at their offsets: {@code q} is [bh, t, d], {@code k} is [bh, s, d],
 *       {@code v} is [bh, s, dv], {@code out} is [bh, t, dv], {@code lse} is [bh, t].</li>
 *   <li>The queries are the last {@code t} of the {@code s} key positions: query {@code i} sits
 *       at absolute position {@code p_i = i + (s - t)}. {@code t == s} for prefill, {@code t < s}
 *       when decoding against a cache. {@code t <= s} is required.</li>
 *   <li>Key {@code j} is visible to query {@code i} iff
 *       {@code (!causal || j <= p_i) && (window <= 0 || j > p_i - window)}. So a sliding window
 *       of {@code w} lets query {@code i} see keys {@code p_i - w < j <= p_i} (itself and the
 *       {@code w - 1} before it); {@code window <= 0} means no window. Without {@code causal} the
 *       window only bounds keys from below.</li>
 *   <li>{@code score_ij = scale * (q_i . k_j)};
 *       {@code out_i = sum_j softmax_j(score_i)_j v_j} over visible {@code j};
 *       {@code lse_i = log(sum_j exp(score_ij))} over visible {@code j}.</li>
 *   <li>A query with no visible key gets {@code out_i = 0}, {@code lse_i = -infinity} and
 *       contributes no gradient. (With {@code t <= s} every query sees at least itself when
 *       {@code s > 0}, so this is a defensive rule.)</li>
 * </ul>
 *
 * <h2>Backward</h2>
 * From the saved {@code out} and {@code lse}: {@code P_ij = exp(score_ij - lse_i)},
 * {@code dV_j = sum_i P_ij dO_i}, {@code dP_ij = dO_i . v_j}, {@code D_i = dO_i . out_i},
 * {@code dS_ij = P_ij (dP_ij - D_i)}, {@code dq_i = scale sum_j dS_ij k_j},
 * {@code dk_j = scale sum_i dS_ij q_i}. The gradient buffers are overwritten, not accumulated.
 *
 * <p>Output buffers must not overlap inputs. Sizes, offsets and lengths are validated with
 * {@link IllegalArgumentException}s that name the offending argument.
 */
public final class AttentionReference {
    private AttentionReference() {}

    /** The checks shared by forward and backward: sizes, then every operand's range. */
    private static void checkForward(int bh, int t, int s, int d, int dv, double scale, Storage q, int qOff,
                                     Storage k, int kOff, Storage v, int vOff, Storage out, int outOff,
                                     Storage lse, int lseOff) {
        checkShape(bh, t, s, d, dv, scale);
        checkRange("q", q == null ? -1 : q.length(), qOff, (long) bh * t * d);
        checkRange("k", k == null ? -1 : k.length(), kOff, (long) bh * s * d);
        checkRange("v", v == null ? -1 : v.length(), vOff, (long) bh * s * dv);
        checkRange("out", out == null ? -1 : out.length(), outOff, (long) bh * t * dv);
        checkRange("lse", lse == null ? -1 : lse.length(), lseOff, (long) bh * t);
    }

    public static void forward(int bh, int t, int s, int d, int dv, boolean causal, int window,
                               double scale, Storage q, int qOff, Storage k, int kOff,
                               Storage v, int vOff, Storage out, int outOff,
                               Storage lse, int lseOff) {
        checkForward(bh, t, s, d, dv, scale, q, qOff, k, kOff, v, vOff, out, outOff, lse, lseOff);

        double[] sc = new double[Math.max(s, 1)];
        double[] acc = new double[dv];
        for (int h = 0; h < bh; h++) {
            int qh = qOff + h * t * d, kh = kOff + h * s * d, vh = vOff + h * s * dv;
            int oh = outOff + h * t * dv, lh = lseOff + h * t;
            for (int i = 0; i < t; i++) {
                int lo = visibleLo(i, t, s, window), hi = visibleHi(i, t, s, causal);
                if (lo > hi) {
                    for (int c = 0; c < dv; c++) out.set(oh + i * dv + c, 0.0);
                    lse.set(lh + i, Double.NEGATIVE_INFINITY);
                    continue;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int j = lo; j <= hi; j++) {
                    double dot = 0;
                    for (int p = 0; p < d; p++) dot += q.get(qh + i * d + p) * k.get(kh + j * d + p);
                    sc[j] = scale * dot;
                    max = Math.max(max, sc[j]);
                }
                double sum = 0;
                java.util.Arrays.fill(acc, 0.0);
                for (int j = lo; j <= hi; j++) {
                    double e = Math.exp(sc[j] - max);
                    sum += e;
                    for (int c = 0; c < dv; c++) acc[c] += e * v.get(vh + j * dv + c);
                }
                for (int c = 0; c < dv; c++) out.set(oh + i * dv + c, acc[c] / sum);
                lse.set(lh + i, max + Math.log(sum));
            }
        }
    }

    public static void backward(int bh, int t, int s, int d, int dv, boolean causal, int window,
                                double scale, Storage q, int qOff, Storage k, int kOff,
                                Storage v, int vOff, Storage out, int outOff,
                                Storage lse, int lseOff, Storage dOut, int dOutOff,
                                Storage dq, int dqOff, Storage dk, int dkOff,
                                Storage dvGrad, int dvOff) {
        checkForward(bh, t, s, d, dv, scale, q, qOff, k, kOff, v, vOff, out, outOff, lse, lseOff);
        checkRange("dOut", dOut == null ? -1 : dOut.length(), dOutOff, (long) bh * t * dv);
        checkRange("dq", dq == null ? -1 : dq.length(), dqOff, (long) bh * t * d);
        checkRange("dk", dk == null ? -1 : dk.length(), dkOff, (long) bh * s * d);
        checkRange("dv", dvGrad == null ? -1 : dvGrad.length(), dvOff, (long) bh * s * dv);

        double[] gk = new double[s * d];
        double[] gv = new double[s * dv];
        double[] gq = new double[d];
        for (int h = 0; h < bh; h++) {
            int qh = qOff + h * t * d, kh = kOff + h * s * d, vh = vOff + h * s * dv;
            int oh = outOff + h * t * dv, lh = lseOff + h * t, gh = dOutOff + h * t * dv;
            java.util.Arrays.fill(gk, 0.0);
            java.util.Arrays.fill(gv, 0.0);
            for (int i = 0; i < t; i++) {
                java.util.Arrays.fill(gq, 0.0);
                int lo = visibleLo(i, t, s, window), hi = visibleHi(i, t, s, causal);
                double l = lse.get(lh + i);
                if (lo <= hi && l != Double.NEGATIVE_INFINITY) {
                    double di = 0;
                    for (int c = 0; c < dv; c++) di += dOut.get(gh + i * dv + c) * out.get(oh + i * dv + c);
                    for (int j = lo; j <= hi; j++) {
                        double dot = 0;
                        for (int p = 0; p < d; p++) dot += q.get(qh + i * d + p) * k.get(kh + j * d + p);
                        double pij = Math.exp(scale * dot - l);
                        double dp = 0;
                        for (int c = 0; c < dv; c++) {
                            double go = dOut.get(gh + i * dv + c);
                            gv[j * dv + c] += pij * go;
                            dp += go * v.get(vh + j * dv + c);
                        }
                        double ds = scale * pij * (dp - di);
                        for (int p = 0; p < d; p++) {
                            gq[p] += ds * k.get(kh + j * d + p);
                            gk[j * d + p] += ds * q.get(qh + i * d + p);
                        }
                    }
                }
                for (int p = 0; p < d; p++) dq.set(dqOff + h * t * d + i * d + p, gq[p]);
            }
            for (int x = 0; x < s * d; x++) dk.set(dkOff + h * s * d + x, gk[x]);
            for (int x = 0; x < s * dv; x++) dvGrad.set(dvOff + h * s * dv + x, gv[x]);
        }
    }

    // ---- shared helpers (also used by AttentionKernel) ----

    /** First visible key of query {@code i} (may exceed {@link #visibleHi} when none is visible). */
    static int visibleLo(int i, int t, int s, int window) {
        if (window <= 0) return 0;
        long lo = (long) i + (s - t) - window + 1;
        return (int) Math.max(0, lo);
    }

    /** Last visible key of query {@code i}. */
    static int visibleHi(int i, int t, int s, boolean causal) {
        return causal ? i + (s - t) : s - 1;
    }

    static void checkShape(int bh, int t, int s, int d, int dv, double scale) {
        if (bh < 0) throw new IllegalArgumentException("bh (number of heads) must be >= 0, got " + bh);
        if (t < 0) throw new IllegalArgumentException("t (number of queries) must be >= 0, got " + t);
        if (s < 0) throw new IllegalArgumentException("s (number of keys) must be >= 0, got " + s);
        if (t > s) throw new IllegalArgumentException(
                "t (queries, " + t + ") must be <= s (keys, " + s + "): queries are the last t key positions");
        if (d < 1) throw new IllegalArgumentException("d (query/key head size) must be >= 1, got " + d);
        if (dv < 1) throw new IllegalArgumentException("dv (value head size) must be >= 1, got " + dv);
        if (!Double.isFinite(scale)) throw new IllegalArgumentException("scale must be finite, got " + scale);
        if ((long) bh * s * Math.max(d, dv) > Integer.MAX_VALUE)
            throw new IllegalArgumentException("bh * s * max(d, dv) overflows an int index");
    }

    /** {@code length < 0} means the array is null. */
    static void checkRange(String name, int length, int off, long size) {
        if (length < 0) throw new IllegalArgumentException(name + " is null");
        if (off < 0) throw new IllegalArgumentException(name + " offset must be >= 0, got " + off);
        if (off + size > length) throw new IllegalArgumentException(
                name + " too short: needs " + size + " elements from offset " + off + ", has length " + length);
    }
}
