"""The delta rule of DeltaNet and Gated DeltaNet (Zoo's `DeltaRule`, its chunked form): per head, with the
state S (K x V), S_t = exp(g_t) (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T and o_t = S_t^T q_t / sqrt(K)
(g = 0 for DeltaNet). Computed in chunks (the WY/UT form): for a chunk entering with state S, with
gamma = cumsum(g) within the chunk and M_ij = exp(gamma_i - gamma_j) (i >= j),
    A = strictly_lower(diag(beta) (K K^T * M)),  [U | W] = (I + A)^-1 [diag(beta) V | diag(beta e^gamma) K],
    V' = U - W S,  O = (e^gamma Q S + lower(Q K^T * M) V') / sqrt(K),  S <- e^gamma_last S + K^T (e^(gamma_last - gamma) V').
"""
import torch


def delta_rule(q, k, v, beta, g=None, chunk_size=64):
    """q, k (b, l, h, K), v (b, l, h, V), beta and g (b, l, h) -> o (b, l, h, V); g None for the ungated rule."""
    b, length, h, dk = q.shape
    dv = v.shape[-1]
    scale = dk ** -0.5
    q, k, v, beta = (x.transpose(1, 2) for x in (q, k, v, beta))  # (b, h, l, ...)
    g = beta.new_zeros(beta.shape) if g is None else g.transpose(1, 2)
    state = q.new_zeros(b, h, dk, dv)
    outputs = []
    for start in range(0, length, chunk_size):
        end = min(length, start + chunk_size)
        n = end - start
        Q, K, V, B = q[:, :, start:end], k[:, :, start:end], v[:, :, start:end], beta[:, :, start:end]
        gamma = g[:, :, start:end].cumsum(-1)
        lower = torch.ones(n, n, dtype=torch.bool, device=q.device).tril()
        M = (gamma[..., :, None] - gamma[..., None, :]).masked_fill(~lower, float("-inf")).exp()
        A = (B[..., :, None] * (K @ K.transpose(-1, -2)) * M).tril(-1)
        eye = torch.eye(n, dtype=q.dtype, device=q.device)
        Y = torch.cat([B[..., None] * V, (B * gamma.exp())[..., None] * K], -1)
        UW = torch.linalg.solve_triangular(eye + A, Y, upper=False, unitriangular=True)
        fresh = UW[..., :dv] - UW[..., dv:] @ state
        P = (Q @ K.transpose(-1, -2) * M).tril()
        outputs.append(scale * (gamma.exp()[..., None] * (Q @ state) + P @ fresh))
        to_end = (gamma[..., -1:] - gamma).exp()
        state = gamma[..., -1, None, None].exp() * state + K.transpose(-1, -2) @ (to_end[..., None] * fresh)
    return torch.cat(outputs, 2).transpose(1, 2)


def l2_normalize_heads(x, heads, eps=1e-6):
    """(b, l, heads * d) -> (b, l, heads, d), each head divided by sqrt(sum x^2 + eps) (fla's l2norm)."""
    x = x.unflatten(-1, (heads, -1))
    return x * torch.rsqrt((x * x).sum(-1, keepdim=True) + eps)
