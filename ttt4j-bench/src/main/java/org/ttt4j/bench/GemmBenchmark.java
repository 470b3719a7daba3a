package org.ttt4j.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.ttt4j.core.kernel.Gemm;
import org.ttt4j.core.kernel.GemmReference;
import org.ttt4j.core.tensor.Storage;

/**
 * fp32 GEMM micro-benchmarks. Scores are time per call; GFLOP/s = 2 n^3 / time.
 * {@code sgemm} covers the square sizes, {@code reference} the scalar oracle at one small size
 * (it is ~100x slower), {@code batched64} the 64 x (64x64 @ 64x64) attention-like shape.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar ttt4j-bench/target/ttt4j-jmh.jar GemmBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector",
        "-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0"})
public class GemmBenchmark {

    @State(Scope.Benchmark)
    public static class Square {
        @Param({"64", "256", "512", "1024"})
        public int n;
        float[] a, b, c;

        @Setup
        public void setUp() {
            Random r = new Random(1);
            a = random(r, n * n);
            b = random(r, n * n);
            c = new float[n * n];
        }
    }

    /** The scalar oracle at one small size, for the speed-up factor. */
    @State(Scope.Benchmark)
    public static class Small {
        @Param({"64"})
        public int n;
        float[] a, b, c;
        Storage.F32 sa, sb, sc;

        @Setup
        public void setUp() {
            Random r = new Random(2);
            a = random(r, n * n);
            b = random(r, n * n);
            c = new float[n * n];
            sa = new Storage.F32(a);
            sb = new Storage.F32(b);
            sc = new Storage.F32(c);
        }
    }

    @State(Scope.Benchmark)
    public static class Batched {
        static final int BATCH = 64, S = 64;
        float[] a, b, c;

        @Setup
        public void setUp() {
            Random r = new Random(3);
            a = random(r, BATCH * S * S);
            b = random(r, BATCH * S * S);
            c = new float[BATCH * S * S];
        }
    }

    @Benchmark
    public float[] sgemm(Square s) {
        Gemm.sgemm(false, false, s.n, s.n, s.n, s.a, 0, s.n, s.b, 0, s.n, s.c, 0, s.n, false);
        return s.c;
    }

    @Benchmark
    public float[] sgemmSmall(Small s) {
        Gemm.sgemm(false, false, s.n, s.n, s.n, s.a, 0, s.n, s.b, 0, s.n, s.c, 0, s.n, false);
        return s.c;
    }

    @Benchmark
    public float[] reference(Small s) {
        GemmReference.gemm(false, false, s.n, s.n, s.n, s.sa, 0, s.n, s.sb, 0, s.n, s.sc, 0, s.n,
                false);
        return s.c;
    }

    @Benchmark
    public float[] batched64(Batched s) {
        int sz = Batched.S * Batched.S;
        Gemm.sgemmBatched(Batched.BATCH, false, false, Batched.S, Batched.S, Batched.S,
                s.a, 0, sz, s.b, 0, sz, s.c, 0, sz, false);
        return s.c;
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = r.nextFloat() * 2 - 1;
        return x;
    }
}
