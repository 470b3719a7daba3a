package org.ttt4j.core.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The decode step's row kernels against their scalar twins, and the properties the step relies on. */
class DecodeKernelsTest {
    private static float[] random(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    private static void close(float[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], tol * (1 + Math.abs(want[i])), what + " at " + i);
    }

    @Test
    void rmsNormMatchesTheReference() {
        var r = new SplittableRandom(1);
        for (int n : new int[] {1, 7, 16, 33, 256, 769}) {
            float[] x = random(r, n + 3, 2), w = random(r, n, 1);
            float[] fast = new float[n + 5], ref = new float[n + 5];
            DecodeKernels.rmsNorm(x, 3, w, fast, 5, n, 1e-6f);
            DecodeKernelsReference.rmsNorm(x, 3, w, ref, 5, n, 1e-6f);
            close(ref, fast, 1e-5, "rmsNorm n=" + n);
            DecodeKernels.rmsNorm(x, 3, null, fast, 5, n, 1e-6f);
            DecodeKernelsReference.rmsNorm(x, 3, null, ref, 5, n, 1e-6f);
            close(ref, fast, 1e-5, "rmsNorm without weight n=" + n);
        }
    }

    @Test
    void siluMulMatchesTheReferenceAndItsBitsDoNotDependOnTheRangeSplit() {
        var r = new SplittableRandom(2);
        int n = 203;
        float[] g = random(r, n, 4), u = random(r, n, 1);
        float[] whole = new float[n], split = new float[n], ref = new float[n];
        DecodeKernels.siluMul(g, u, whole, 0, n);
        DecodeKernelsReference.siluMul(g, u, ref, 0, n);
        close(ref, whole, 1e-5, "siluMul");
        for (int cut : new int[] {1, 17, 100, 202}) {
            DecodeKernels.siluMul(g, u, split, 0, cut);
            DecodeKernels.siluMul(g, u, split, cut, n);
            assertArrayEquals(whole, split, "split at " + cut);
        }
    }

    @Test
    void addAndRopeMatchPlainArithmetic() {
        var r = new SplittableRandom(3);
        float[] x = random(r, 40, 1), y = random(r, 45, 1), y0 = y.clone();
        DecodeKernels.add(x, 2, y, 4, 37);
        for (int i = 0; i < 45; i++) assertEquals(i >= 4 && i < 41 ? y0[i] + x[i - 2] : y0[i], y[i], 0f);
        // RoPE: pair (f, f + d/2) turned by the given angle; turning back restores the input.
        int d = 8;
        float[] h = random(r, d, 1), h0 = h.clone();
        double[] cos = new double[d / 2], sin = new double[d / 2], nsin = new double[d / 2];
        for (int f = 0; f < d / 2; f++) {
            double angle = 0.3 + f;
            cos[f] = Math.cos(angle);
            sin[f] = Math.sin(angle);
            nsin[f] = -sin[f];
        }
        DecodeKernels.rope(h, 0, d, cos, sin);
        assertEquals(h0[0] * cos[0] - h0[4] * sin[0], h[0], 1e-6);
        assertEquals(h0[0] * sin[0] + h0[4] * cos[0], h[4], 1e-6);
        DecodeKernels.rope(h, 0, d, cos, nsin);
        close(h0, h, 1e-6, "rope there and back");
    }

    @Test
    void attendMatchesTheReferenceOverPlainAndRingCaches() {
        var r = new SplittableRandom(4);
        int d = 64, capacity = 50;
        float[] keys = random(r, 3 * capacity * d, 1), values = random(r, 3 * capacity * d, 1), q = random(r, d + 2, 1);
        int base = capacity * d; // head 1
        float[] scores = new float[capacity + 64], fast = new float[d + 1], ref = new float[d + 1];
        // positions [from, to] of a full cache (slot = position) and of a ring (slot = position mod capacity)
        for (long[] range : new long[][] {{0, 0}, {0, 17}, {5, 49}, {60, 99}, {90, 130}}) {
            int ring = range[1] >= capacity ? capacity : 0;
            DecodeKernels.attend(q, 2, keys, values, base, d, range[0], range[1], ring, 0.125f, scores, fast, 1);
            DecodeKernelsReference.attend(q, 2, keys, values, base, d, range[0], range[1], ring, 0.125f, scores, ref, 1);
            close(ref, fast, 2e-5, "attend over " + range[0] + ".." + range[1]);
        }
        // one key: its value
        DecodeKernels.attend(q, 2, keys, values, base, d, 7, 7, 0, 0.125f, scores, fast, 0);
        for (int i = 0; i < d; i++) assertEquals(values[base + 7 * d + i], fast[i], 1e-6);
    }

    /**
     * Over bfloat16 keys and values the kernel widens exactly and then does what the fp32 kernel
     * does: the same bits as attending over widened copies, and close to the scalar twin; the bf16
     * rounding itself is held against a hand value and round-to-nearest-even.
     */
    @Test
    void attendOverBf16MatchesTheFp32KernelOnTheWidenedValuesAndTheReference() {
        var r = new SplittableRandom(8);
        for (int d : new int[] {64, 40}) { // 40: a vector tail
            int capacity = 50;
            float[] keys = random(r, 3 * capacity * d, 1), values = random(r, 3 * capacity * d, 1), q = random(r, d + 2, 1);
            short[] k16 = new short[keys.length], v16 = new short[values.length];
            float[] kw = new float[keys.length], vw = new float[values.length];
            for (int i = 0; i < keys.length; i++) {
                k16[i] = PackedMatrix.toBf16(keys[i]);
                v16[i] = PackedMatrix.toBf16(values[i]);
                kw[i] = PackedMatrix.fromBf16(k16[i]);
                vw[i] = PackedMatrix.fromBf16(v16[i]);
            }
            int base = capacity * d;
            float[] scores = new float[capacity + 64], fast = new float[d + 1], widened = new float[d + 1], ref = new float[d + 1];
            for (long[] range : new long[][] {{0, 0}, {0, 17}, {5, 49}, {60, 99}, {90, 130}}) {
                int ring = range[1] >= capacity ? capacity : 0;
                DecodeKernels.attend(q, 2, k16, v16, base, d, range[0], range[1], ring, 0.125f, scores, fast, 1);
                DecodeKernels.attend(q, 2, kw, vw, base, d, range[0], range[1], ring, 0.125f, scores, widened, 1);
                DecodeKernelsReference.attend(q, 2, k16, v16, base, d, range[0], range[1], ring, 0.125f, scores, ref, 1);
                assertArrayEquals(widened, fast, "d " + d + ", attend over " + range[0] + ".." + range[1]);
                close(ref, fast, 2e-5, "d " + d + ", reference over " + range[0] + ".." + range[1]);
            }
        }
        // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one (1);
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: to the even 1 + 2^-6.
        assertEquals(1f, PackedMatrix.fromBf16(PackedMatrix.toBf16(1 + 0x1p-8f)));
        assertEquals(1 + 0x1p-6f, PackedMatrix.fromBf16(PackedMatrix.toBf16(1 + 3 * 0x1p-8f)));
        assertEquals(0x3F80, PackedMatrix.toBf16(1f) & 0xFFFF);
    }
}
