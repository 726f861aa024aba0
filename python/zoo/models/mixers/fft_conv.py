"""The causal long convolution by FFT that BaseConv, Hyena and H3 share."""
import torch


def causal_fft_conv(u, k):
    """u: (..., l), k: broadcastable to u -> y[..., t] = sum_{s<=t} k[..., s] u[..., t-s], via FFT of size 2l
    (in float32 for half-precision inputs, which FFTs do not take at every size)."""
    dtype = u.dtype
    if dtype in (torch.float16, torch.bfloat16):
        u, k = u.float(), k.float()
    l = u.shape[-1]
    n = 2 * l
    k_f = torch.fft.rfft(k, n=n) / n
    u_f = torch.fft.rfft(u, n=n)
    return torch.fft.irfft(u_f * k_f, n=n, norm="forward")[..., :l].to(dtype)


def causal_fft_conv_plus_input(u, k):
    """u: (b, d, l), k: (1 or b, d, l) -> causal_conv(u, k) + u (Zoology's `fft_conv`)."""
    return causal_fft_conv(u, k) + u
