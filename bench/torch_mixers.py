#!/usr/bin/env python3
"""PyTorch versions of the mixers that ../shared/bench/torch_ref.py lacks (Hyena, Based, RWKV, Mamba), and a
forward+backward benchmark of each mixer alone, the peer of `zoo-bench mixers`.

Attention and BaseConv come from torch_ref.py ($ZOO_TORCH_REF, default ../shared/bench/torch_ref.py) (an independent re-implementation of zoology);
Hyena, Based, RWKV and Mamba are written out here from PAPER.md §6.5, §6.9, §6.7 and mamba_simple. The parity fixtures of
ZooModelTests are made from these same modules (Tests/ZooModelTests/Fixtures/make_torch_reference.py).

Benchmark (what `zoo-bench mixers --torch` runs; prints CSV mixer,seq_len,batch,median_ms,tokens_per_s):
    python3 bench/torch_mixers.py --d-model 128 \
        --lengths 256,1024,4096 --tokens 8192 --threads 2 --mixers attention,base_conv,hyena,based,rwkv,mamba
"""
import argparse
import importlib.util
import math
import os
import sys
import time

import torch
import torch.nn.functional as F


def load_torch_ref(path):
    spec = importlib.util.spec_from_file_location("torch_ref", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


torch_ref = load_torch_ref(os.environ.get("ZOO_TORCH_REF", os.path.join(os.path.dirname(__file__), "../../shared/bench/torch_ref.py")))


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


def make_mixer(name, d, length, heads, feature_dim):
    """One mixer as `zoo-bench mixers` builds it (BaseConv: the implicit long convolution of layer 1)."""
    if name == "attention":
        return torch_ref.MHA(d, heads)
    if name == "base_conv":
        return torch_ref.BaseConv(d, length, -1)
    if name == "hyena":
        return Hyena(d, length)
    if name == "based":
        return Based(d, heads, feature_dim)
    if name == "rwkv":
        return RWKV(d)
    if name == "mamba":
        return Mamba(d)
    raise SystemExit(f"no PyTorch version of mixer {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mixers", default="attention,base_conv,hyena,based,rwkv,mamba")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--lengths", default="256,1024,4096")
    ap.add_argument("--tokens", type=int, default=8192)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--feature-dim", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print(f"# torch {torch.__version__}, threads {a.threads}")
    print("mixer,seq_len,batch,median_ms,tokens_per_s")
    for name in a.mixers.split(","):
        for length in map(int, a.lengths.split(",")):
            batch = max(1, a.tokens // length)
            mixer = make_mixer(name, a.d_model, length, a.heads, a.feature_dim)
            x = torch.randn(batch, length, a.d_model, requires_grad=True)
            times = []
            for r in range(a.repeats + 1):
                start = time.perf_counter()
                y = mixer(x)
                y.backward(torch.ones_like(y))
                if r > 0:
                    times.append(time.perf_counter() - start)  # the first run warms up
                x.grad = None
                mixer.zero_grad(set_to_none=True)
            median = sorted(times)[len(times) // 2]
            print(f"{name},{length},{batch},{median * 1000:.1f},{batch * length / median:.0f}", flush=True)


if __name__ == "__main__":
    main()
