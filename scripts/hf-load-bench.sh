#!/usr/bin/env bash
# Opening a 1 GB BF16 Hugging Face folder: writes one (a Llama-style model of 0.5B random
# parameters, saved by transformers in bfloat16) into $TTT4J_CACHE/hf-bench-1gb once, then runs
# `ttt4j bench load` on it and reports the JVM's peak resident memory.
#   scripts/hf-load-bench.sh        (needs python3 with torch and transformers; about 3 minutes)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${TTT4J_CACHE:-$HOME/.cache/ttt4j}/hf-bench-1gb"
if [ ! -f "$dir/config.json" ]; then
  python3 - "$dir" <<'PY'
import sys, torch
from transformers import LlamaConfig, AutoModelForCausalLM
torch.manual_seed(0)
config = LlamaConfig(vocab_size=32000, hidden_size=1536, intermediate_size=4096, num_hidden_layers=18,
                     num_attention_heads=12, num_key_value_heads=4, tie_word_embeddings=True, max_position_embeddings=4096)
model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
model.save_pretrained(sys.argv[1], safe_serialization=True, max_shard_size="400MB")
print("parameters", sum(p.numel() for p in model.parameters()))
PY
fi
/usr/bin/time -f "peak resident memory: %M KB" "$root/ttt4j" -Xmx6g bench load --model "$dir"
