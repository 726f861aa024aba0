"""Multi-head causal softmax attention (Zoo's `AttentionMixer`, Zoology's `MHA`), and with a window
sliding-window attention (Zoology's `SlidingWindowAttention`)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MHA(nn.Module):
    """One fused `Wqkv` projection with bias, scores scaled by 1/sqrt(head_dim), causal softmax (the
    mask is added as -10000, as Zoology does), dropout on the probabilities, `out_proj` with bias.
    With `window`, token i sees positions i-window+1 ... i only."""

    def __init__(self, d_model, num_heads=1, dropout=0.0, window=None):
        super().__init__()
        assert d_model % num_heads == 0, f"num_heads {num_heads} must divide d_model {d_model}"
        self.h, self.hd, self.p, self.window = num_heads, d_model // num_heads, dropout, window
        self.Wqkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        b, l, d = x.shape
        q, k, v = self.Wqkv(x).view(b, l, 3, self.h, self.hd).unbind(2)   # (b, l, h, hd)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (b, h, l, hd)
        scores = q @ (k * (1.0 / math.sqrt(self.hd))).transpose(-1, -2)
        mask = torch.triu(torch.full((l, l), -10000.0, device=x.device, dtype=scores.dtype), 1)
        if self.window is not None:
            mask = mask + torch.tril(torch.full((l, l), -10000.0, device=x.device, dtype=scores.dtype), -self.window)
        attn = torch.softmax(scores + mask, dim=-1)
        attn = F.dropout(attn, self.p if self.training else 0.0)
        y = (attn @ v).transpose(1, 2).reshape(b, l, d)
        return self.out_proj(y)
