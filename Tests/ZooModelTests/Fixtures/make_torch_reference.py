#!/usr/bin/env python3
"""Writes the PyTorch reference that ZooModelTests compares the Swift model with.

Usage (from the package root, with ../shared beside it and torch installed):
    python3 Tests/ZooModelTests/Fixtures/make_torch_reference.py ../shared/bench/torch_ref.py Tests/ZooModelTests/Fixtures [case ...]

With case names after the output folder, only those cases are written.

For each case it builds the LM of ../shared/bench/torch_ref.py (an independent re-implementation of
zoology's LanguageModel with zoology's parameter names), with dropout off, on a fixed batch, and
dumps: every parameter, the ids and targets, the mean loss, the per-token losses and every
parameter's gradient. Output: <case>.json (names, shapes, offsets, scalars) and <case>.bin
(float32 little-endian, concatenated).
"""
import importlib.util
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

ref_path, out_dir, only = sys.argv[1], sys.argv[2], sys.argv[3:]
spec = importlib.util.spec_from_file_location("torch_ref", ref_path)
torch_ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torch_ref)

class Hyena(torch.nn.Module):
    """Zoology's Hyena as PAPER.md §6.5 describes it (order 2, filter order 64), written out here."""
    def __init__(self, d, l_max, order=64):
        super().__init__()
        self.d = d
        self.in_proj = torch.nn.Linear(d, 3 * d)
        self.out_proj = torch.nn.Linear(d, d)
        self.short_filter = torch.nn.Conv1d(3 * d, 3 * d, 3, groups=3 * d, padding=2)
        self.filter_fn = HyenaFilter(d, l_max, order)

    def forward(self, u):
        L = u.shape[1]
        z = self.short_filter(self.in_proj(u).transpose(1, 2))[..., :L]
        x1, x2, v = z.split(self.d, dim=1)
        v = v * x1
        k = self.filter_fn.filter(L)
        v = torch_ref.causal_fft_conv_plus_input(v, k[None]) - v + v * self.filter_fn.bias[None, :, None]
        return self.out_proj((v * x2).transpose(1, 2))


class Sin(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.freq = torch.nn.Parameter(torch.ones(n))

    def forward(self, x):
        return torch.sin(self.freq * x)


class PosEmb(torch.nn.Module):
    def __init__(self, l_max):
        super().__init__()
        t = torch.linspace(0, 1, l_max)[:, None]
        w = 2 * math.pi * torch.linspace(0, l_max - 1, l_max)[:, None] / l_max
        self.z = torch.nn.Parameter(torch.cat([t, torch.cos(1e-4 * w), -torch.sin(1e-4 * w)], dim=-1))
        self.register_buffer("t", t)


class HyenaFilter(torch.nn.Module):
    def __init__(self, d, l_max, order):
        super().__init__()
        self.pos_emb = PosEmb(l_max)
        act = Sin(order)
        self.implicit_filter = torch.nn.Sequential(
            torch.nn.Linear(3, order), act, torch.nn.Linear(order, order), act, torch.nn.Linear(order, order), act,
            torch.nn.Linear(order, d, bias=False))
        self.register_buffer("deltas", torch.linspace(math.log(1e-2) / 1.5, math.log(1e-2) / 0.3, d))
        self.bias = torch.nn.Parameter(torch.randn(d))

    def filter(self, L):
        h = self.implicit_filter(self.pos_emb.z[:L])
        h = h * torch.exp(-self.pos_emb.t[:L] * self.deltas.abs())
        return h.transpose(0, 1)


class Based(torch.nn.Module):
    """Zoology's LinearAttention with the TaylorExp feature map (quadratic view), written out here."""
    def __init__(self, d, heads, f):
        super().__init__()
        self.h, self.f, self.hd = heads, f, d // heads
        self.proj_q = torch.nn.Linear(d, f * heads, bias=False)
        self.proj_k = torch.nn.Linear(d, f * heads, bias=False)
        self.proj_v = torch.nn.Linear(d, d, bias=False)
        self.out_proj = torch.nn.Linear(d, d, bias=False)

    def phi(self, x):
        x2 = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(start_dim=-2) / math.sqrt(2)
        return torch.cat([x[..., :1] ** 0, x / math.sqrt(math.sqrt(self.f)), x2 / math.sqrt(self.f)], dim=-1)

    def forward(self, u):
        b, l, d = u.shape
        q = self.proj_q(u).view(b, l, self.h, self.f).transpose(1, 2)
        k = self.proj_k(u).view(b, l, self.h, self.f).transpose(1, 2)
        v = self.proj_v(u).view(b, l, self.h, self.hd).transpose(1, 2)
        q, k = self.phi(q), self.phi(k)
        a = torch.tril(torch.einsum("bhnd,bhmd->bhnm", q, k))
        y = torch.einsum("bhnm,bhme->bhne", a, v)
        z = 1 / (torch.einsum("bhld,bhld->bhl", q, k.cumsum(2)) + 1e-12)
        y = (y * z[..., None]).transpose(1, 2).reshape(b, l, d)
        return self.out_proj(y)


class RWKV(torch.nn.Module):
    """Zoology's RWKVTimeMixer (PAPER.md §6.7) with WKV written from its definition as a masked
    softmax over positions (no recurrence), written out here."""
    def __init__(self, d, layer=0, n_layer=12):
        super().__init__()
        r01, r10 = layer / (n_layer - 1), 1 - layer / n_layer
        c = torch.arange(d, dtype=torch.float64)
        self.time_decay = torch.nn.Parameter(-5 + 8 * (c / (d - 1)) ** (0.7 + 1.3 * r01))
        self.time_first = torch.nn.Parameter(math.log(0.3) + 0.5 * ((c + 1) % 3 - 1))
        self.time_mix_k = torch.nn.Parameter((c / d) ** r10)
        self.time_mix_v = torch.nn.Parameter((c / d) ** r10 + 0.3 * r01)
        self.time_mix_r = torch.nn.Parameter((c / d) ** (0.5 * r10))
        self.key = torch.nn.Linear(d, d, bias=False)
        self.value = torch.nn.Linear(d, d, bias=False)
        self.receptance = torch.nn.Linear(d, d, bias=False)
        self.output = torch.nn.Linear(d, d, bias=False)

    def forward(self, x):
        L = x.shape[1]
        xx = F.pad(x, (0, 0, 1, -1))
        k = self.key(x * self.time_mix_k + xx * (1 - self.time_mix_k))
        v = self.value(x * self.time_mix_v + xx * (1 - self.time_mix_v))
        r = torch.sigmoid(self.receptance(x * self.time_mix_r + xx * (1 - self.time_mix_r)))
        t = torch.arange(L)
        gap = (t[:, None] - 1 - t[None, :]).to(x.dtype)[None, :, :, None]  # [1, t, i, 1]: t − 1 − i
        scores = -gap * torch.exp(self.time_decay) + k[:, None, :, :]
        scores = torch.where((t[:, None] == t[None, :])[None, :, :, None], self.time_first + k[:, None, :, :], scores)
        scores = scores.masked_fill((t[None, :] > t[:, None])[None, :, :, None], float("-inf"))
        wkv = (torch.softmax(scores, dim=2) * v[:, None, :, :]).sum(2)
        return self.output(r * wkv)


class Mamba(torch.nn.Module):
    """mamba_simple's Mamba (its reference path: conv1d, selective_scan_ref) with d_state 16, d_conv 4,
    expand 2, written out here."""
    def __init__(self, d, d_state=16, d_conv=4, expand=2):
        super().__init__()
        self.inner, self.n, self.rank = expand * d, d_state, math.ceil(d / 16)
        self.in_proj = torch.nn.Linear(d, 2 * self.inner, bias=False)
        self.conv1d = torch.nn.Conv1d(self.inner, self.inner, d_conv, groups=self.inner, padding=d_conv - 1)
        self.x_proj = torch.nn.Linear(self.inner, self.rank + 2 * d_state, bias=False)
        self.dt_proj = torch.nn.Linear(self.rank, self.inner)
        self.A_log = torch.nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float64)).repeat(self.inner, 1))
        self.D = torch.nn.Parameter(torch.ones(self.inner))
        self.out_proj = torch.nn.Linear(self.inner, d, bias=False)

    def forward(self, u):
        b, L, _ = u.shape
        x, z = self.in_proj(u).chunk(2, dim=-1)
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :L]).transpose(1, 2)
        dt, B, C = self.x_proj(x).split([self.rank, self.n, self.n], dim=-1)
        delta = F.softplus(self.dt_proj(dt))
        A = -torch.exp(self.A_log)
        h, ys = x.new_zeros(b, self.inner, self.n), []
        for t in range(L):
            h = torch.exp(delta[:, t, :, None] * A) * h + delta[:, t, :, None] * B[:, t, None, :] * x[:, t, :, None]
            ys.append((h * C[:, t, None, :]).sum(-1))
        y = torch.stack(ys, dim=1) + x * self.D
        return self.out_proj(y * F.silu(z))


CUSTOM = {"hyena": lambda cfg: Hyena(cfg["d_model"], cfg["l_max"]),
          "based": lambda cfg: Based(cfg["d_model"], cfg["num_heads"], cfg["feature_dim"]),
          "rwkv": lambda cfg: RWKV(cfg["d_model"]),
          "mamba": lambda cfg: Mamba(cfg["d_model"])}

CASES = {
    "attention": dict(mixer="attention", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                      l_max=16, num_heads=2, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0, resid_dropout=0.0),
    "base_conv": dict(mixer="base_conv", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                      l_max=16, num_heads=1, attn_dropout=0.0, kernel_size=[3, -1], hidden_mult=4,
                      embed_dropout=0.0, resid_dropout=0.0),
    "hyena": dict(mixer="hyena", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                  l_max=16, num_heads=1, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0, resid_dropout=0.0),
    "based": dict(mixer="based", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                  l_max=16, num_heads=2, feature_dim=4, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0,
                  resid_dropout=0.0),
    "rwkv": dict(mixer="rwkv", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                 l_max=16, num_heads=1, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0, resid_dropout=0.0),
    "mamba": dict(mixer="mamba", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                  l_max=16, num_heads=1, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0, resid_dropout=0.0),
}

for name, cfg in CASES.items():
    if only and name not in only:
        continue
    torch.manual_seed(1234)
    if name in CUSTOM:
        # Build the skeleton with attention, put the mixer in, then apply zoology's init again.
        base = {k: v for k, v in cfg.items() if k != "feature_dim"}
        base["mixer"] = "attention"
        model = torch_ref.LM(**base)
        for layer in model.backbone.layers:
            layer.sequence_mixer = CUSTOM[name](cfg)
        model.lm_head.weight = model.backbone.embeddings.word_embeddings.weight
        model._init(cfg["n_layers"])
        if name in ("rwkv", "mamba"):
            # Projections of std 0.5 instead of 0.02: keys, steps and outputs of order one, so the
            # recurrences are far from their trivial regime and the mixer shows in the loss.
            for layer in model.backbone.layers:
                for m in layer.sequence_mixer.modules():
                    if isinstance(m, torch.nn.Linear):
                        m.weight.data *= 25
        model = model.double()
    else:
        model = torch_ref.LM(**cfg).double()  # double: the reference's own rounding is negligible
    model.train()
    batch, length = 3, 16
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, cfg["vocab_size"], (batch, length + 1), generator=g)
    inputs, targets = ids[:, :-1], ids[:, 1:].clone()
    targets[1, 3] = -100  # one unlabeled position
    logits = model(inputs)
    per_token = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none",
                                ignore_index=-100)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
    loss.backward()

    tensors, index, offset = [], [], 0
    def add(key, t):
        global offset
        a = t.detach().to(torch.float32).contiguous().numpy().ravel()
        index.append({"name": key, "shape": list(t.shape), "offset": offset, "count": int(a.size)})
        tensors.append(a)
        offset += int(a.size)
    assert not any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules())
    for pname, p in model.named_parameters():
        add("param:" + pname, p)
        add("grad:" + pname, p.grad)
    add("per_token_loss", per_token)
    meta = {"config": cfg, "batch": batch, "length": length, "inputs": inputs.ravel().tolist(),
            "targets": targets.ravel().tolist(), "loss": loss.item(), "torch": torch.__version__,
            "dtype": "float64 model, float32 dump", "tensors": index}
    with open(f"{out_dir}/{name}.json", "w") as f:
        json.dump(meta, f, indent=1)
    np.concatenate(tensors).astype("<f4").tofile(f"{out_dir}/{name}.bin")
    print(name, "loss", loss.item(), "floats", offset)
