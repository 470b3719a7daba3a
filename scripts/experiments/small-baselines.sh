#!/usr/bin/env bash
# Trains the `small` preset three ways on the JDK sources (full attention, sliding window,
# hybrid 5 SWA : 1 full), then compares them on held-out files: loss by token index, training
# curves, and a generated sample each. Results go to docs/results/small-baselines/.
#   scripts/experiments/small-baselines.sh [STEPS]      (default 2000 steps per model)
set -euo pipefail
cd "$(dirname "$0")/../.."
steps="${1:-2000}"
out=docs/results/small-baselines
mkdir -p "$out"
./ttt4j train --preset small --mixers full --steps "$steps" --out runs/small-full
./ttt4j train --preset small --mixers swa --window 64 --steps "$steps" --out runs/small-swa
./ttt4j train --preset small --mixers swa:5,full:1 --window 64 --steps "$steps" --out runs/small-hybrid
./ttt4j plot runs/small-full runs/small-swa runs/small-hybrid --out "$out/training_loss.png"
./ttt4j eval --model runs/small-full --model runs/small-swa --model runs/small-hybrid \
  --label full --label swa-64 --label hybrid-5:1 --docs 16 --min-tokens 2048 --doc-tokens 4096 --out "$out" | tee "$out/eval.txt"
for m in full swa hybrid; do
  ./ttt4j generate --model "runs/small-$m" --max-tokens 100 --temperature 0.7 --seed 1 \
    "public static int max(int a, int b) {" 2>&1 | grep -v "^WARNING" > "$out/sample-$m.txt"
done
echo "results in $out"
