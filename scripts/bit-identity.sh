#!/usr/bin/env bash
# Same seeds, same bits: trains a few short runs of every method on a fixed corpus, scores them,
# generates from them (plain, qTTT, a saved TTT-E2E session) and prints one "name sha256" line per
# result: losses, weights, optimizer state, scores, generated text, state files.
# Run it on two builds and diff the outputs:
#   scripts/bit-identity.sh path/to/ttt4j.jar > before.txt   (old build)
#   scripts/bit-identity.sh path/to/ttt4j.jar > after.txt    (new build)
#   diff before.txt after.txt
# The corpus is the engine's sources at a fixed commit (so edits to the tree do not move it).
# Takes about 3 minutes on 2 cores. Builds with --weights also hash bf16 and q8 decoding and scoring.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${1:?usage: scripts/bit-identity.sh JAR [WORK_DIR]}"
work="${2:-$(mktemp -d)}"
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
run() { "$java" --add-modules=jdk.incubator.vector -Dttt4j.threads=2 -jar "$jar" "$@" 2>/dev/null; }

mkdir -p "$work/corpus"
git -C "$root" archive 85b2e2f ttt4j-core/src/main | tar -x -C "$work/corpus"

# Spellings that changed (issue #18), so that an older build runs the same commands: the option
# naming a model or run folder (--model, before: --checkpoint), eval's tokens per document
# (--doc-tokens, before: --max-tokens), and the whole corpus for tiny runs (newer builds sample it).
model_opt=--model
run generate --help | grep -q -- '--model' || model_opt=--checkpoint
doc_tokens=--doc-tokens
run eval --help | grep -q -- '--doc-tokens' || doc_tokens=--max-tokens
whole=()
run train --help | grep -q -- '--corpus-sample' && whole=(--corpus-sample all)

common=(--preset tiny "${whole[@]}" --tokenizer bpe:512 --corpus "$work/corpus" --steps 6 --batch 2 --context 64
        --eval-every 3 --eval-batches 1 --checkpoint-every 3 --log-every 1 --seed 7)
declare -A mixers=([full]="--mixers full" [hybrid]="--mixers swa:1,full:1 --window 16"
                   [ttt-linear]="--mixers ttt_linear --ttt-mini-batch 8"
                   [ttt-mlp]="--mixers ttt_mlp --ttt-mini-batch 8 --ttt-backbone mamba"
                   [e2e]="--mixers swa --window 32 --e2e")

hash() { sha256sum | cut -c1-16; }
for name in full hybrid ttt-linear ttt-mlp e2e; do
  out="$work/$name"
  # shellcheck disable=SC2086
  run train "${common[@]}" ${mixers[$name]} --out "$out" >/dev/null
  last="$(ls -d "$out"/checkpoints/step-* | tail -1)"
  echo "$name.losses $(grep -o '"\(loss\|val_loss\|grad_norm\)":[^,}]*' "$out/metrics.jsonl" | hash)"
  echo "$name.weights $(hash < "$last/model.safetensors")"
  echo "$name.optimizer $(hash < "$last/optimizer.safetensors")"
  echo "$name.generate $(run generate "$model_opt" "$out" --max-tokens 24 --temperature 0.8 --seed 3 'public static' | hash)"
  run eval "$model_opt" "$out" --corpus "$work/corpus" --docs 2 --min-tokens 64 "$doc_tokens" 128 \
      --out "$work/eval-$name" >/dev/null
  echo "$name.scores $(find "$work/eval-$name" -name '*.json*' -type f | sort | xargs grep -ho '"mean_loss" : [^,}]*' | hash)"
done
echo "full.qttt $(run generate "$model_opt" "$work/full" --qttt --qttt-steps 3 --qttt-span 16 --max-tokens 16 --temperature 0 'int x = ' | hash)"
run generate "$model_opt" "$work/e2e" --max-tokens 8 --temperature 0 --save-state "$work/e2e.state" 'class A {' >/dev/null
echo "e2e.state $(find "$work/e2e.state" -type f | sort | xargs cat | hash)"
echo "e2e.resumed $(run generate "$model_opt" "$work/e2e" --max-tokens 8 --temperature 0 --load-state "$work/e2e.state" ' int y' | hash)"
# Weight formats (issue #20): each format decodes and scores the same bits run after run.
if run generate --help | grep -q -- '--weights'; then
  for f in bf16 q8; do
    echo "full.generate.$f $(run generate "$model_opt" "$work/full" --weights "$f" --max-tokens 24 --temperature 0.8 --seed 3 'public static' | hash)"
    echo "e2e.generate.$f $(run generate "$model_opt" "$work/e2e" --weights "$f" --max-tokens 24 --temperature 0.8 --seed 3 'class A {' | hash)"
    echo "full.score.$f $(run score "$model_opt" "$work/full" --weights "$f" --file "$work/corpus/ttt4j-core/src/main/java/org/ttt4j/core/kernel/Gemm.java" --max-tokens 200 | grep -v mean_nll | hash)"  # the summary names the folder
  done
fi
