"""Zoology's pure long convolution (`ImplicitLongConvolution`; Zoo's `LongConvMixer`): y = h * u + u, one
implicit filter per channel by FFT, no gating. The filter is h = MLP(z)^T (d, L), MLP = Linear(d_emb,
d_hidden) -> ReLU -> Linear(d_hidden, d), of fixed positional features z_t = [t/(l_max-1), cos(f_j w_t)...,
-sin(f_j w_t)...], w_t = 2 pi t / l_max, f = linspace(1e-4, b-1, b) for b = (d_emb-1)/2 bands.
State: d*L (the convolution's input window)."""
import math

import torch
import torch.nn as nn

from .fft_conv import causal_fft_conv_plus_input


class BandFeatures(nn.Module):
    """The fixed features z, (1, l_max, d_emb), kept as a buffer `z` (not trained)."""

    def __init__(self, d_emb, l_max):
        super().__init__()
        assert d_emb % 2 == 1 and d_emb >= 3, "d_emb must be odd and at least 3 (time, cosine, sine)"
        bands = (d_emb - 1) // 2
        t = torch.linspace(0, 1, l_max)[None, :, None]
        w = 2 * math.pi * torch.arange(l_max, dtype=torch.float64)[None, :, None] / l_max
        f = torch.linspace(1e-4, bands - 1, bands, dtype=torch.float64)[None, None]
        fw = f * w
        z = torch.cat([t.double(), torch.cos(fw), -torch.sin(fw)], dim=-1)
        self.register_buffer("z", z.to(torch.get_default_dtype()))

    def forward(self, l):
        return self.z[:, :l]


class LongConv(nn.Module):
    def __init__(self, d_model, l_max, d_emb=3, d_hidden=16):
        super().__init__()
        self.pos_emb = BandFeatures(d_emb, l_max)
        self.mlp = nn.Sequential(nn.Linear(d_emb, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_model))

    def filter(self, l):
        """h for the first l positions, (1, d, l)."""
        return self.mlp(self.pos_emb(l)).transpose(1, 2)

    def forward(self, u):                                    # (b, l, d)
        l = u.shape[1]
        assert l <= self.pos_emb.z.shape[1], f"sequence length {l} exceeds l_max {self.pos_emb.z.shape[1]}"
        return causal_fft_conv_plus_input(u.transpose(1, 2), self.filter(l)).transpose(1, 2)
