# numpy side of `ttt4j bench gemm`: a long-lived worker so that numpy and ttt4j can be timed
# in alternation (this machine's speed drifts with other load; alternating keeps the comparison
# fair). Protocol, one line each way:
#   request  "m n k batch min_seconds"   reply  "<GFLOP/s of one timed stretch>"
#   request  "quit"
# The first reply line is "READY <numpy version>" or "ERR <reason>".
# Thread count comes from OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, set by the Java side.
import sys
import time

try:
    import numpy as np
except Exception as e:  # numpy missing or broken
    print("ERR numpy unavailable: %s" % e, flush=True)
    sys.exit(0)

print("READY %s" % np.__version__, flush=True)

current_key = None
operands = None
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    if parts[0] == "quit":
        break
    m, n, k, batch = (int(x) for x in parts[:4])
    min_seconds = float(parts[4])
    key = (m, n, k, batch)
    if key != current_key:
        rng = np.random.default_rng(0)
        lead = (batch,) if batch > 1 else ()
        a = rng.standard_normal(lead + (m, k), dtype=np.float32)
        b = rng.standard_normal(lead + (k, n), dtype=np.float32)
        out = np.empty(lead + (m, n), dtype=np.float32)
        operands = (a, b, out)
        current_key = key
        np.matmul(a, b, out=out)  # first touch and BLAS thread start-up outside the timing
    a, b, out = operands
    np.matmul(a, b, out=out)
    count = 0
    t0 = time.perf_counter()
    while True:
        np.matmul(a, b, out=out)
        count += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            break
    print("%.6f" % (2.0 * m * n * k * batch * count / elapsed / 1e9), flush=True)
