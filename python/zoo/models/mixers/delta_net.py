"""Zoology's DeltaNet (Zoo's `DeltaNetMixer`; fla's `DeltaNet` layer as Zoology runs it), key = floor(d expand_k),
value = floor(d expand_v), H heads: q, k = l2norm(silu(conv(q_proj(x)))), l2norm(silu(conv(k_proj(x)))) per head,
v = silu(conv(v_proj(x))), beta = sigmoid(b_proj(x)), o = delta_rule(q, k, v, beta),
y = o_proj(RMSNorm(o) [* silu(g_proj(x))]) (one norm weight for every head). Convolutions depthwise, causal,
no bias. State: H * K * V."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .delta_rule import delta_rule, l2_normalize_heads
from .rms_norm import RMSNorm


class ShortConvolution(nn.Conv1d):
    """fla's ShortConvolution with SiLU: a depthwise causal Conv1d without bias, on (b, l, width)."""

    def __init__(self, width, size):
        super().__init__(width, width, size, groups=width, padding=size - 1, bias=False)

    def forward(self, x):
        return F.silu(super().forward(x.transpose(1, 2))[..., :x.shape[1]].transpose(1, 2))


def add_projections(mixer, d_model, key, value, num_heads, chunk_size):
    """The q, k, v and beta projections DeltaNet and Gated DeltaNet share (registered first)."""
    mixer.heads, mixer.chunk_size = num_heads, chunk_size
    mixer.q_proj = nn.Linear(d_model, key, bias=False)
    mixer.k_proj = nn.Linear(d_model, key, bias=False)
    mixer.v_proj = nn.Linear(d_model, value, bias=False)
    mixer.b_proj = nn.Linear(d_model, num_heads, bias=False)


def add_convolutions_and_output(mixer, d_model, key, value, use_gate, conv_size):
    """The short convolutions, optional output gate, norm and o_proj they share (registered after the projections
    and, in Gated DeltaNet, the decay's parameters)."""
    mixer.q_conv1d = ShortConvolution(key, conv_size)
    mixer.k_conv1d = ShortConvolution(key, conv_size)
    mixer.v_conv1d = ShortConvolution(value, conv_size)
    mixer.g_proj = nn.Linear(d_model, value, bias=False) if use_gate else None
    mixer.o_norm = RMSNorm(value // mixer.heads)
    mixer.o_proj = nn.Linear(value, d_model, bias=False)


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
        add_projections(self, d_model, key, value, num_heads, chunk_size)
        add_convolutions_and_output(self, d_model, key, value, use_gate, conv_size)

    def forward(self, x):
        return delta_net_output(self, x)
