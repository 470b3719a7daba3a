"""GFLOP/s of PyTorch's a @ b at the products of one `bench train --preset bench` step (see TrainGemmShapes.java).
Usage: python3 torch_gemm_shapes.py [threads]"""
import sys, time
import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
SHAPES = [(2048, 256, 256, 0, 1), (2048, 688, 256, 0, 1), (2048, 256, 688, 0, 1), (2048, 8192, 256, 0, 1),
          (2048, 256, 256, 0, 0), (2048, 256, 688, 0, 0), (2048, 688, 256, 0, 0), (2048, 256, 8192, 0, 0),
          (256, 256, 2048, 1, 0), (688, 256, 2048, 1, 0), (256, 688, 2048, 1, 0), (8192, 256, 2048, 1, 0)]
print("torch", torch.__version__, "threads", torch.get_num_threads())
for m, n, k, ta, tb in SHAPES:
    a = torch.randn(k, m) if ta else torch.randn(m, k)
    b = torch.randn(n, k) if tb else torch.randn(k, n)
    f = lambda: (a.t() if ta else a) @ (b.t() if tb else b)
    for _ in range(5):
        f()
    best = float("inf")
    for _ in range(10):
        t0, it = time.perf_counter(), 0
        while time.perf_counter() - t0 < 0.1:
            f()
            it += 1
        best = min(best, (time.perf_counter() - t0) / it)
    print(f"m={m} n={n} k={k} transA={bool(ta)} transB={bool(tb)}: {2 * m * n * k / best / 1e9:.1f} GFLOP/s")
