"""Zoology's BaseConv (Zoo's `BaseConvMixer`): y = conv(u) * (W u + b) + u, where the convolution is
per layer a short causal depthwise one (kernel k > 0, with bias) or, for k = -1, the implicit long
convolution whose filter is an MLP (3 -> 16 -> d, ReLU) of fixed positional features, by FFT."""
import math

import torch
import torch.nn as nn

from .fft_conv import causal_fft_conv_plus_input


class ShortConv(nn.Module):
    """Causal depthwise conv: Conv1d(padding=k-1) and keep the first L outputs."""

    def __init__(self, d_model, kernel_size):
        super().__init__()
        self.conv = nn.Conv1d(d_model, d_model, kernel_size, groups=d_model, padding=kernel_size - 1)

    def forward(self, x):                                    # (b, l, d)
        return self.conv(x.transpose(1, 2))[..., : x.shape[1]].transpose(1, 2)


class PosFeatures(nn.Module):
    """Fixed features z(t) = [t/(l_max-1), cos(1e-4 w), -sin(1e-4 w)], w = 2 pi t / l_max."""

    def __init__(self, l_max):
        super().__init__()
        t = torch.linspace(0, 1, l_max)[None, :, None]
        w = 2 * math.pi * torch.linspace(0, l_max - 1, l_max)[None, :, None] / l_max
        f = torch.tensor(1e-4)
        self.register_buffer("z", torch.cat([t, torch.cos(f * w), -torch.sin(f * w)], dim=-1))

    def forward(self, l):
        return self.z[:, :l]


class ImplicitLongConv(nn.Module):
    def __init__(self, d_model, l_max, d_hidden=16):
        super().__init__()
        self.pos_emb = PosFeatures(l_max)
        self.mlp = nn.Sequential(nn.Linear(3, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_model))

    def forward(self, x):                                    # (b, l, d)
        l = x.shape[1]
        assert l <= self.pos_emb.z.shape[1], f"sequence length {l} exceeds l_max {self.pos_emb.z.shape[1]}"
        k = self.mlp(self.pos_emb(l)).transpose(1, 2)         # (1, d, l)
        return causal_fft_conv_plus_input(x.transpose(1, 2), k).transpose(1, 2)


class BaseConv(nn.Module):
    def __init__(self, d_model, l_max, kernel_size):
        super().__init__()
        self.projection = nn.Linear(d_model, d_model)
        self.conv = ImplicitLongConv(d_model, l_max) if kernel_size == -1 else ShortConv(d_model, kernel_size)

    def forward(self, u):
        return self.conv(u) * self.projection(u) + u
