"""RetNet's multi-scale retention (Zoo's `RetNetMixer`, docs/MODELS.md, "RetNet"), parallel view: q, k, v, g
projections without bias, rotary positions on q and k (theta_i = 10000^(-2i/head_dim)), one decay per
head gamma_h = 1 - 2^(-5-h), D_nm = gamma^(n-m) / sqrt(sum_{i<=n} gamma^i), R = (q k^T / sqrt(head_dim)) * D,
P = R / max(|sum_m R_nm|, 1), a per-head group norm, the gate swish(g) * Y, out_proj."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def rotary(x, heads):
    """Rotates channel pairs (2i, 2i+1) of each head at position n by n theta_i; an odd last channel stays."""
    b, L, d = x.shape
    hd = d // heads
    pairs = hd // 2
    n = torch.arange(L, dtype=torch.float64, device=x.device)[:, None]
    theta = 10000.0 ** (-2 * torch.arange(pairs, dtype=torch.float64, device=x.device) / hd)
    cos, sin = torch.cos(n * theta).to(x.dtype), torch.sin(n * theta).to(x.dtype)   # [L, pairs]
    xh = x.view(b, L, heads, hd)
    x0, x1 = xh[..., 0:2 * pairs:2], xh[..., 1:2 * pairs:2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    rotated = torch.stack([x0 * c - x1 * s, x1 * c + x0 * s], dim=-1).flatten(-2)
    return torch.cat([rotated, xh[..., 2 * pairs:]], dim=-1).reshape(b, L, d)


class RetNet(nn.Module):
    def __init__(self, d, heads=1):
        super().__init__()
        assert d % heads == 0, f"num_heads {heads} must divide d_model {d}"
        self.heads = heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.g_proj = nn.Linear(d, d, bias=False)
        self.group_norm = nn.GroupNorm(heads, d, eps=1e-5)
        self.out_proj = nn.Linear(d, d, bias=False)

    def decay(self, L, device):
        """D [heads, L, L] in float64."""
        gammas = 1 - 2.0 ** (-5 - torch.arange(self.heads, dtype=torch.float64, device=device))
        n = torch.arange(L, dtype=torch.float64, device=device)
        gap = n[:, None] - n[None, :]
        powers = torch.where(gap >= 0, gammas[:, None, None] ** gap.clamp(min=0), torch.zeros((), dtype=torch.float64))
        row_scale = 1 / torch.sqrt(torch.cumsum(gammas[:, None] ** n, dim=-1))
        return powers * row_scale[:, :, None]

    def forward(self, x):
        b, L, d = x.shape
        H, hd = self.heads, d // self.heads
        q = rotary(self.q_proj(x), H).view(b, L, H, hd).transpose(1, 2)
        k = rotary(self.k_proj(x), H).view(b, L, H, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, L, H, hd).transpose(1, 2)
        r = (q @ k.transpose(-1, -2) / math.sqrt(hd)) * self.decay(L, x.device).to(x.dtype)
        p = r / r.sum(-1, keepdim=True).abs().clamp(min=1)
        y = (p @ v).transpose(1, 2).reshape(b * L, d)
        y = self.group_norm(y).view(b, L, d)
        return self.out_proj(F.silu(self.g_proj(x)) * y)
