"""RWKV-7 time mixing (Zoo's `RWKV7Mixer`; Zoology's `RWKV7Attention`, docs/MODELS.md, "RWKV-7"): six token-shift
lerps (x_x rows r, w, k, v, a, g), r/k/v projections without bias, the decay LoRA (log w = -e^-0.5 sigmoid(...),
tanh inside), the in-context learning rate alpha = sigmoid(LoRA), the gate LoRA (sigmoid inside, no bias),
kappa = l2norm_head(k * k_k), k~ = k * (1 + (alpha - 1) * k_a), the generalized delta rule
S_t = (diag(w_t) + b_t a_t^T) S_{t-1} + k~_t v_t^T, o_t = S_t^T r_t with a = -kappa, b = kappa * alpha, a per-head
group norm (eps head_dim * 1e-5), the bonus (sum_head r * k~ * r_k) v, the gate and o_proj. The rule runs in
Zoo's chunked (WY/UT) form, `generalized_delta_rule`; `generalized_delta_rule_recurrent` is the token loop.
State: heads * head_dim^2."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def generalized_delta_rule_recurrent(q, g, k, v, a, b):
    """The token-by-token recurrence; all [B, T, H, n], g the log decay. Returns o [B, T, H, n]."""
    B, T, H, n = q.shape
    S = q.new_zeros(B, H, n, n)   # [key, value]
    out = []
    for t in range(T):
        u = torch.einsum("bhi,bhij->bhj", a[:, t], S)
        S = g[:, t].exp()[..., None] * S + b[:, t][..., None] * u[:, :, None, :] + k[:, t][..., None] * v[:, t][:, :, None, :]
        out.append(torch.einsum("bhi,bhij->bhj", q[:, t], S))
    return torch.stack(out, dim=1)


def generalized_delta_rule(q, g, k, v, a, b, chunk_size=16):
    """The chunked form (Zoo's GeneralizedDeltaRule.chunked): in each chunk, with gamma the cumulative log decay,
    U = (I - A_ab)^-1 (a^ S_0 + A_ak V), O = q^ S_0 + A_qk V + A_qb U, S_c = e^gamma_c S_0 + k-^T V + b-^T U."""
    B, T, H, n = q.shape
    q, g, k, v, a, b = (x.transpose(1, 2) for x in (q, g, k, v, a, b))   # [B, H, T, n]
    S = q.new_zeros(B, H, n, n)
    out = []
    for t0 in range(0, T, chunk_size):
        qc, gc, kc, vc, ac, bc = (x[:, :, t0:t0 + chunk_size] for x in (q, g, k, v, a, b))
        c = qc.shape[2]
        gamma = gc.cumsum(2)
        last = gamma[:, :, -1:]
        q_hat, a_hat = qc * gamma.exp(), ac * (gamma - gc).exp()
        k_hat, b_hat = kc * (-gamma).exp(), bc * (-gamma).exp()
        k_bar, b_bar = kc * (last - gamma).exp(), bc * (last - gamma).exp()
        lower = torch.ones(c, c, dtype=torch.bool, device=q.device).tril()
        strict = lower.tril(-1)
        A_qk = (q_hat @ k_hat.transpose(-1, -2)).masked_fill(~lower, 0)
        A_qb = (q_hat @ b_hat.transpose(-1, -2)).masked_fill(~lower, 0)
        A_ak = (a_hat @ k_hat.transpose(-1, -2)).masked_fill(~strict, 0)
        A_ab = (a_hat @ b_hat.transpose(-1, -2)).masked_fill(~strict, 0)
        eye = torch.eye(c, dtype=q.dtype, device=q.device)
        U = torch.linalg.solve_triangular(eye - A_ab, a_hat @ S + A_ak @ vc, upper=False, unitriangular=True)
        out.append(q_hat @ S + A_qk @ vc + A_qb @ U)
        S = last.exp().transpose(-1, -2) * S + k_bar.transpose(-1, -2) @ vc + b_bar.transpose(-1, -2) @ U
    return torch.cat(out, dim=2).transpose(1, 2)


class LoRA(nn.Module):
    """lora = Linear(d, rank, no bias) -> activation -> Linear(rank, out, bias)."""

    def __init__(self, d, out, rank, activation, bias=True):
        super().__init__()
        self.lora = nn.Sequential(nn.Linear(d, rank, bias=False), activation, nn.Linear(rank, out, bias=bias))

    def forward(self, x):
        return self.lora(x)


class RWKV7(nn.Module):
    def __init__(self, d, head_dim=64, decay_low_rank_dim=16, gate_low_rank_dim=64, a_low_rank_dim=16, chunk_size=16):
        super().__init__()
        assert d % head_dim == 0, f"head_dim {head_dim} must divide d_model {d}"
        self.heads, self.head_dim, self.chunk_size = d // head_dim, head_dim, chunk_size
        self.x_x = nn.Parameter(torch.zeros(6, d))
        self.k_k = nn.Parameter(torch.zeros(d))
        self.k_a = nn.Parameter(torch.zeros(d))
        self.r_k = nn.Parameter(torch.zeros(self.heads, head_dim))
        self.r_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)
        self.w_lora = LoRA(d, d, decay_low_rank_dim, nn.Tanh())
        self.a_lora = LoRA(d, d, a_low_rank_dim, nn.Identity())
        self.g_lora = LoRA(d, d, gate_low_rank_dim, nn.Sigmoid(), bias=False)
        self.g_norm = nn.GroupNorm(self.heads, d, eps=head_dim * 1e-5)

    def forward(self, x):
        B, T, d = x.shape
        H, n = self.heads, self.head_dim
        shifted = F.pad(x, (0, 0, 1, -1))
        xr, xw, xk, xv, xa, xg = (x + self.x_x[i] * (shifted - x) for i in range(6))
        r = self.r_proj(xr)
        log_w = -math.exp(-0.5) * torch.sigmoid(self.w_lora(xw))
        k = self.k_proj(xk)
        v = self.v_proj(xv)
        alpha = torch.sigmoid(self.a_lora(xa))
        g = self.g_lora(xg)
        kk = (k * self.k_k).view(B, T, H, n)
        kappa = kk / torch.sqrt((kk * kk).sum(-1, keepdim=True) + 1e-6)
        k = k * (1 + (alpha - 1) * self.k_a)
        heads = lambda t: t.view(B, T, H, n)   # noqa: E731
        o = generalized_delta_rule(heads(r), heads(log_w), heads(k), heads(v), -kappa, kappa * heads(alpha),
                                   self.chunk_size)
        o = self.g_norm(o.reshape(B * T, d)).view(B, T, d)
        bonus = (heads(r) * heads(k) * self.r_k).sum(-1, keepdim=True) * heads(v)
        return self.o_proj((o + bonus.reshape(B, T, d)) * g)
