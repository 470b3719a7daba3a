#!/usr/bin/env bash
# The ablation ladder of the TTT paper's Table 1 at `small` scale, next to full attention and
# sliding-window attention of the same size, all on the same data, token budget and
# hyper-parameters; then TTT-Linear and TTT-MLP against the attention baselines on held-out long
# files (loss by token index). Results go to docs/results/ttt-ladder/.
#   scripts/experiments/ttt-ladder.sh [STEPS] [RUN ...]   (default 500 steps, every run)
# Runs that already finished are skipped (re-running a finished --out resumes at its end).
# TTT4J overrides the launcher (e.g. a copied jar, so a rebuild cannot disturb a long run).
set -euo pipefail
cd "$(dirname "$0")/../.."
steps="${1:-500}"; shift || true
ttt4j=(${TTT4J:-./ttt4j})
out=docs/results/ttt-ladder
mkdir -p "$out"
declare -A args=(
  [full]="--mixers full"
  [swa]="--mixers swa --window 64"
  [1-linear-attention]="--mixers ttt_linear --ttt-inner-norm false --ttt-mini-batch 256 --ttt-learnable-lr false"
  [2-ln-residual]="--mixers ttt_linear --ttt-mini-batch 256 --ttt-learnable-lr false"
  [3-mini-batch-16]="--mixers ttt_linear --ttt-mini-batch 16 --ttt-learnable-lr false"
  [4-learnable-eta]="--mixers ttt_linear --ttt-mini-batch 16"
  [5-mamba-backbone]="--mixers ttt_linear --ttt-mini-batch 16 --ttt-backbone mamba"
  [ttt-mlp]="--mixers ttt_mlp --ttt-mini-batch 16"
)
order=(full swa 1-linear-attention 2-ln-residual 3-mini-batch-16 4-learnable-eta 5-mamba-backbone ttt-mlp)
[ $# -gt 0 ] && order=("$@")
for name in "${order[@]}"; do
  [ -n "${args[$name]:-}" ] || { echo "unknown run $name (known: ${!args[*]})" >&2; exit 1; }
  # shellcheck disable=SC2086
  "${ttt4j[@]}" train --preset small ${args[$name]} --steps "$steps" --out "runs/ladder-$name" 2>&1 | grep -v '^WARNING' \
    | tail -3
done
{
  echo "| run | mixer flags | validation loss |"
  echo "|---|---|---|"
  for name in full swa 1-linear-attention 2-ln-residual 3-mini-batch-16 4-learnable-eta 5-mamba-backbone ttt-mlp; do
    f="runs/ladder-$name/metrics.jsonl"
    [ -f "$f" ] || continue
    loss=$(grep '"val_loss"' "$f" | tail -1 | sed 's/.*"val_loss":\([0-9.]*\).*/\1/')
    echo "| $name | \`${args[$name]}\` | ${loss:0:6} |"
  done
} | tee "$out/ladder.md"
"${ttt4j[@]}" plot runs/ladder-full runs/ladder-swa runs/ladder-1-linear-attention runs/ladder-2-ln-residual runs/ladder-3-mini-batch-16 \
  runs/ladder-4-learnable-eta runs/ladder-5-mamba-backbone runs/ladder-ttt-mlp --out "$out/training_loss.png" 2>&1 | grep -v '^WARNING' || true
# Loss by token index on the 16 longest held-out files: TTT-Linear (rung 4) and TTT-MLP against the baselines.
if [ -d runs/ladder-4-learnable-eta ] && [ -d runs/ladder-ttt-mlp ] && [ -d runs/ladder-full ] && [ -d runs/ladder-swa ]; then
  "${ttt4j[@]}" eval --model runs/ladder-4-learnable-eta --model runs/ladder-ttt-mlp --model runs/ladder-full \
    --model runs/ladder-swa --label ttt-linear --label ttt-mlp --label full --label swa-64 \
    --docs 16 --min-tokens 2048 --doc-tokens 4096 --out "$out" 2>&1 | grep -v '^WARNING' | tee "$out/eval.txt"
fi
