"""Mamba's simple block as the sequence mixer (Zoo's `MambaMixer`; `mamba_simple.py`'s reference path:
conv1d and `selective_scan_ref`), d_inner = 2 d, dt_rank = ceil(d/16), kernel 4:
x, z = in_proj(u); x = SiLU(causal conv(x)); dt, B, C = x_proj(x); delta = softplus(dt_proj(dt));
y = scan(x, delta, A = -exp(A_log), B, C) + D x; out = out_proj(y * SiLU(z)). The scan is a loop over
positions."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Mamba(nn.Module):
    """`A_log` is computed in float64; the model skeleton casts the whole model to the default dtype."""

    def __init__(self, d, d_state=16, d_conv=4, expand=2):
        super().__init__()
        self.inner, self.n, self.rank = expand * d, d_state, math.ceil(d / 16)
        self.in_proj = nn.Linear(d, 2 * self.inner, bias=False)
        self.conv1d = nn.Conv1d(self.inner, self.inner, d_conv, groups=self.inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(self.inner, self.rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.rank, self.inner)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float64)).repeat(self.inner, 1))
        self.D = nn.Parameter(torch.ones(self.inner))
        self.out_proj = nn.Linear(self.inner, d, bias=False)

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
