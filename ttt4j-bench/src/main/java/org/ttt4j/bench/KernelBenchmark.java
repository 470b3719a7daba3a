package org.ttt4j.bench;

import java.util.SplittableRandom;
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
import org.ttt4j.core.kernel.AttentionKernel;
import org.ttt4j.core.kernel.AttentionReference;
import org.ttt4j.core.kernel.Elementwise;
import org.ttt4j.core.kernel.FiniteCheck;
import org.ttt4j.core.kernel.RowKernels;
import org.ttt4j.core.tensor.DType;
import org.ttt4j.core.tensor.Storage;
import org.ttt4j.core.tensor.Tensor;

/**
 * Micro-benchmarks of the non-GEMM kernels, each beside its scalar reference: fused attention
 * (forward), softmax rows, RMS normalisation, gelu, the finiteness scan of loaded weights.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar ttt4j-bench/target/ttt4j-jmh.jar KernelBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class KernelBenchmark {

    @State(Scope.Benchmark)
    public static class Attn {
        @Param({"256", "1024"})
        public int t;
        @Param({"0", "64"})
        public int window;
        static final int BH = 4, D = 64;
        float[] q, k, v, out, lse;

        @Setup
        public void setUp() {
            var rng = new SplittableRandom(1);
            q = Tensor.randn(DType.FP32, rng, 1, BH * t * D).f32();
            k = Tensor.randn(DType.FP32, rng, 1, BH * t * D).f32();
            v = Tensor.randn(DType.FP32, rng, 1, BH * t * D).f32();
            out = new float[BH * t * D];
            lse = new float[BH * t];
        }
    }

    @State(Scope.Benchmark)
    public static class Rows {
        @Param({"256", "8192"})
        public int width;
        Tensor in, out;

        @Setup
        public void setUp() {
            in = Tensor.randn(DType.FP32, new SplittableRandom(2), 1, 2048 * 256 / width * 4, width);
            out = Tensor.zeros(DType.FP32, in.shape());
        }
    }

    @Benchmark
    public float[] attentionFused(Attn s) {
        AttentionKernel.forward(Attn.BH, s.t, s.t, Attn.D, Attn.D, true, s.window, 0.125, s.q, 0, s.k, 0, s.v, 0, s.out, 0, s.lse, 0);
        return s.out;
    }

    @Benchmark
    public float[] attentionReference(Attn s) {
        AttentionReference.forward(Attn.BH, s.t, s.t, Attn.D, Attn.D, true, s.window, 0.125, new Storage.F32(s.q), 0,
                new Storage.F32(s.k), 0, new Storage.F32(s.v), 0, new Storage.F32(s.out), 0, new Storage.F32(s.lse), 0);
        return s.out;
    }

    @Benchmark
    public Tensor softmaxRows(Rows s) {
        RowKernels.rows(RowKernels.Kind.SOFTMAX, s.in, s.out, s.width, 0);
        return s.out;
    }

    @Benchmark
    public Tensor rmsNormalizeRows(Rows s) {
        RowKernels.rows(RowKernels.Kind.RMS_NORMALIZE, s.in, s.out, s.width, 1e-6);
        return s.out;
    }

    @Benchmark
    public Tensor gelu(Rows s) {
        Elementwise.unary(Elementwise.Unary.GELU, 0, s.in, s.out);
        return s.out;
    }

    /** 64 Mi floats (256 MiB, beyond every cache): the finiteness scan of a loaded file; divide by 0.268 GB for ms/GB. */
    @State(Scope.Benchmark)
    public static class Loaded {
        static final int N = 64 << 20;
        float[] x;

        @Setup
        public void setUp() {
            x = new float[N];
            for (int i = 0; i < N; i++) x[i] = (i % 1000) * 1e-3f;
        }
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int finiteCheck(Loaded s) {
        return FiniteCheck.firstBad(s.x, 0, Loaded.N, Float.MAX_VALUE);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int finiteCheckScalar(Loaded s) {
        return FiniteCheck.firstBadScalar(s.x, 0, Loaded.N, Float.MAX_VALUE);
    }
}
