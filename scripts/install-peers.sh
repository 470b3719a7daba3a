#!/usr/bin/env bash
# Installs the peers the benchmark commands compare against (Debian packages):
#   python3-torch          PyTorch for `ttt4j bench train` (train_torch.py)
#   libopenblas0-pthread   OpenBLAS: without it Debian's torch uses the reference BLAS
#                          (BLAS_INFO=generic) and runs about 15x slower, an unfair peer
#   python3-numpy          numpy for `ttt4j bench gemm` when the default python3 lacks it
#   gcc                    builds `ttt4j bench small-gemm`'s OpenBLAS peer (a small C program in the jar)
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update
$SUDO apt-get install -y python3-torch libopenblas0-pthread python3-numpy gcc
/usr/bin/python3 -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'
