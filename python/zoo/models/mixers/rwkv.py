"""RWKV-4 time mixing (Zoo's `RWKVMixer`; Zoology's `RWKVTimeMixer`, docs/MODELS.md, "RWKV"): token-shift
lerps, k, v, r projections without bias, WKV with per-channel decay exp(time_decay) and bonus
time_first, sigmoid receptance, output projection. WKV is written from its definition, as a masked
softmax over positions (quadratic in the length, no recurrence), in blocks of `block` query positions
so memory stays at batch x block x length x d."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RWKV(nn.Module):
    """`layer` and `n_layer` only set the initial values (Zoology's defaults: n_layer 12). They are
    computed in float64; the model skeleton casts the whole model to the default dtype."""

    def __init__(self, d, layer=0, n_layer=12, block=128):
        super().__init__()
        self.block = block
        r01, r10 = layer / (n_layer - 1), 1 - layer / n_layer
        c = torch.arange(d, dtype=torch.float64)
        self.time_decay = nn.Parameter(-5 + 8 * (c / (d - 1)) ** (0.7 + 1.3 * r01))
        self.time_first = nn.Parameter(math.log(0.3) + 0.5 * ((c + 1) % 3 - 1))
        self.time_mix_k = nn.Parameter(((c / d) ** r10).view(1, 1, d))
        self.time_mix_v = nn.Parameter(((c / d) ** r10 + 0.3 * r01).view(1, 1, d))
        self.time_mix_r = nn.Parameter(((c / d) ** (0.5 * r10)).view(1, 1, d))
        self.key = nn.Linear(d, d, bias=False)
        self.value = nn.Linear(d, d, bias=False)
        self.receptance = nn.Linear(d, d, bias=False)
        self.output = nn.Linear(d, d, bias=False)

    def forward(self, x):
        L = x.shape[1]
        xx = F.pad(x, (0, 0, 1, -1))
        k = self.key(x * self.time_mix_k + xx * (1 - self.time_mix_k))
        v = self.value(x * self.time_mix_v + xx * (1 - self.time_mix_v))
        r = torch.sigmoid(self.receptance(x * self.time_mix_r + xx * (1 - self.time_mix_r)))
        decay = torch.exp(self.time_decay)
        wkv = []
        for start in range(0, L, self.block):
            end = min(L, start + self.block)
            t = torch.arange(start, end, device=x.device)[:, None]
            i = torch.arange(end, device=x.device)[None, :]
            gap = (t - 1 - i).to(x.dtype)[None, :, :, None]  # [1, t, i, 1]: t - 1 - i
            scores = -gap * decay + k[:, None, :end, :]
            scores = torch.where((t == i)[None, :, :, None], self.time_first + k[:, None, :end, :], scores)
            scores = scores.masked_fill((i > t)[None, :, :, None], float("-inf"))
            wkv.append((torch.softmax(scores, dim=2) * v[:, None, :end, :]).sum(2))
        wkv = torch.cat(wkv, dim=1)
        return self.output(r * wkv)
