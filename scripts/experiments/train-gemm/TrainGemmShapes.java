import org.ttt4j.core.ops.Linalg;
import org.ttt4j.core.tensor.Tensor;

/**
 * GFLOP/s of ttt4j's matmul at the products of one `bench train --preset bench` step (2048 tokens,
 * width 256, SwiGLU 688, vocabulary 8192), best of 10 stretches of 0.1 s; torch_gemm_shapes.py
 * times the same products in PyTorch. Run (threads from -Dttt4j.threads):
 *   java --add-modules jdk.incubator.vector -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0 \
 *        -cp ttt4j-cli/target/ttt4j.jar scripts/experiments/train-gemm/TrainGemmShapes.java
 */
public class TrainGemmShapes {
    /** m, n, k, transA, transB. */
    static final int[][] SHAPES = {
            {2048, 256, 256, 0, 1}, {2048, 688, 256, 0, 1}, {2048, 256, 688, 0, 1}, {2048, 8192, 256, 0, 1},
            {2048, 256, 256, 0, 0}, {2048, 256, 688, 0, 0}, {2048, 688, 256, 0, 0}, {2048, 256, 8192, 0, 0},
            {256, 256, 2048, 1, 0}, {688, 256, 2048, 1, 0}, {256, 688, 2048, 1, 0}, {8192, 256, 2048, 1, 0}};

    public static void main(String[] args) {
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            boolean ta = s[3] == 1, tb = s[4] == 1;
            Tensor a = Tensor.randn(org.ttt4j.core.tensor.DType.FP32, new java.util.SplittableRandom(1), 1, ta ? new int[] {k, m} : new int[] {m, k});
            Tensor b = Tensor.randn(org.ttt4j.core.tensor.DType.FP32, new java.util.SplittableRandom(2), 1, tb ? new int[] {n, k} : new int[] {k, n});
            double best = Double.MAX_VALUE;
            for (int rep = 0; rep < 10; rep++) {
                long t0 = System.nanoTime();
                int it = 0;
                do {
                    Linalg.matmul(a, b, ta, tb);
                    it++;
                } while (System.nanoTime() - t0 < 100_000_000L);
                best = Math.min(best, (System.nanoTime() - t0) / 1e9 / it);
            }
            System.out.printf("m=%d n=%d k=%d transA=%b transB=%b: %.1f GFLOP/s%n", m, n, k, ta, tb, 2.0 * m * n * k / best / 1e9);
        }
    }
}
