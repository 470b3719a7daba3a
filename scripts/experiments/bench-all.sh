#!/usr/bin/env bash
# Runs every benchmark on 2 threads and 1 thread and keeps their output (table + JSON lines) in
# docs/results/bench/. Run it on an otherwise idle machine: the figures are only as quiet as it is.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=docs/results/bench
mkdir -p "$out"
fast="-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0"
for t in 2 1; do
  ./ttt4j $fast -Dttt4j.threads=$t bench gemm 2>&1 | grep -v '^WARNING' | tee "$out/gemm-threads$t.txt"
  ./ttt4j $fast -Dttt4j.threads=$t bench train --preset bench 2>&1 | grep -v '^WARNING' | grep -v '^  step' | tee "$out/train-threads$t.txt"
done
./ttt4j $fast bench decode --preset small 2>&1 | grep -v '^WARNING' | tee "$out/decode.txt"
mkdir -p docs/results/ttt-layer
./ttt4j $fast bench layer 2>&1 | grep -v '^WARNING' | tee docs/results/ttt-layer/bench-layer.txt
./ttt4j check-torch 2>&1 | grep -v '^WARNING' | tee docs/results/ttt-layer/check-torch.txt
