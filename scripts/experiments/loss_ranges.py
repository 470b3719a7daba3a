#!/usr/bin/env python3
"""Mean loss over token-index ranges from `ttt4j eval` results (loss_by_position.json files).
usage: loss_ranges.py FILE... [--cut 1024]  -> a markdown table: label, mean loss before the cut, from the cut on, all."""
import json, sys

args = sys.argv[1:]
cut = 1024
if "--cut" in args:
    i = args.index("--cut")
    cut = int(args[i + 1])
    del args[i:i + 2]
print(f"| model | tokens 1-{cut - 1} | tokens {cut}-end | all |")
print("|---|---|---|---|")
for f in args:
    for r in json.load(open(f))["results"]:
        def mean(sel):
            b = [x for x in r["buckets"] if sel(x)]
            n = sum(x["tokens"] for x in b)
            return sum(x["mean_loss"] * x["tokens"] for x in b) / n if n else float("nan")
        lo, hi = mean(lambda x: x["to"] <= cut), mean(lambda x: x["from"] >= cut)
        print(f"| {r['label']} | {lo:.3f} | {hi:.3f} | {r['mean_loss']:.3f} |")
