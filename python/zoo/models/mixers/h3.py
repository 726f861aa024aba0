"""H3 (Zoo's `H3Mixer`; Zoology's `h3.py`, docs/MODELS.md, "H3"): q, k, v projections with bias;
k <- shift(k) + D_k * k with a learned shift-SSM filter of d_state taps; per head (d/head_dim heads) the
outer product kv[h, i, j] = k[h, i] v[h, j], filtered by the head's diagonal S4D SSM kernel (bilinear,
d_state/2 complex modes) plus D_h * kv; contracted with q over i; output_linear. Output channel of
(h, j) is j*H + h. Both long convolutions by FFT; the S4D kernel is computed in float64."""
import math

import torch
import torch.nn as nn

from .fft_conv import causal_fft_conv


class ShiftKernel(nn.Module):
    """K[c, j] = sum_n B[c, n] C[c, n + j] for j < N, zero beyond (Zoo's `shiftSSMKernel`)."""

    def __init__(self, channels, n):
        super().__init__()
        self.B = nn.Parameter(torch.zeros(channels, n))
        self.C = nn.Parameter(torch.zeros(channels, n))
        with torch.no_grad():
            self.B[:, 0] = 1
            nn.init.uniform_(self.C, -1 / math.sqrt(n), 1 / math.sqrt(n))

    def forward(self, length):
        n = self.B.shape[1]
        taps = [(self.B[:, :n - j] * self.C[:, j:]).sum(-1) for j in range(min(n, length))]
        k = torch.stack(taps, dim=-1)
        return torch.nn.functional.pad(k, (0, length - k.shape[-1]))


class S4DKernel(nn.Module):
    """K[h, l] = 2 Re sum_n Ct_n dA_n^l with A = -exp(inv_A_real) + i A_imag, dt = exp(log_dt),
    dA = (1 + dt A/2)/(1 - dt A/2), Ct = B C dt/(1 - dt A/2) (Zoo's `diagonalSSMKernel`)."""

    def __init__(self, heads, modes):
        super().__init__()
        self.log_dt = nn.Parameter(torch.empty(heads).uniform_(math.log(1e-3), math.log(1e-1)))
        self.inv_A_real = nn.Parameter(torch.full((heads, modes), math.log(0.5)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(modes, dtype=torch.float32).repeat(heads, 1))
        self.B = nn.Parameter(torch.stack([torch.ones(heads, modes), torch.zeros(heads, modes)], dim=-1))
        self.C = nn.Parameter(torch.randn(heads, modes, 2) * math.sqrt(0.5))

    def forward(self, length):
        f64 = torch.float64
        dt = torch.exp(self.log_dt.to(f64))[:, None]
        A = torch.complex(-torch.exp(self.inv_A_real.to(f64)), self.A_imag.to(f64))
        B = torch.complex(self.B[..., 0].to(f64), self.B[..., 1].to(f64))
        C = torch.complex(self.C[..., 0].to(f64), self.C[..., 1].to(f64))
        half = A * dt / 2
        dA = (1 + half) / (1 - half)
        c_tilde = B * C * dt / (1 - half)
        powers = dA[..., None] ** torch.arange(length, device=dA.device, dtype=f64)
        return (2 * (c_tilde[..., None] * powers).sum(1).real).to(self.log_dt.dtype)


class _Kernel(nn.Module):
    """A holder, so the parameters are named `<name>.kernel.<param>` as Zoology's."""

    def __init__(self, kernel):
        super().__init__()
        self.kernel = kernel

    def forward(self, length):
        return self.kernel(length)


class H3(nn.Module):
    def __init__(self, d, d_state=16, head_dim=1):
        super().__init__()
        assert d % head_dim == 0, f"head_dim {head_dim} must divide d_model {d}"
        self.d, self.hd, self.heads = d, head_dim, d // head_dim
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.ssm_k_kernel = _Kernel(ShiftKernel(d, d_state))
        self.ssm_k_D = nn.Parameter(torch.randn(d))
        self.kernel = _Kernel(S4DKernel(self.heads, max(d_state // 2, 1)))
        self.D = nn.Parameter(torch.randn(self.heads))
        self.output_linear = nn.Linear(d, d)

    def forward(self, x):
        b, L, d = x.shape
        H, hd = self.heads, self.hd
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        k = causal_fft_conv(k.transpose(1, 2), self.ssm_k_kernel(L)).transpose(1, 2) + k * self.ssm_k_D
        kv = k.view(b, L, H, hd, 1) * v.view(b, L, H, 1, hd)                     # [b, L, H, i, j]
        u = kv.permute(0, 2, 3, 4, 1)                                              # [b, H, i, j, L]
        filtered = causal_fft_conv(u, self.kernel(L)[None, :, None, None, :]) + u * self.D[None, :, None, None, None]
        y = (filtered * q.view(b, L, H, hd).permute(0, 2, 3, 1)[:, :, :, None, :]).sum(2)  # [b, H, j, L]
        return self.output_linear(y.permute(0, 3, 2, 1).reshape(b, L, d))          # channel j*H + h
