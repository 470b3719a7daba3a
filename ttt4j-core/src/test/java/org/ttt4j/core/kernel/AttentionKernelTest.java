package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.tensor.Storage;

class AttentionKernelTest {

    /** One attention problem. */
    record Case(int bh, int t, int s, int d, int dv, boolean causal, int window, double scale) {
        @Override public String toString() {
            return "bh=" + bh + " t=" + t + " s=" + s + " d=" + d + " dv=" + dv
                    + " causal=" + causal + " window=" + window;
        }
    }

    private static double[] rand(Random r, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = r.nextDouble() * 2 - 1;
        return a;
    }

    private static float[] toF(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    private static double[] toD(float[] a) {
        double[] f = new double[a.length];
        for (int i = 0; i < a.length; i++) f[i] = a[i];
        return f;
    }

    // ---------------------------------------------------------------------------------------
    // Naive: materialise scores, mask, softmax, multiply.
    // ---------------------------------------------------------------------------------------

    private static boolean visible(Case c, int i, int j) {
        int p = i + (c.s - c.t);
        return (!c.causal || j <= p) && (c.window <= 0 || j > p - c.window);
    }

    /** Returns {out, lse}. */
    private static double[][] naiveForward(Case c, double[] q, double[] k, double[] v) {
        double[] out = new double[c.bh * c.t * c.dv];
        double[] lse = new double[c.bh * c.t];
        for (int h = 0; h < c.bh; h++) {
            double[][] sc = new double[c.t][c.s];
            for (int i = 0; i < c.t; i++) {
                for (int j = 0; j < c.s; j++) {
                    double dot = 0;
                    for (int p = 0; p < c.d; p++) dot += q[(h * c.t + i) * c.d + p] * k[(h * c.s + j) * c.d + p];
                    sc[i][j] = visible(c, i, j) ? c.scale * dot : Double.NEGATIVE_INFINITY;
                }
            }
            for (int i = 0; i < c.t; i++) {
                double max = Arrays.stream(sc[i]).max().orElse(Double.NEGATIVE_INFINITY);
                double sum = 0;
                double[] pr = new double[c.s];
                for (int j = 0; j < c.s; j++) {
                    pr[j] = max == Double.NEGATIVE_INFINITY ? 0 : Math.exp(sc[i][j] - max);
                    sum += pr[j];
                }
                for (int j = 0; j < c.s; j++) pr[j] = sum == 0 ? 0 : pr[j] / sum;
                for (int e = 0; e < c.dv; e++) {
                    double o = 0;
                    for (int j = 0; j < c.s; j++) o += pr[j] * v[(h * c.s + j) * c.dv + e];
                    out[(h * c.t + i) * c.dv + e] = o;
                }
                lse[h * c.t + i] = sum == 0 ? Double.NEGATIVE_INFINITY : max + Math.log(sum);
            }
        }
        return new double[][] {out, lse};
    }

    private static List<Case> smallCases() {
        List<Case> cases = new ArrayList<>();
        int[][] shapes = {{1, 1, 1, 1, 1}, {2, 3, 5, 3, 2}, {1, 4, 4, 2, 3}, {2, 1, 6, 4, 4}, {1, 5, 7, 1, 2}};
        for (int[] sh : shapes) {
            for (boolean causal : new boolean[] {true, false}) {
                for (int w : new int[] {0, 1, 2, 10}) {
                    cases.add(new Case(sh[0], sh[1], sh[2], sh[3], sh[4], causal, w, 0.7));
                }
            }
        }
        return cases;
    }

    // ---------------------------------------------------------------------------------------
    // (a) reference vs naive and finite differences
    // ---------------------------------------------------------------------------------------

    @Test
    void referenceForwardMatchesNaive() {
        Random rnd = new Random(1);
        for (Case c : smallCases()) {
            int off = 3; // nonzero offsets everywhere
            double[] q = rand(rnd, c.bh * c.t * c.d), k = rand(rnd, c.bh * c.s * c.d), v = rand(rnd, c.bh * c.s * c.dv);
            double[][] want = naiveForward(c, q, k, v);
            Storage.F64 out = new Storage.F64(new double[off + c.bh * c.t * c.dv]);
            Storage.F64 lse = new Storage.F64(new double[off + c.bh * c.t]);
            AttentionReference.forward(c.bh, c.t, c.s, c.d, c.dv, c.causal, c.window, c.scale,
                    new Storage.F64(pad(q, off)), off, new Storage.F64(pad(k, off)), off,
                    new Storage.F64(pad(v, off)), off, out, off, lse, off);
            assertClose(want[0], Arrays.copyOfRange(out.a(), off, out.a().length), 1e-12, c + " out");
            assertClose(want[1], Arrays.copyOfRange(lse.a(), off, lse.a().length), 1e-12, c + " lse");
        }
    }

    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(2);
        for (Case c : smallCases()) {
            double[] q = rand(rnd, c.bh * c.t * c.d), k = rand(rnd, c.bh * c.s * c.d), v = rand(rnd, c.bh * c.s * c.dv);
            double[] rr = rand(rnd, c.bh * c.t * c.dv);
            double[] out = new double[c.bh * c.t * c.dv], lse = new double[c.bh * c.t];
            fwd64(c, q, k, v, out, lse);
            double[] gq = new double[q.length], gk = new double[k.length], gv = new double[v.length];
            AttentionReference.backward(c.bh, c.t, c.s, c.d, c.dv, c.causal, c.window, c.scale,
                    new Storage.F64(q), 0, new Storage.F64(k), 0, new Storage.F64(v), 0,
                    new Storage.F64(out), 0, new Storage.F64(lse), 0, new Storage.F64(rr), 0,
                    new Storage.F64(gq), 0, new Storage.F64(gk), 0, new Storage.F64(gv), 0);
            assertClose(fd(c, q, k, v, rr, q), gq, 1e-7, c + " dq");
            assertClose(fd(c, q, k, v, rr, k), gk, 1e-7, c + " dk");
            assertClose(fd(c, q, k, v, rr, v), gv, 1e-7, c + " dv");
        }
    }

    private static void fwd64(Case c, double[] q, double[] k, double[] v, double[] out, double[] lse) {
        AttentionReference.forward(c.bh, c.t, c.s, c.d, c.dv, c.causal, c.window, c.scale,
                new Storage.F64(q), 0, new Storage.F64(k), 0, new Storage.F64(v), 0,
                new Storage.F64(out), 0, new Storage.F64(lse), 0);
    }

    /** Central differences of sum(out * rr) with respect to every element of x (one of q, k, v). */
    private static double[] fd(Case c, double[] q, double[] k, double[] v, double[] rr, double[] x) {
        double h = 1e-5;
        double[] g = new double[x.length];
        double[] out = new double[c.bh * c.t * c.dv], lse = new double[c.bh * c.t];
        for (int i = 0; i < x.length; i++) {
            double keep = x[i];
            x[i] = keep + h;
            fwd64(c, q, k, v, out, lse);
            double fp = dot(out, rr);
            x[i] = keep - h;
            fwd64(c, q, k, v, out, lse);
            double fm = dot(out, rr);
            x[i] = keep;
            g[i] = (fp - fm) / (2 * h);
        }
        return g;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static double[] pad(double[] a, int off) {
        double[] p = new double[off + a.length];
        System.arraycopy(a, 0, p, off, a.length);
        return p;
    }

    // ---------------------------------------------------------------------------------------
    // (b) kernel vs reference
    // ---------------------------------------------------------------------------------------

    private static List<Case> kernelCases() {
        List<Case> cases = new ArrayList<>();
        // hand-picked: block boundaries, decode with cache, t = 1, tails in d/dv, d = 1
        cases.add(new Case(3, 130, 130, 64, 64, true, 0, 0.125));
        cases.add(new Case(2, 129, 200, 17, 33, true, 0, 0.25));
        cases.add(new Case(2, 1, 150, 64, 64, true, 0, 0.125));
        cases.add(new Case(2, 1, 150, 16, 16, true, 32, 0.25));
        cases.add(new Case(1, 100, 100, 1, 1, true, 0, 1.0));
        cases.add(new Case(2, 70, 70, 100, 48, false, 0, 0.1));
        cases.add(new Case(2, 97, 97, 32, 32, true, 1, 0.17));
        cases.add(new Case(2, 97, 160, 40, 24, true, 7, 0.17));
        cases.add(new Case(1, 150, 150, 24, 24, true, 64, 0.2));
        cases.add(new Case(1, 150, 150, 24, 24, false, 65, 0.2));
        cases.add(new Case(2, 65, 65, 8, 8, true, 500, 0.3));
        cases.add(new Case(1, 3, 300, 128, 128, false, 0, 0.0884));
        cases.add(new Case(2, 2, 77, 5, 3, true, 0, 0.4));   // few queries: dot-product score path, tails
        cases.add(new Case(3, 3, 40, 1, 1, false, 3, 0.9));
        cases.add(new Case(2, 5, 90, 19, 21, true, 70, 0.3)); // just above the dot-product threshold
        // seeded random shapes
        Random r = new Random(42);
        for (int n = 0; n < 24; n++) {
            int s = 1 + r.nextInt(160);
            int t = r.nextInt(4) == 0 ? 1 : 1 + r.nextInt(s);
            if (r.nextBoolean()) t = s;
            int d = 1 + r.nextInt(r.nextBoolean() ? 20 : 130);
            int dv = r.nextBoolean() ? d : 1 + r.nextInt(70);
            int[] windows = {0, 0, 1, 2 + r.nextInt(20), s + 5 + r.nextInt(50)};
            int w = windows[r.nextInt(windows.length)];
            cases.add(new Case(1 + r.nextInt(3), t, s, d, dv, r.nextInt(4) != 0, w, 1 / Math.sqrt(d)));
        }
        return cases;
    }

    /** Inputs scaled so that some softmax rows are peaked: exercises the online max. */
    private record Inputs(float[] q, float[] k, float[] v, float[] dOut) {
        static Inputs of(Case c, long seed) {
            Random r = new Random(seed);
            float[] q = toF(rand(r, c.bh * c.t * c.d));
            for (int i = 0; i < q.length; i++) q[i] *= 3;
            return new Inputs(q, toF(rand(r, c.bh * c.s * c.d)), toF(rand(r, c.bh * c.s * c.dv)),
                    toF(rand(r, c.bh * c.t * c.dv)));
        }
    }

    /** {out, lse, dq, dk, dv} from the kernel (float). */
    private static float[][] runKernel(Case c, Inputs in) {
        float[] out = new float[c.bh * c.t * c.dv], lse = new float[c.bh * c.t];
        AttentionKernel.forward(c.bh, c.t, c.s, c.d, c.dv, c.causal, c.window, c.scale,
                in.q, 0, in.k, 0, in.v, 0, out, 0, lse, 0);
        float[] dq = new float[in.q.length], dk = new float[in.k.length], dv = new float[in.v.length];
        Arrays.fill(dq, Float.NaN); // must be overwritten
        Arrays.fill(dk, Float.NaN);
        Arrays.fill(dv, Float.NaN);
        AttentionKernel.backward(c.bh, c.t, c.s, c.d, c.dv, c.causal, c.window, c.scale,
                in.q, 0, in.k, 0, in.v, 0, out, 0, lse, 0, in.dOut, 0, dq, 0, dk, 0, dv, 0);
        return new float[][] {out, lse, dq, dk, dv};
    }

    /** {out, lse, dq, dk, dv} from the reference in FP64 on the same (float) inputs. */
    private static double[][] runReference(Case c, Inputs in) {
        double[] q = toD(in.q), k = toD(in.k), v = toD(in.v), g = toD(in.dOut);
        double[] out = new double[c.bh * c.t * c.dv], lse = new double[c.bh * c.t];
        fwd64(c, q, k, v, out, lse);
        double[] dq = new double[q.length], dk = new double[k.length], dv = new double[v.length];
        AttentionReference.backward(c.bh, c.t, c.s, c.d, c.dv, c.causal, c.window, c.scale,
                new Storage.F64(q), 0, new Storage.F64(k), 0, new Storage.F64(v), 0,
                new Storage.F64(out), 0, new Storage.F64(lse), 0, new Storage.F64(g), 0,
                new Storage.F64(dq), 0, new Storage.F64(dk), 0, new Storage.F64(dv), 0);
        return new double[][] {out, lse, dq, dk, dv};
    }

    private static final String[] NAMES = {"out", "lse", "dq", "dk", "dv"};

    @Test
    void kernelMatchesReference() {
        boolean was = Simd.setEnabled(true);
        try {
            long seed = 7;
            for (Case c : kernelCases()) {
                Inputs in = Inputs.of(c, seed++);
                float[][] got = runKernel(c, in);
                double[][] want = runReference(c, in);
                for (int x = 0; x < NAMES.length; x++) {
                    assertClose(want[x], toD(got[x]), 1e-4, c + " " + NAMES[x]);
                }
            }
        } finally {
            Simd.setEnabled(was);
        }
    }

    @Test
    void scalarFallbackMatchesReference() {
        boolean was = Simd.setEnabled(false);
        try {
            Case c = new Case(2, 9, 13, 5, 3, true, 4, 0.4);
            Inputs in = Inputs.of(c, 99);
            float[][] got = runKernel(c, in);
            double[][] want = runReference(c, in);
            for (int x = 0; x < NAMES.length; x++) assertClose(want[x], toD(got[x]), 1e-5, c + " " + NAMES[x]);
        } finally {
            Simd.setEnabled(was);
        }
    }

    @Test
    void emptyShapesAreNoOps() {
        float[] e = new float[0];
        AttentionKernel.forward(0, 4, 4, 8, 8, true, 0, 1, e, 0, e, 0, e, 0, e, 0, e, 0);
        AttentionKernel.forward(2, 0, 0, 8, 8, true, 0, 1, e, 0, e, 0, e, 0, e, 0, e, 0);
        // t = 0 with a cache: keys get zero gradient
        float[] k = new float[2 * 3 * 4], v = new float[2 * 3 * 5];
        float[] dk = new float[k.length], dv = new float[v.length];
        Arrays.fill(dk, 1f);
        Arrays.fill(dv, 1f);
        AttentionKernel.backward(2, 0, 3, 4, 5, true, 0, 1, e, 0, k, 0, v, 0, e, 0, e, 0, e, 0, e, 0, dk, 0, dv, 0);
        assertArrayEquals(new float[dk.length], dk);
        assertArrayEquals(new float[dv.length], dv);
    }

    // ---------------------------------------------------------------------------------------
    // (c) bit-identical repeated runs, and independence from how heads are batched
    // ---------------------------------------------------------------------------------------

    @Test
    void repeatedRunsAreBitIdentical() {
        for (Case c : List.of(new Case(4, 150, 150, 40, 40, true, 0, 0.15),
                              new Case(3, 77, 200, 64, 20, true, 50, 0.125))) {
            Inputs in = Inputs.of(c, 5);
            float[][] first = runKernel(c, in);
            for (int rep = 0; rep < 3; rep++) {
                float[][] again = runKernel(c, in);
                for (int x = 0; x < NAMES.length; x++) assertArrayEquals(first[x], again[x], c + " " + NAMES[x]);
            }
            // each head alone (different task split across threads) gives the same bits
            for (int h = 0; h < c.bh; h++) {
                Case one = new Case(1, c.t, c.s, c.d, c.dv, c.causal, c.window, c.scale);
                float[] out = new float[c.t * c.dv], lse = new float[c.t];
                AttentionKernel.forward(1, c.t, c.s, c.d, c.dv, c.causal, c.window, c.scale,
                        in.q, h * c.t * c.d, in.k, h * c.s * c.d, in.v, h * c.s * c.dv, out, 0, lse, 0);
                float[] dq = new float[c.t * c.d], dk = new float[c.s * c.d], dv = new float[c.s * c.dv];
                AttentionKernel.backward(1, c.t, c.s, c.d, c.dv, c.causal, c.window, c.scale,
                        in.q, h * c.t * c.d, in.k, h * c.s * c.d, in.v, h * c.s * c.dv, out, 0, lse, 0,
                        in.dOut, h * c.t * c.dv, dq, 0, dk, 0, dv, 0);
                assertArrayEquals(slice(first[0], h, c.t * c.dv), out, one + " head " + h + " out");
                assertArrayEquals(slice(first[1], h, c.t), lse, one + " head " + h + " lse");
                assertArrayEquals(slice(first[2], h, c.t * c.d), dq, one + " head " + h + " dq");
                assertArrayEquals(slice(first[3], h, c.s * c.d), dk, one + " head " + h + " dk");
                assertArrayEquals(slice(first[4], h, c.s * c.dv), dv, one + " head " + h + " dv");
            }
        }
    }

    private static float[] slice(float[] a, int h, int n) {
        return Arrays.copyOfRange(a, h * n, h * n + n);
    }

    @Test
    void vectorExpIsAccurate() {
        float[] xs = new float[Simd.F.length()];
        double worst = 0;
        for (float x = -90f; x <= 5f; x += 0.0137f) {
            Arrays.fill(xs, x);
            float y = VectorMath.exp(jdk.incubator.vector.FloatVector.fromArray(Simd.F, xs, 0)).lane(0);
            double want = Math.exp(x);
            if (want < 1.2e-38) {
                assertTrue(y >= 0 && y < 1.2e-38, "exp(" + x + ") = " + y);
            } else {
                worst = Math.max(worst, Math.abs(y - want) / want);
            }
        }
        assertTrue(worst < 3e-7, "worst relative error " + worst);
        Arrays.fill(xs, Float.NEGATIVE_INFINITY);
        assertEquals(0f, VectorMath.exp(jdk.incubator.vector.FloatVector.fromArray(Simd.F, xs, 0)).lane(0));
    }

    // ---------------------------------------------------------------------------------------
    // (d) bad sizes throw
    // ---------------------------------------------------------------------------------------

    @Test
    void badSizesThrow() {
        float[] q = new float[2 * 4 * 8], k = new float[2 * 6 * 8], v = new float[2 * 6 * 8];
        float[] out = new float[2 * 4 * 8], lse = new float[2 * 4];
        // sanity: the good call works
        AttentionKernel.forward(2, 4, 6, 8, 8, true, 0, 1, q, 0, k, 0, v, 0, out, 0, lse, 0);
        expectBad("bh", () -> AttentionKernel.forward(-1, 4, 6, 8, 8, true, 0, 1, q, 0, k, 0, v, 0, out, 0, lse, 0));
        expectBad("t", () -> AttentionKernel.forward(2, -1, 6, 8, 8, true, 0, 1, q, 0, k, 0, v, 0, out, 0, lse, 0));
        expectBad("t (queries", () -> AttentionKernel.forward(2, 4, 3, 8, 8, true, 0, 1, q, 0, k, 0, v, 0, out, 0, lse, 0));
        expectBad("d ", () -> AttentionKernel.forward(2, 4, 6, 0, 8, true, 0, 1, q, 0, k, 0, v, 0, out, 0, lse, 0));
        expectBad("dv ", () -> AttentionKernel.forward(2, 4, 6, 8, 0, true, 0, 1, q, 0, k, 0, v, 0, out, 0, lse, 0));
        expectBad("scale", () -> AttentionKernel.forward(2, 4, 6, 8, 8, true, 0, Double.NaN, q, 0, k, 0, v, 0, out, 0, lse, 0));
        expectBad("q too short", () -> AttentionKernel.forward(2, 4, 6, 8, 8, true, 0, 1, q, 1, k, 0, v, 0, out, 0, lse, 0));
        expectBad("k too short", () -> AttentionKernel.forward(2, 4, 6, 9, 8, true, 0, 1, new float[99], 0, k, 0, v, 0, out, 0, lse, 0));
        expectBad("lse too short", () -> AttentionKernel.forward(2, 4, 6, 8, 8, true, 0, 1, q, 0, k, 0, v, 0, out, 0, new float[7], 0));
        expectBad("out offset", () -> AttentionKernel.forward(2, 4, 6, 8, 8, true, 0, 1, q, 0, k, 0, v, 0, out, -1, lse, 0));
        expectBad("v is null", () -> AttentionKernel.forward(2, 4, 6, 8, 8, true, 0, 1, q, 0, k, 0, null, 0, out, 0, lse, 0));
        float[] dq = new float[q.length], dk = new float[k.length], dv = new float[v.length];
        expectBad("dOut too short", () -> AttentionKernel.backward(2, 4, 6, 8, 8, true, 0, 1, q, 0, k, 0, v, 0,
                out, 0, lse, 0, new float[3], 0, dq, 0, dk, 0, dv, 0));
        expectBad("dk too short", () -> AttentionKernel.backward(2, 4, 6, 8, 8, true, 0, 1, q, 0, k, 0, v, 0,
                out, 0, lse, 0, out, 0, dq, 0, new float[5], 0, dv, 0));
        expectBad("t (queries", () -> AttentionReference.forward(1, 3, 2, 1, 1, false, 0, 1,
                f64(3), 0, f64(2), 0, f64(2), 0, f64(3), 0, f64(3), 0));
        expectBad("dq too short", () -> AttentionReference.backward(1, 3, 3, 1, 1, false, 0, 1,
                f64(3), 0, f64(3), 0, f64(3), 0, f64(3), 0, f64(3), 0, f64(3), 0, f64(2), 0, f64(3), 0, f64(3), 0));
    }

    private static Storage f64(int n) {
        return new Storage.F64(new double[n]);
    }

    private static void expectBad(String fragment, Runnable r) {
        for (boolean simd : new boolean[] {true, false}) {
            boolean was = Simd.setEnabled(simd);
            try {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
                assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
            } finally {
                Simd.setEnabled(was);
            }
        }
    }

    // ---------------------------------------------------------------------------------------

    /** max |got - want| <= tol * max(1, max |want|); -inf must match exactly. */
    private static void assertClose(double[] want, double[] got, double tol, String what) {
        assertEquals(want.length, got.length, what + " length");
        double scale = 1;
        for (double w : want) if (Double.isFinite(w)) scale = Math.max(scale, Math.abs(w));
        for (int i = 0; i < want.length; i++) {
            if (Double.isInfinite(want[i]) || Double.isInfinite(got[i])) {
                assertEquals(want[i], got[i], what + " [" + i + "]");
                continue;
            }
            double err = Math.abs(got[i] - want[i]);
            if (!(err <= tol * scale)) {
                throw new AssertionError(what + " [" + i + "]: want " + want[i] + " got " + got[i]
                        + " (err " + err + ", allowed " + tol * scale + ")");
            }
        }
    }
}
