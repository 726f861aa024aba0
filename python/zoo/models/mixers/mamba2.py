"""Mamba-2 as the sequence mixer (Zoo's `Mamba2Mixer`; Zoology's and fla's `Mamba2`), d_inner = 2 d, H = d_inner /
head_dim heads, one group of N = d_state states, kernel 4: z, xBC, dt = in_proj(u); x, B, C = SiLU(causal conv(xBC));
delta = softplus(dt + dt_bias); SSD h_t = exp(delta_t A) h_{t-1} + B_t (delta_t x_t)^T with A = -exp(A_log) per head,
y_t = h_t^T C_t + D x_t (gated linear attention with one scalar gate per head, B and C shared by the heads);
out = out_proj(RMSNorm(y * silu(z)))."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .gated_linear_attention import gated_linear_attention
from .rms_norm import RMSNorm


class Mamba2(nn.Module):
    def __init__(self, d, d_state=128, head_dim=64, chunk_size=16, d_conv=4, expand=2):
        super().__init__()
        self.inner, self.n, self.p, self.chunk = expand * d, d_state, head_dim, chunk_size
        assert self.inner % head_dim == 0, f"head_dim {head_dim} must divide d_inner {self.inner}"
        self.heads = heads = self.inner // head_dim
        dt = torch.exp(torch.rand(heads, dtype=torch.float64) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        dt = dt.clamp(min=1e-4)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))            # softplus^-1(dt)
        self.A_log = nn.Parameter(torch.log(torch.empty(heads, dtype=torch.float64).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(heads))
        self.in_proj = nn.Linear(d, 2 * self.inner + 2 * d_state + heads, bias=False)
        conv = self.inner + 2 * d_state
        self.conv1d = nn.Conv1d(conv, conv, d_conv, groups=conv, padding=d_conv - 1)
        self.norm = RMSNorm(self.inner)
        self.out_proj = nn.Linear(self.inner, d, bias=False)

    def forward(self, u):
        b, L, _ = u.shape
        z, xBC, dt = self.in_proj(u).split([self.inner, self.inner + 2 * self.n, self.heads], dim=-1)
        xBC = F.silu(self.conv1d(xBC.transpose(1, 2))[..., :L]).transpose(1, 2)
        x, B, C = xBC.split([self.inner, self.n, self.n], dim=-1)
        delta = F.softplus(dt + self.dt_bias)                                    # (b, L, H)
        g = (delta * -torch.exp(self.A_log))[..., None]                         # (b, L, H, 1)
        xh = x.reshape(b, L, self.heads, self.p)
        B, C = (t[:, :, None, :].expand(b, L, self.heads, self.n) for t in (B, C))
        y = gated_linear_attention(C, B, xh * delta[..., None], g, 1.0, self.chunk) + xh * self.D[:, None]
        return self.out_proj(self.norm(y.reshape(b, L, -1) * F.silu(z)))
