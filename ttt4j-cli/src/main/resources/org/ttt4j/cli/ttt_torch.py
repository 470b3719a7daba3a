#!/usr/bin/env python3
"""An independent PyTorch forward pass of a ttt4j TTT model, written from docs/methods.md, section 2
with the PyTorch TTT reference's conventions (not its code): Linear weights [out, in] applied as
x W^T, depthwise Conv1d with padding width-1 cut to the input length, RoPE by the reference's
route (permute q/k to the half-split layout, rotate_half, permute back) with positions t mod b,
eta = clamp(1/i + learnable_token_idx, 0) * base_lr * sigmoid(x . w + b) / d, the dual form per
mini-batch (a shorter final mini-batch uses the first entries of the token-index scale).

Usage: ttt_torch.py CASE_DIR   (config.json, model.safetensors, io.safetensors with tokens and
ttt4j's logits). Prints one JSON line: the largest absolute difference of the logits.

       ttt_torch.py --write-reference CASE_DIR
writes torch's logits for the tokens of io.safetensors to CASE_DIR/reference.safetensors ("tokens"
[B, T] and "logits" [B, T, V], both F32): the expected values of ttt4j's test fixtures, which then
need neither torch nor ttt4j's own logits. Prints the same JSON line as above (the difference only
if io.safetensors also holds ttt4j's logits).

       ttt_torch.py --bench-kernel linear|mlp --heads H --d D --hidden N --context T --mini-batch B
                    --repeats R --threads K
times dual_form alone in fp32 on random inputs of those shapes (the peer of `ttt4j bench layer`'s
fused-kernel rows) and prints one JSON line with the median ms of R runs after one warm-up run.
"""
import argparse
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + start:8 + n + end], dtype="<f4").copy()
        out[name] = torch.from_numpy(arr).to(torch.float64).reshape(info["shape"])
    return out


def write_safetensors(path, tensors, metadata):
    """tensors: name -> torch tensor, stored as little-endian F32 in the given order."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        blob = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rope(x, positions, theta):
    """The reference's route to interleaved pairs: permute, half-split rotation, permute back."""
    bsz, heads, t, d = x.shape
    x = x.reshape(bsz, heads, t, d // 2, 2).transpose(3, 4).reshape(bsz, heads, t, d)
    inv = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    angle = positions[:, None].to(torch.float64) * inv[None, :]
    emb = torch.cat((angle, angle), -1)
    half1, half2 = x.chunk(2, -1)
    x = x * emb.cos() + torch.cat((-half2, half1), -1) * emb.sin()
    return x.reshape(bsz, heads, t, 2, d // 2).transpose(3, 4).reshape(bsz, heads, t, d)


def causal_conv(x, weight, bias):
    t = x.shape[1]
    y = F.conv1d(x.transpose(1, 2), weight, bias, padding=weight.shape[-1] - 1, groups=x.shape[-1])
    return y[..., :t].transpose(1, 2)


def ln_l2_grad(z, target, w, b, eps):
    d = z.shape[-1]
    mu = z.mean(-1, keepdim=True)
    std = torch.sqrt(z.var(-1, keepdim=True, unbiased=False) + eps)
    xh = (z - mu) / std
    gx = (w * xh + b - target) * w
    return (d * gx - gx.sum(-1, keepdim=True) - xh * (gx * xh).sum(-1, keepdim=True)) / (d * std)


def gelu_grad(x):
    th = torch.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + th) + 0.5 * x * (1 - th ** 2) * 0.7978845608028654 * (1 + 3 * 0.044715 * x ** 2)


def dual_form(q, k, v, token_scale, rate, state, lnw, lnb, mlp, bmini):
    """The inner loop over mini-batches of bmini tokens, q, k, v [B, H, T, d]: the outputs q + LN(Zbar)
    [B, H, T, d]; the state dict (W1, b1 and for TTT-MLP W2, b2) ends at the final weights."""
    t = q.shape[2]
    outs = []
    for start in range(0, t, bmini):
        size = min(bmini, t - start)
        qm, km, vm = q[:, :, start:start + size], k[:, :, start:start + size], v[:, :, start:start + size]
        eta = token_scale[:size][:, None] * rate[:, :, None, start:start + size]  # eta[i, j] = s_i c_j
        eta = torch.tril(eta)
        last = eta[:, :, -1, :, None]
        if not mlp:
            w1, b1 = state["W1"], state["b1"]
            z1 = km @ w1 + b1
            g1 = ln_l2_grad(z1, vm - km, lnw, lnb, 1e-6)
            zbar = qm @ w1 - (eta * torch.tril(qm @ km.transpose(-1, -2))) @ g1 + b1 - eta @ g1
            state["W1"] = w1 - (last * km).transpose(-1, -2) @ g1
            state["b1"] = b1 - (last * g1).sum(-2, keepdim=True)
        else:
            w1, b1, w2, b2 = state["W1"], state["b1"], state["W2"], state["b2"]
            z1 = km @ w1 + b1
            x2 = F.gelu(z1, approximate="tanh")
            z2 = x2 @ w2 + b2
            g2 = ln_l2_grad(z2, vm - km, lnw, lnb, 1e-6)
            g1 = (g2 @ w2.transpose(-1, -2)) * gelu_grad(z1)
            z1bar = qm @ w1 - (eta * torch.tril(qm @ km.transpose(-1, -2))) @ g1 + b1 - eta @ g1
            x2bar = F.gelu(z1bar, approximate="tanh")
            zbar = x2bar @ w2 - (eta * torch.tril(x2bar @ x2.transpose(-1, -2))) @ g2 + b2 - eta @ g2
            state["W1"] = w1 - (last * km).transpose(-1, -2) @ g1
            state["b1"] = b1 - (last * g1).sum(-2, keepdim=True)
            state["W2"] = w2 - (last * x2).transpose(-1, -2) @ g2
            state["b2"] = b2 - (last * g2).sum(-2, keepdim=True)
        outs.append(qm + layer_norm(zbar, lnw, lnb, 1e-6))
    return torch.cat(outs, 2)


def flag(cfg, name):
    """An architecture flag of the reference's TTTConfig (use_gate, share_qk, pre_conv); older cases give only "mamba" (all three)."""
    return cfg[name] if name in cfg else cfg["mamba"]


def ttt_layer(p, x, cfg, mlp):
    bsz, t, width = x.shape
    heads, bmini = cfg["heads"], cfg["mini_batch"]
    d = width // heads
    if flag(cfg, "share_qk"):
        xqk = x @ p["q_proj.weight"].T
        xq = causal_conv(xqk, p["conv_q.weight"], p["conv_q.bias"])
        xk = causal_conv(xqk, p["conv_k.weight"], p["conv_k.bias"])
    else:
        xq, xk = x @ p["q_proj.weight"].T, x @ p["k_proj.weight"].T
    xv = x @ p["v_proj.weight"].T

    def split(a):
        return a.reshape(bsz, t, heads, d).transpose(1, 2)

    positions = torch.arange(t) % bmini
    q, k, v = rope(split(xq), positions, cfg["rope_theta"]), rope(split(xk), positions, cfg["rope_theta"]), split(xv)
    gate = torch.sigmoid(torch.einsum("btc,hc->bht", x, p["learnable_ttt_lr_weight"][:, 0, :]) + p["learnable_ttt_lr_bias"][:, 0][None, :, None])
    rate = cfg["base_lr"] * gate / d                                             # [B, H, T]
    token_scale = torch.clamp_min(1.0 / torch.arange(1, bmini + 1, dtype=torch.float64) + p["learnable_token_idx"], 0.0)
    lnw, lnb = p["ttt_norm_weight"][None, :, None, :], p["ttt_norm_bias"][None, :, None, :]
    names = ["W1", "b1", "W2", "b2"] if mlp else ["W1", "b1"]
    state = {n: p[n][None].expand(bsz, *p[n].shape).clone() for n in names}
    out = dual_form(q, k, v, token_scale, rate, state, lnw, lnb, mlp, bmini)
    y = out.transpose(1, 2).reshape(bsz, t, width)
    y = layer_norm(y, p["post_norm.weight"], p["post_norm.bias"], 1e-6)
    if flag(cfg, "use_gate"):
        y = F.gelu(x @ p["g_proj.weight"].T, approximate="tanh") * y
    return y @ p["o_proj.weight"].T


def bench_kernel(argv):
    ap = argparse.ArgumentParser()
    for name in ("--heads", "--d", "--hidden", "--context", "--mini-batch", "--repeats", "--threads"):
        ap.add_argument(name, type=int, required=True)
    ap.add_argument("--bench-kernel", choices=["linear", "mlp"], required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(5)
    mlp = a.bench_kernel == "mlp"

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=gen, dtype=torch.float32) * std

    q, k, v = (randn(1, a.heads, a.context, a.d) for _ in range(3))
    token_scale = 1.0 / torch.arange(1, a.mini_batch + 1, dtype=torch.float32)
    rate = torch.full((1, a.heads, a.context), 1.0 / a.d)
    lnw, lnb = torch.ones(1, a.heads, 1, a.d), torch.zeros(1, a.heads, 1, a.d)
    widths = [a.d, a.hidden, a.d] if mlp else [a.d, a.d]
    start = {}
    for i in range(len(widths) - 1):
        start["W%d" % (i + 1)] = randn(1, a.heads, widths[i], widths[i + 1], std=0.02)
        start["b%d" % (i + 1)] = torch.zeros(1, a.heads, 1, widths[i + 1])
    times = []
    with torch.no_grad():
        for r in range(a.repeats + 1):
            state = {n: w.clone() for n, w in start.items()}
            t0 = time.perf_counter()
            dual_form(q, k, v, token_scale, rate, state, lnw, lnb, mlp, a.mini_batch)
            if r > 0:  # the first run warms up
                times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"ms": sorted(times)[len(times) // 2], "torch": torch.__version__, "threads": torch.get_num_threads()}))


def forward(case):
    """The case's config, its tokens [B, T] (float64 holding integers), torch's logits [B, T, V] and io.safetensors' tensors."""
    cfg = json.load(open(case + "/config.json"))
    w = read_safetensors(case + "/model.safetensors")
    io = read_safetensors(case + "/io.safetensors")
    tokens = io["tokens"].long()
    eps = cfg["norm_eps"]
    h = w["model.embed_tokens.weight"][tokens]
    for i in range(cfg["layers"]):
        pre = "model.layers.%d." % i
        if flag(cfg, "pre_conv"):
            h = h + causal_conv(rms_norm(h, w[pre + "conv.norm.weight"], eps), w[pre + "conv.conv.weight"], w[pre + "conv.conv.bias"])
        block = {k[len(pre + "seq_modeling_block."):]: v for k, v in w.items() if k.startswith(pre + "seq_modeling_block.")}
        h = h + ttt_layer(block, rms_norm(h, w[pre + "seq_norm.weight"], eps), cfg, cfg["mlp"])
        m = rms_norm(h, w[pre + "ffn_norm.weight"], eps)
        mlp = F.silu(m @ w[pre + "mlp.gate_proj.weight"].T) * (m @ w[pre + "mlp.up_proj.weight"].T)
        h = h + mlp @ w[pre + "mlp.down_proj.weight"].T
    logits = rms_norm(h, w["model.norm.weight"], eps) @ w["model.embed_tokens.weight"].T
    return cfg, io["tokens"], logits, io


def main():
    if len(sys.argv) > 1 and sys.argv[1].startswith("--bench-kernel"):
        bench_kernel(sys.argv[1:])
        return
    write = len(sys.argv) == 3 and sys.argv[1] == "--write-reference"
    if not write and len(sys.argv) != 2:
        sys.exit("usage: ttt_torch.py CASE_DIR | --write-reference CASE_DIR | --bench-kernel ... (see the docstring)")
    case = sys.argv[-1]
    cfg, tokens, logits, io = forward(case)
    report = {"case": cfg["case"]}
    if write:
        write_safetensors(case + "/reference.safetensors", {"tokens": tokens, "logits": logits},
                          {"case": cfg["case"], "producer": "ttt_torch.py --write-reference", "torch": torch.__version__,
                           "computed_in": "float64, stored as float32"})
        report["reference"] = case + "/reference.safetensors"
    if "logits" in io:
        ours = io["logits"]
        report["max_abs_diff"] = float((logits - ours).abs().max())
        report["max_abs_logit"] = float(ours.abs().max())
    elif not write:
        sys.exit(case + "/io.safetensors holds no \"logits\" to compare with")
    report["torch"] = torch.__version__
    print(json.dumps(report))


if __name__ == "__main__":
    main()
