#!/usr/bin/env bash
# Installs the peers the benchmark commands compare against (Debian packages):
#   python3-torch          PyTorch for `ttt4j bench train` (train_torch.py)
#   libopenblas0-pthread   OpenBLAS: without it Debian's torch uses the reference BLAS
#                          (BLAS_INFO=generic) and runs about 15x slower, an unfair peer
#   python3-numpy          numpy for `ttt4j bench gemm` when the default python3 lacks it
#   gcc                    builds `ttt4j bench small-gemm`'s OpenBLAS peer (a small C program in the jar)
# and, where pip can reach a wheel index, a current PyTorch CPU wheel with transformers for the
# default python3 (the peer `bench train` and `bench infer --peers torch` try first; the benches
# print the version they ran).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update
$SUDO apt-get install -y python3-torch libopenblas0-pthread python3-numpy gcc
/usr/bin/python3 -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'
if command -v python3 >/dev/null && [ "$(command -v python3)" != /usr/bin/python3 ]; then
  python3 -m pip install torch transformers || echo "pip could not install torch: the benches fall back to Debian's python3-torch"
  python3 -c 'import torch; print("python3: torch", torch.__version__)' || true
fi
