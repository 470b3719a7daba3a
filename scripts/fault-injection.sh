#!/usr/bin/env bash
# Fault injection: corrupt and odd files, concurrent writers, kill -9, against the real command line.
# Each probe states what ttt4j promises (docs/language-models.md, "What survives a crash, a full
# disk or a bad file") and checks it; the last line is "N passed, N failed" (exit 1 if any failed).
#   scripts/fault-injection.sh            (about 2 minutes on 2 cores; needs python3 for byte edits)
set -uo pipefail
cd "$(dirname "$0")/.."
./ttt4j --help > /dev/null 2>&1 || { echo "ttt4j does not build or run: ./ttt4j --help" >&2; exit 2; }
t4=(./ttt4j -Dttt4j.threads=1)
work=$(mktemp -d /tmp/ttt4j-faults.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS  $1"; }
fail() { failed=$((failed + 1)); echo "FAIL  $1: $2"; }
# expect_error NAME WORDS -- COMMAND...: the command exits non-zero within 60 s and its output contains WORDS
expect_error() {
  local name=$1 words=$2; shift 3
  local out code
  out=$(timeout 60 "$@" 2>&1); code=$?
  if [ $code -eq 124 ]; then fail "$name" "hung (killed after 60 s)"
  elif [ $code -eq 0 ]; then fail "$name" "exit 0; expected an error containing '$words'"
  elif ! grep -qF -- "$words" <<< "$out"; then fail "$name" "exit $code without '$words': $(grep -v WARNING <<< "$out" | tail -2)"
  else pass "$name"; fi
}
expect_ok() {
  local name=$1; shift 2
  local out code
  out=$(timeout 120 "$@" 2>&1); code=$?
  if [ $code -eq 0 ]; then pass "$name"; else fail "$name" "exit $code: $(grep -v WARNING <<< "$out" | tail -2)"; fi
}
poke() { # FILE TENSOR INDEX VALUE: overwrite one F32 element of a safetensors file
  python3 - "$@" <<'PY'
import json, struct, sys
f, name, index, value = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with open(f, "r+b") as fh:
    n = struct.unpack("<Q", fh.read(8))[0]
    header = json.loads(fh.read(n))
    fh.seek(8 + n + header[name]["data_offsets"][0] + 4 * index)
    fh.write(struct.pack("<f", value))
PY
}

# A small corpus and a trained run with three checkpoints.
mkdir -p "$work/corpus"
for i in $(seq 1 12); do
  for j in $(seq 1 300); do echo "public int value$((j % 17)) = compute($i, $j); // line $j of file $i"; done > "$work/corpus/f$i.java"
done
train=(train --preset tiny --tokenizer bytes --corpus "$work/corpus" --batch 2 --context 32 --checkpoint-every 10
       --eval-every 10 --eval-batches 1 --log-every 10)
"${t4[@]}" "${train[@]}" --steps 30 --out "$work/run" > "$work/run.log" 2>&1 || { echo "the base run failed: $(tail -3 "$work/run.log")"; exit 2; }
good="$work/run/checkpoints/step-00000030"
probe() { rm -rf "$work/p"; mkdir -p "$work/p/checkpoints"; cp -r "$good" "$work/p/checkpoints/"; echo "$work/p/checkpoints/step-00000030"; }
gen=(generate --max-tokens 4 --temperature 0)

# Bad files: each refused with the file (and the tensor or field) named, never a NaN answer with exit 0.
c=$(probe); truncate -s 1000 "$c/model.safetensors"
expect_error "truncated weights" "model.safetensors" -- "${t4[@]}" "${gen[@]}" --model "$c" abc
c=$(probe); poke "$c/model.safetensors" model.norm.weight 3 nan
expect_error "NaN in the weights" "NaN at flat index 3" -- "${t4[@]}" "${gen[@]}" --model "$c" abc
c=$(probe); poke "$c/model.safetensors" model.embed_tokens.weight 10 inf
expect_error "Inf in the weights (eval)" "Infinity at flat index 10" -- "${t4[@]}" eval --model "$c" --corpus "$work/corpus" --docs 1
c=$(probe); poke "$c/model.safetensors" model.norm.weight 0 1e30
expect_error "absurd weight magnitude" "plausibly" -- "${t4[@]}" "${gen[@]}" --model "$c" abc
c=$(probe); echo '{"vocab_size": 257, "d_model": ' > "$c/config.json"
expect_error "truncated config" "config.json" -- "${t4[@]}" "${gen[@]}" --model "$c" abc
c=$(probe); python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d['d_model']=None; json.dump(d, open(p,'w'))" "$c/config.json"
expect_error "null config field" "field 'd_model'" -- "${t4[@]}" "${gen[@]}" --model "$c" abc
c=$(probe); python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d['d_model']=None; json.dump(d, open(p,'w'))" "$c/config.json"
expect_error "inspect validates the config" "field 'd_model'" -- "${t4[@]}" inspect --model "$c"
c=$(probe); rm "$c/trainer.json"
expect_error "no tokenizer named" "names no tokenizer" -- "${t4[@]}" "${gen[@]}" --model "$c" abc
c=$(probe); truncate -s 100 "$c/optimizer.safetensors"
expect_ok "damaged optimizer, intact weights: generate works" -- "${t4[@]}" "${gen[@]}" --model "$c" abc
c=$(probe); rm "$c/model.safetensors"; mkfifo "$c/model.safetensors"
expect_error "a FIFO as the weights" "is not a regular file" -- "${t4[@]}" "${gen[@]}" --model "$c" abc
c=$(probe); rm "$c/model.safetensors"; mkdir "$c/model.safetensors"
expect_error "a directory as the weights" "is a directory" -- "${t4[@]}" "${gen[@]}" --model "$c" abc
printf 'caf\xe9 au lait' > "$work/latin1.txt"
expect_error "a prompt that is not UTF-8" "is not UTF-8 text" -- "${t4[@]}" "${gen[@]}" --model "$good" --prompt-file "$work/latin1.txt"
expect_error "temperature NaN" "temperature must be a finite number" -- "${t4[@]}" generate --model "$good" --temperature NaN abc
expect_error "inner lr out of bounds" "[0, 1e6)" -- "${t4[@]}" train --preset tiny --tokenizer bytes --corpus "$work/corpus" \
  --mixers swa --window 16 --e2e --e2e-inner-lr 5e6 --steps 1 --out "$work/lr"

# A resume passes over a damaged newest checkpoint.
rm -rf "$work/r"; cp -r "$work/run" "$work/r"; rm -rf "$work/r/checkpoints/step-00000030"
poke "$work/r/checkpoints/step-00000020/model.safetensors" model.norm.weight 1 nan
out=$("${t4[@]}" "${train[@]}" --steps 40 --out "$work/r" 2>&1)
if grep -q "step-00000020 is damaged" <<< "$out" && grep -q "resuming from .*step-00000010 at step 10" <<< "$out"; then
  pass "resume passes over a damaged newest checkpoint"
else fail "resume passes over a damaged newest checkpoint" "$(grep -v WARNING <<< "$out" | head -3)"; fi

# One writer per folder: of two trains started together on one folder, one is refused and the other finishes whole.
rm -rf "$work/two"
"${t4[@]}" "${train[@]}" --steps 300 --out "$work/two" > "$work/two-a.log" 2>&1 & a=$!
"${t4[@]}" "${train[@]}" --steps 300 --out "$work/two" > "$work/two-b.log" 2>&1 & b=$!
wait $a; ca=$?; wait $b; cb=$?
refused=$(grep -l "is in use by another ttt4j process" "$work/two-a.log" "$work/two-b.log" | wc -l)
lines=$(grep -c '"loss"' "$work/two/metrics.jsonl" 2>/dev/null || echo 0)
if [ $((ca == 0 ? 1 : 0)) -ne $((cb == 0 ? 1 : 0)) ] && [ "$refused" -eq 1 ] && [ "$lines" -eq 300 ]; then
  pass "two writers on one run folder: one refused, the other whole"
else fail "two writers on one run folder" "exit codes $ca and $cb, $refused refused, $lines loss lines (expected 300)"; fi

# kill -9 mid-run, then the same command: the losses of an uninterrupted run, and the same checkpoint bytes.
rm -rf "$work/k"
"${t4[@]}" "${train[@]}" --steps 300 --out "$work/k" > "$work/k.log" 2>&1 & k=$!
while [ ! -d "$work/k/checkpoints/step-00000010" ] && kill -0 $k 2> /dev/null; do sleep 0.2; done
sleep 1; kill -9 $k 2> /dev/null; wait $k 2> /dev/null
"${t4[@]}" "${train[@]}" --steps 300 --out "$work/k" > "$work/k2.log" 2>&1
"${t4[@]}" "${train[@]}" --steps 300 --out "$work/u" > "$work/u.log" 2>&1 # the same run, never interrupted
losses() { grep '"loss"' "$1" | sed 's/,"tokens_per_s".*//'; } # step, loss, lr, grad_norm (not the timing)
if grep -q "resuming from" "$work/k2.log" && diff <(losses "$work/u/metrics.jsonl") <(losses "$work/k/metrics.jsonl") > /dev/null; then
  pass "kill -9 then resume: the uninterrupted losses"
else fail "kill -9 then resume" "metrics differ from the uninterrupted run's: $(tail -1 "$work/k2.log")"; fi
same=1
for f in model.safetensors optimizer.safetensors config.json trainer.json; do
  cmp -s "$work/u/checkpoints/step-00000300/$f" "$work/k/checkpoints/step-00000300/$f" || same=0
done
if [ $same -eq 1 ]; then pass "same inputs, same checkpoint bytes (an interrupted and an uninterrupted run)"; else fail "checkpoint bytes" "differ"; fi

# An export that fails leaves nothing that blocks the next one.
mkdir -p "$work/ro-parent"; touch "$work/ro-parent/model"   # a file where the export's folder should go
expect_error "export onto a file" "model" -- "${t4[@]}" export --model "$work/run" --out "$work/ro-parent/model"
rm "$work/ro-parent/model"
expect_ok "the next export succeeds" -- "${t4[@]}" export --model "$work/run" --out "$work/ro-parent/model"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
