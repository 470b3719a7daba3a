#!/usr/bin/env python3
"""Checks a folder written by `ttt4j export --format hf` with Hugging Face transformers.

  scripts/check-hf-export.py MODEL_FOLDER [--ttt4j-model RUN] [--ttt4j ./ttt4j] [--tolerance 1e-4]

1. AutoModelForCausalLM and AutoTokenizer load the folder (from_pretrained).
2. Token ids: for a few texts, transformers' ids equal ttt4j's (`ttt4j tokenizer encode` with the
   folder's own ttt4j tokenizer), and transformers decodes them back to the text.
3. Logits: for each text, the per-token negative log-likelihood that transformers computes from its
   logits equals ttt4j's (`ttt4j score --ids` on the model the folder was exported from, named in
   model.safetensors' metadata unless --ttt4j-model is given), within --tolerance.
Prints one line per check and a JSON summary; exits 1 when anything differs.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Numbers 12345 and 678, don't stop!  Spaces   here.\n\tTabs and newlines.\n\n",
    "public static void main(String[] args) { return value; }",
    "Unicode: naïve café, Größe, 日本語, emoji 🙂 and ünïcödé.",
]


def safetensors_metadata(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)).get("__metadata__", {})


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), p.stderr.strip()))
    return [line for line in p.stdout.splitlines() if not line.startswith("WARNING")]


def ttt4j_tokenizer_spec(folder):
    if os.path.isdir(os.path.join(folder, "tokenizer")):
        return os.path.join(folder, "tokenizer")
    with open(os.path.join(folder, "tokenizer.spec")) as f:
        return f.read().strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--ttt4j-model", help="the ttt4j model to compare with (default: the export's source, from model.safetensors' metadata)")
    ap.add_argument("--ttt4j", default="./ttt4j", help="the ttt4j launcher (default: ./ttt4j)")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |nll difference| (default: 1e-4)")
    a = ap.parse_args()
    source = a.ttt4j_model or safetensors_metadata(os.path.join(a.folder, "model.safetensors")).get("source")
    if not source:
        sys.exit("model.safetensors names no source model: give --ttt4j-model")

    model = AutoModelForCausalLM.from_pretrained(a.folder, dtype=torch.float32)
    model.eval()
    tok = AutoTokenizer.from_pretrained(a.folder)
    print("loaded %s (%s, %d parameters) and %s" % (a.folder, type(model).__name__, sum(p.numel() for p in model.parameters()),
                                                     type(tok).__name__))
    spec = ttt4j_tokenizer_spec(a.folder)
    ok, worst, tokens = True, 0.0, 0
    for text in TEXTS:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
            f.write(text)
        try:
            ours = [int(x) for x in run([a.ttt4j, "tokenizer", "encode", "--tokenizer", spec, "--file", f.name])[0].split()]
        finally:
            os.unlink(f.name)
        theirs = tok.encode(text, add_special_tokens=False)
        same_ids = ours == theirs
        round_trip = tok.decode(theirs) == text
        ok &= same_ids and round_trip
        print("ids %-5s decode %-5s %3d tokens  %r" % ("same" if same_ids else "DIFF", "same" if round_trip else "DIFF", len(theirs), text[:40]))
        if not same_ids:
            print("  ttt4j:        %s\n  transformers: %s" % (ours, theirs))
            continue
        ids = torch.tensor([theirs])
        with torch.no_grad():
            logits = model(ids).logits[0].double()
        hf_nll = torch.nn.functional.cross_entropy(logits[:-1], ids[0, 1:], reduction="none")
        lines = run([a.ttt4j, "score", "--model", source, "--ids", ",".join(map(str, theirs))])
        rows = [json.loads(line) for line in lines if line.startswith("{")]
        ttt4j_nll = torch.tensor([r["nll"] for r in rows[:-1]], dtype=torch.float64)
        diff = (ttt4j_nll - hf_nll).abs().max().item()
        worst, tokens = max(worst, diff), tokens + len(rows) - 1
        ok &= diff <= a.tolerance
        print("  nll: max |ttt4j - transformers| %.3e over %d tokens (mean nll %.4f vs %.4f)" % (diff, len(rows) - 1, rows[-1]["mean_nll"],
                                                                                             hf_nll.mean().item()))
    print(json.dumps({"check": "hf_export", "folder": a.folder, "model_type": model.config.model_type, "texts": len(TEXTS),
                      "scored_tokens": tokens, "max_abs_nll_diff": worst, "tolerance": a.tolerance, "passed": bool(ok),
                      "transformers": __import__("transformers").__version__, "torch": torch.__version__}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
