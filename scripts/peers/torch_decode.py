#!/usr/bin/env python3
"""PyTorch's prefill and decode speed on a Hugging Face Llama folder, for `ttt4j bench infer`.

  torch_decode.py --folder DIR --threads N --weights f32|bf16|q8 --contexts 128,1024 --tokens 32
  torch_decode.py --folder DIR --weights f32 --logits 5,17,3   (the raw logits of the last id)

Prints one JSON object per context: peer, version (torch's), transformers, weights, threads,
context, tokens, prefill_tokens_per_s, decode_tokens_per_s.

The rules are those of ttt4j's bench: transformers' AutoModelForCausalLM on torch.set_num_threads(N)
under torch.inference_mode(); a warm-up first (up to 256 random token ids read, then 64 decoded);
per context a fresh KV cache (past_key_values) reads `context` random token ids (uniform over the
vocabulary, seeded) in one forward pass, then three rounds of `tokens` single-token steps, each a
random id whose logits (the LM head) and argmax are computed; decode tokens/s is the best of the
three rounds. Prefill tokens/s includes the LM head of the last token only (logits_to_keep=1).

Weights: f32 loads the folder in torch.float32; bf16 loads it in torch.bfloat16 (weights and
activations); q8 is torch's dynamic quantization of every nn.Linear, the LM head included
(torch.ao.quantization.quantize_dynamic, qint8 weights with one scale per tensor, activations
quantized per call), of the F32 model; the embedding stays F32. When q8 cannot be had (a torch without torch.ao.quantization), the script exits 3
saying why; without torch or transformers it exits 4.
"""
import argparse
import json
import os
import random
import sys
import time
import warnings


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--folder", required=True, help="Hugging Face Llama folder (config.json, model.safetensors)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--weights", default="f32", choices=["f32", "bf16", "q8"])
    p.add_argument("--contexts", default="128,1024")
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--logits", default=None, help="comma-separated token ids: print the raw logits of the last one instead")
    return p.parse_args()


def main():
    a = parse()
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM
    except ImportError as e:
        print("needs torch and transformers: %s" % e, file=sys.stderr)
        sys.exit(4)

    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")
    transformers.utils.logging.disable_progress_bar()
    dtype = torch.bfloat16 if a.weights == "bf16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(a.folder, dtype=dtype)
    model.eval()
    if a.weights == "q8":
        try:
            from torch.ao.quantization import quantize_dynamic
        except ImportError as e:
            print("q8: torch %s has no torch.ao.quantization.quantize_dynamic (%s)" % (torch.__version__, e), file=sys.stderr)
            sys.exit(3)
        model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    head = {"peer": "torch", "version": torch.__version__, "transformers": transformers.__version__,
            "weights": a.weights, "threads": a.threads}
    vocab = model.config.vocab_size
    limit = model.config.max_position_embeddings

    def read(ids):
        out = model(input_ids=torch.tensor([ids]), use_cache=True, logits_to_keep=1)
        out.logits[0, -1].argmax()
        return out

    def step(past, token):
        out = model(input_ids=torch.tensor([[token]]), past_key_values=past, use_cache=True)
        out.logits[0, -1].argmax()
        return out.past_key_values

    with torch.inference_mode():
        if a.logits is not None:
            ids = [int(s) for s in a.logits.split(",") if s.strip()]
            logits = read(ids).logits[0, -1].float().tolist()
            print(json.dumps(dict(head, ids=ids, logits=logits)))
            return
        rng = random.Random(7)
        n = min(256, limit)
        past = read([rng.randrange(vocab) for _ in range(n)]).past_key_values  # warm-up
        for _ in range(64):
            past = step(past, rng.randrange(vocab))
        for ctx in [int(s) for s in a.contexts.split(",") if s.strip()]:
            if ctx + 3 * a.tokens > limit:
                sys.exit("context %d + 3 x %d tokens exceeds the model's %d" % (ctx, a.tokens, limit))
            ids = [rng.randrange(vocab) for _ in range(ctx)]
            t0 = time.perf_counter()
            past = read(ids).past_key_values
            prefill = ctx / (time.perf_counter() - t0)
            decode = 0.0  # best of three rounds of --tokens
            for _ in range(3):
                t1 = time.perf_counter()
                for _ in range(a.tokens):
                    past = step(past, rng.randrange(vocab))
                decode = max(decode, a.tokens / (time.perf_counter() - t1))
            print(json.dumps(dict(head, context=ctx, tokens=a.tokens, prefill_tokens_per_s=prefill,
                                  decode_tokens_per_s=decode)), flush=True)


if __name__ == "__main__":
    main()
