#!/usr/bin/env bash
# Training at the machine's limit (issue #22): the figures of docs/performance.md, one file each
# in OUT. Usage: scripts/experiments/train-limit/run.sh NEW_JAR [OLD_JAR] [OUT]
# With OLD_JAR, three alternating --no-torch runs of each build come first (ab-*.txt).
# Takes about 40 minutes on 2 cores; run nothing else meanwhile.
set -euo pipefail
new="${1:?usage: run.sh NEW_JAR [OLD_JAR] [OUT]}"
old="${2:-}"
out="${3:-docs/results/train}"
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
mkdir -p "$out"
# The launcher's JVM options (./ttt4j), and no bounds checks on vector accesses.
bench() { local jar="$1"; shift; "$java" --add-modules jdk.incubator.vector -XX:+UseParallelGC -Xss16m -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0 -jar "$jar" bench train "$@"; }
if [[ -n "$old" ]]; then
  for i in 1 2 3; do
    bench "$old" --preset bench --no-torch > "$out/ab-arena-old-$i.txt" 2>&1
    bench "$new" --preset bench --no-torch > "$out/ab-arena-new-$i.txt" 2>&1
  done
fi
bench "$new" --preset bench --no-torch --no-arena > "$out/no-arena.txt" 2>&1
bench "$new" --preset bench --profile > "$out/profile-arena.txt" 2>&1
for i in 1 2 3; do bench "$new" --preset bench > "$out/vs-torch-bench-$i.txt" 2>&1; done
bench "$new" --preset small --context 1024 > "$out/vs-torch-small-1024.txt" 2>&1
python3 "$(dirname "$0")/../train-gemm/torch_gemm_shapes.py" > "$out/gemm-shapes-torch.txt" 2>&1 || true
"$java" --add-modules jdk.incubator.vector -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0 -cp "$new" "$(dirname "$0")/../train-gemm/TrainGemmShapes.java" > "$out/gemm-shapes-ttt4j.txt" 2>&1
# Long contexts, one sequence per step: full attention, TTT-E2E (second order), TTT-Linear, TTT-MLP.
for ctx in 2048 8192; do
  steps=(--steps 3 --warmup 1)
  bench "$new" --preset small --context "$ctx" --batch 1 --mixers full --no-torch "${steps[@]}" > "$out/long-full-$ctx.txt" 2>&1
  bench "$new" --preset small --context "$ctx" --batch 1 --e2e --no-torch "${steps[@]}" > "$out/long-e2e-$ctx.txt" 2>&1
  bench "$new" --preset small --context "$ctx" --batch 1 --mixers ttt_linear --no-torch "${steps[@]}" > "$out/long-ttt_linear-$ctx.txt" 2>&1
  bench "$new" --preset small --context "$ctx" --batch 1 --mixers ttt_mlp --no-torch "${steps[@]}" > "$out/long-ttt_mlp-$ctx.txt" 2>&1
done
echo "done: $out"
