#!/usr/bin/env bash
# qTTT on the key-value retrieval task: a full-attention model and a TTT-E2E model of the same
# config trained on short retrieval logs, then evaluated over growing contexts in context, with
# qTTT, and with qTTT's compute spent on generated tokens; the needle's attention mass per layer;
# adaptation cost against prefill; an lr sweep. Results go to docs/results/qttt/.
#   scripts/experiments/qttt.sh [STEPS]      (default 3000 training steps of 64 x 64 bytes)
# Finished runs are skipped (re-running a finished --out resumes at its end).
# TTT4J overrides the launcher (e.g. a copied jar, so a rebuild cannot disturb a long run).
set -euo pipefail
cd "$(dirname "$0")/../.."
steps="${1:-3000}"
ttt4j=(${TTT4J:-./ttt4j})
out=docs/results/qttt
mkdir -p "$out"
[ -f runs/kv-retrieval.zip ] || "${ttt4j[@]}" retrieval data --out runs/kv-retrieval.zip --docs 20000 --bytes 256
common=(--config scripts/experiments/qttt/retrieval-model.json --corpus runs/kv-retrieval.zip --tokenizer bytes --context 64 --batch 64
  --steps "$steps" --lr 1e-3 --warmup 100 --eval-every 500)
"${ttt4j[@]}" train "${common[@]}" --out runs/kv-full 2>&1 | grep -v '^WARNING' | tail -1
"${ttt4j[@]}" train "${common[@]}" --mixers swa --window 32 --e2e --e2e-chunk 16 --out runs/kv-e2e 2>&1 | grep -v '^WARNING' | tail -1
eval=(--contexts 64,128,256,512,1024 --probes 16 --qttt-steps 16 --qttt-span 32 --qttt-lr 1e-3)
"${ttt4j[@]}" retrieval eval --model runs/kv-full --label "full attention" "${eval[@]}" \
  --sweep-lrs 1e-4,3e-4,1e-3,3e-3,1e-2,3e-2,1e-1 --sweep-context 64 --out "$out/full" 2>&1 | grep -v '^WARNING' | tail -40
# The published TTT-E2E run was stopped (SIGTERM, which saves a checkpoint) at step 615 of 3,000 for lack of time.
"${ttt4j[@]}" retrieval eval --model runs/kv-e2e --label "TTT-E2E (615 steps)" "${eval[@]}" --out "$out/e2e" 2>&1 \
  | grep -v '^WARNING' | tail -30
