"""RMS norm with a weight over groups of its width (Zoo's `rmsNorm` op): y = x / sqrt(mean(x^2) + eps) * w over
each group of `w.numel()` consecutive channels (GLA: each head, one weight for all heads; Mamba-2: all of d_inner)."""
import torch
import torch.nn as nn


class RMSNorm(nn.Module):
    def __init__(self, width, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.eps = eps

    def forward(self, x):
        groups = x.reshape(*x.shape[:-1], -1, self.weight.numel())
        normed = groups * torch.rsqrt(groups.square().mean(-1, keepdim=True) + self.eps) * self.weight
        return normed.reshape(x.shape)
