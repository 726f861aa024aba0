"""Zoology's DeltaNet (Zoo's `DeltaNetMixer`; fla's `DeltaNet` layer as Zoology runs it), key = floor(d expand_k),
value = floor(d expand_v), H heads: q, k = l2norm(silu(conv(q_proj(x)))), l2norm(silu(conv(k_proj(x)))) per head,
v = silu(conv(v_proj(x))), beta = sigmoid(b_proj(x)), o = delta_rule(q, k, v, beta),
y = o_proj(RMSNorm(o) [* silu(g_proj(x))]) (one norm weight for every head). Convolutions depthwise, causal,
no bias. State: H * K * V."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .delta_rule import delta_rule, l2_normalize_heads, rms_norm


class ShortConvolution(nn.Conv1d):
    """fla's ShortConvolution with SiLU: a depthwise causal Conv1d without bias, on (b, l, width)."""

    def __init__(self, width, size):
        super().__init__(width, width, size, groups=width, padding=size - 1, bias=False)

    def forward(self, x):
        return F.silu(super().forward(x.transpose(1, 2))[..., :x.shape[1]].transpose(1, 2))


class RMSNorm(nn.Module):
    """fla's RMSNorm over one head's values (weight `o_norm.weight`, shared by the heads)."""

    def __init__(self, width, eps=1e-5):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(width)), eps

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def delta_net_output(mixer, x, g=None):
    """The shared body of DeltaNet and Gated DeltaNet: o_proj(RMSNorm(delta_rule(q, k, v, beta, g)) [* silu(g_proj(x))])."""
    q = l2_normalize_heads(mixer.q_conv1d(mixer.q_proj(x)), mixer.heads)
    k = l2_normalize_heads(mixer.k_conv1d(mixer.k_proj(x)), mixer.heads)
    v = mixer.v_conv1d(mixer.v_proj(x)).unflatten(-1, (mixer.heads, -1))
    o = mixer.o_norm(delta_rule(q, k, v, mixer.b_proj(x).sigmoid(), g, mixer.chunk_size))
    if mixer.g_proj is not None:
        o = o * F.silu(mixer.g_proj(x)).unflatten(-1, (mixer.heads, -1))
    return mixer.o_proj(o.flatten(-2))


class DeltaNet(nn.Module):
    def __init__(self, d_model, num_heads=2, expand_k=1.0, expand_v=1.0, use_gate=False, conv_size=4, chunk_size=64):
        super().__init__()
        key, value = int(d_model * expand_k), int(d_model * expand_v)
        self.heads, self.chunk_size = num_heads, chunk_size
        self.q_proj = nn.Linear(d_model, key, bias=False)
        self.k_proj = nn.Linear(d_model, key, bias=False)
        self.v_proj = nn.Linear(d_model, value, bias=False)
        self.b_proj = nn.Linear(d_model, num_heads, bias=False)
        self.q_conv1d = ShortConvolution(key, conv_size)
        self.k_conv1d = ShortConvolution(key, conv_size)
        self.v_conv1d = ShortConvolution(value, conv_size)
        self.g_proj = nn.Linear(d_model, value, bias=False) if use_gate else None
        self.o_norm = RMSNorm(value // num_heads)
        self.o_proj = nn.Linear(value, d_model, bias=False)

    def forward(self, x):
        return delta_net_output(self, x)
