"""Gated linear attention (Zoo's `GLAMixer`; fla's and Zoology's `GatedLinearAttention`): q, k = q_proj(u), k_proj(u)
(d -> d*expand_k), v, g = v_proj(u), g_proj(u) (d -> d*expand_v), optionally SiLU(short conv) on q, k, v (kernel
conv_size, no bias); log-gates logsigmoid(gk_proj(u)) / gate_logit_normalizer, gk_proj = Linear(d, r, no bias) ->
Linear(r, d*expand_k); o = gated linear attention with one decay per key, queries scaled by 1/sqrt(K);
out = o_proj(RMSNorm_head(o) * silu(g)). State: d*expand_k * V (plus the short convolutions' windows)."""
import math

import torch.nn as nn
import torch.nn.functional as F

from .gated_linear_attention import gated_linear_attention
from .rms_norm import RMSNorm


class GLA(nn.Module):
    def __init__(self, d, num_heads=4, expand_k=0.5, expand_v=1.0, gate_low_rank_dim=16, gate_logit_normalizer=16,
                 use_short_conv=False, conv_size=4, chunk_size=16):
        super().__init__()
        key_dim, value_dim = round(d * expand_k), round(d * expand_v)
        assert key_dim % num_heads == 0 and value_dim % num_heads == 0, "num_heads must divide the key and value widths"
        self.heads, self.normalizer, self.chunk = num_heads, gate_logit_normalizer, chunk_size
        self.q_proj = nn.Linear(d, key_dim, bias=False)
        self.k_proj = nn.Linear(d, key_dim, bias=False)
        self.v_proj = nn.Linear(d, value_dim, bias=False)
        self.g_proj = nn.Linear(d, value_dim, bias=False)
        self.convolutions = use_short_conv
        if use_short_conv:
            self.q_conv1d, self.k_conv1d, self.v_conv1d = (
                nn.Conv1d(w, w, conv_size, groups=w, padding=conv_size - 1, bias=False) for w in (key_dim, key_dim, value_dim))
        self.gk_proj = nn.Sequential(nn.Linear(d, gate_low_rank_dim, bias=False), nn.Linear(gate_low_rank_dim, key_dim))
        self.o_proj = nn.Linear(value_dim, d, bias=False)
        self.g_norm_swish_gate = RMSNorm(value_dim // num_heads)

    def forward(self, u):
        b, L, _ = u.shape
        q, k, v = self.q_proj(u), self.k_proj(u), self.v_proj(u)
        if self.convolutions:
            q, k, v = (F.silu(conv(x.transpose(1, 2))[..., :L].transpose(1, 2))
                       for conv, x in ((self.q_conv1d, q), (self.k_conv1d, k), (self.v_conv1d, v)))
        g = F.logsigmoid(self.gk_proj(u)) / self.normalizer
        q, k, v, g = (x.reshape(b, L, self.heads, -1) for x in (q, k, v, g))
        o = gated_linear_attention(q, k, v, g, 1 / math.sqrt(q.shape[-1]), self.chunk).reshape(b, L, -1)
        return self.o_proj(self.g_norm_swish_gate(o) * F.silu(self.g_proj(u)))
