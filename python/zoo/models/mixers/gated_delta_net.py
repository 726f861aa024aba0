"""Zoology's Gated DeltaNet (Zoo's `GatedDeltaNetMixer`; fla's `GatedDeltaNet` layer as Zoology runs it): DeltaNet's
body (delta_net.py) with K = floor(d / H), V = K expand_v and the log decay per head and token
g = -exp(A_log) * softplus(a_proj(x) + dt_bias). `D` (ones) is Zoology's, unused by its forward. State: H * K * V."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .delta_net import add_convolutions_and_output, add_projections, delta_net_output


class GatedDeltaNet(nn.Module):
    def __init__(self, d_model, num_heads=2, expand_v=2, use_gate=False, conv_size=4, chunk_size=64):
        super().__init__()
        head = d_model // num_heads
        key, value = num_heads * head, num_heads * head * expand_v
        add_projections(self, d_model, key, value, num_heads, chunk_size)
        self.a_proj = nn.Linear(d_model, num_heads, bias=False)
        self.A_log = nn.Parameter(torch.log(torch.empty(num_heads).uniform_(0, 16)))
        self.D = nn.Parameter(torch.ones(num_heads))
        dt = torch.exp(torch.rand(num_heads) * (math.log(0.1) - math.log(0.001)) + math.log(0.001)).clamp(min=1e-4)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        add_convolutions_and_output(self, d_model, key, value, use_gate, conv_size)

    def forward(self, x):
        g = -self.A_log.exp() * F.softplus(self.a_proj(x) + self.dt_bias)
        return delta_net_output(self, x, g)
