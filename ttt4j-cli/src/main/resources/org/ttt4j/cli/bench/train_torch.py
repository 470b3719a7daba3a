"""Reference PyTorch training step for the ttt4j `bench` model (run by `ttt4j bench train`).

The same Llama-style decoder as ttt4j (pre-norm RMSNorm, RoPE half-split, SwiGLU, tied
embeddings), attention written by hand (scores, causal mask, softmax, weighted sum), AdamW with
betas (0.9, 0.95) and weight decay on matrices, global-norm clip 1.0, fp32 on the CPU.
Prints one JSON line: {"tokens_per_s": ..., "step_ms": ...}.
"""
import argparse, json, math, sys, time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--vocab", type=int, default=8192)
p.add_argument("--d", type=int, default=256)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--ff", type=int, default=688)
p.add_argument("--context", type=int, default=512)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


def rms(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def param(*shape, std=0.02):
    return torch.nn.Parameter(torch.randn(*shape) * std)


D, H, T = a.d, a.heads, a.context
dh = D // H
emb = param(a.vocab, D)
layers = []
for _ in range(a.layers):
    layers.append(dict(n1=torch.nn.Parameter(torch.ones(D)), q=param(D, D), k=param(D, D), v=param(D, D), o=param(D, D),
                       n2=torch.nn.Parameter(torch.ones(D)), g=param(a.ff, D), u=param(a.ff, D), dn=param(D, a.ff)))
nf = torch.nn.Parameter(torch.ones(D))
params = [emb, nf] + [t for l in layers for t in l.values()]
decay = [t for t in params if t.dim() >= 2]
no_decay = [t for t in params if t.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
freq = 10000.0 ** (-torch.arange(0, dh // 2, dtype=torch.float32) * 2 / dh)
ang = torch.arange(T, dtype=torch.float32)[:, None] * freq[None, :]
cos, sin = ang.cos(), ang.sin()
mask = torch.ones(T, T, dtype=torch.bool).tril()


def forward(ids):
    B = ids.shape[0]
    h = emb[ids]
    for l in layers:
        x = rms(h, l["n1"])
        q = (x @ l["q"].t()).view(B, T, H, dh).transpose(1, 2)
        k = (x @ l["k"].t()).view(B, T, H, dh).transpose(1, 2)
        v = (x @ l["v"].t()).view(B, T, H, dh).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        s = s.masked_fill(~mask, float("-inf"))
        att = torch.softmax(s, dim=-1) @ v
        h = h + att.transpose(1, 2).reshape(B, T, D) @ l["o"].t()
        x = rms(h, l["n2"])
        h = h + (F.silu(x @ l["g"].t()) * (x @ l["u"].t())) @ l["dn"].t()
    return rms(h, nf) @ emb.t()


g = torch.Generator().manual_seed(1)
times = []
for step in range(a.warmup + a.steps):
    ids = torch.randint(0, a.vocab, (a.batch, T + 1), generator=g)
    t0 = time.perf_counter()
    logits = forward(ids[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    dt = time.perf_counter() - t0
    if step >= a.warmup:
        times.append(dt)
times.sort()
med = times[len(times) // 2]
print(json.dumps({"framework": "torch", "version": torch.__version__, "threads": a.threads,
                  "step_ms": med * 1e3, "tokens_per_s": a.batch * T / med, "loss": float(loss)}))
