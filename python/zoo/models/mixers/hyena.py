"""Zoology's Hyena (Zoo's `HyenaMixer`, docs/MODELS.md, "Hyena"), order 2, filter order 64:
z = conv3(in_proj(u)) split into x1, x2, v; v <- v * x1; v <- k * v + bias * v (long FFT convolution);
y = out_proj(v * x2). The filter k is an MLP with sine activations of a learned positional embedding,
modulated by exp(-t |delta_c|)."""
import math

import torch
import torch.nn as nn

from .fft_conv import causal_fft_conv_plus_input


class Sin(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.freq = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return torch.sin(self.freq * x)


class PosEmb(nn.Module):
    """The learned positional embedding z = [t, cos(1e-4 w), -sin(1e-4 w)] (initial value) and fixed t."""

    def __init__(self, l_max):
        super().__init__()
        t = torch.linspace(0, 1, l_max)[:, None]
        w = 2 * math.pi * torch.linspace(0, l_max - 1, l_max)[:, None] / l_max
        self.z = nn.Parameter(torch.cat([t, torch.cos(1e-4 * w), -torch.sin(1e-4 * w)], dim=-1))
        self.register_buffer("t", t)


class HyenaFilter(nn.Module):
    def __init__(self, d, l_max, order):
        super().__init__()
        self.pos_emb = PosEmb(l_max)
        act = Sin(order)  # one frequency vector shared by the three sines
        self.implicit_filter = nn.Sequential(
            nn.Linear(3, order), act, nn.Linear(order, order), act, nn.Linear(order, order), act,
            nn.Linear(order, d, bias=False))
        self.register_buffer("deltas", torch.linspace(math.log(1e-2) / 1.5, math.log(1e-2) / 0.3, d))
        self.bias = nn.Parameter(torch.randn(d))

    def filter(self, L):
        assert L <= self.pos_emb.z.shape[0], f"sequence length {L} exceeds l_max {self.pos_emb.z.shape[0]}"
        h = self.implicit_filter(self.pos_emb.z[:L])
        h = h * torch.exp(-self.pos_emb.t[:L] * self.deltas.abs())
        return h.transpose(0, 1)


class Hyena(nn.Module):
    def __init__(self, d, l_max, order=64):
        super().__init__()
        self.d = d
        self.in_proj = nn.Linear(d, 3 * d)
        self.out_proj = nn.Linear(d, d)
        self.short_filter = nn.Conv1d(3 * d, 3 * d, 3, groups=3 * d, padding=2)
        self.filter_fn = HyenaFilter(d, l_max, order)

    def forward(self, u):
        L = u.shape[1]
        z = self.short_filter(self.in_proj(u).transpose(1, 2))[..., :L]
        x1, x2, v = z.split(self.d, dim=1)
        v = v * x1
        k = self.filter_fn.filter(L)
        v = causal_fft_conv_plus_input(v, k[None]) - v + v * self.filter_fn.bias[None, :, None]
        return self.out_proj((v * x2).transpose(1, 2))
