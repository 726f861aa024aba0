"""Based's linear attention (Zoo's `BasedMixer`; Zoology's `LinearAttention` with the `TaylorExp` feature
map), quadratic view: phi(q).phi(k) = 1 + s + s^2/2 with s = q.k/sqrt(f), causal, normalized, no biases."""
import math

import torch
import torch.nn as nn


class Based(nn.Module):
    def __init__(self, d, heads, f):
        super().__init__()
        self.h, self.f, self.hd = heads, f, d // heads
        self.proj_q = nn.Linear(d, f * heads, bias=False)
        self.proj_k = nn.Linear(d, f * heads, bias=False)
        self.proj_v = nn.Linear(d, d, bias=False)
        self.out_proj = nn.Linear(d, d, bias=False)

    def phi(self, x):
        x2 = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(start_dim=-2) / math.sqrt(2)
        return torch.cat([x[..., :1] ** 0, x / math.sqrt(math.sqrt(self.f)), x2 / math.sqrt(self.f)], dim=-1)

    def forward(self, u):
        b, l, d = u.shape
        q = self.proj_q(u).view(b, l, self.h, self.f).transpose(1, 2)
        k = self.proj_k(u).view(b, l, self.h, self.f).transpose(1, 2)
        v = self.proj_v(u).view(b, l, self.h, self.hd).transpose(1, 2)
        q, k = self.phi(q), self.phi(k)
        a = torch.tril(torch.einsum("bhnd,bhmd->bhnm", q, k))
        y = torch.einsum("bhnm,bhme->bhne", a, v)
        z = 1 / (torch.einsum("bhld,bhld->bhl", q, k.cumsum(2)) + 1e-12)
        y = (y * z[..., None]).transpose(1, 2).reshape(b, l, d)
        return self.out_proj(y)
