"""The core of GLA and Mamba-2 (Zoo's `gatedLinearAttention` op, its chunked view): per batch element and head,
S_t = diag(exp(g_t)) S_{t-1} + k_t v_t^T, o_t = S_t^T (scale q_t), with log-gates g_t per key (GLA) or one per
head (Mamba-2). In chunks of `chunk` tokens: the intra-chunk part as a masked matrix of
q_i k_j exp(G_i - G_j) (G the gates' cumulative sum within the chunk, so every exponent is <= 0 for g <= 0),
the inter-chunk part through the state before the chunk, which is passed on chunk by chunk."""
import torch
import torch.nn.functional as F


def gated_linear_attention(q, k, v, g, scale, chunk):
    """q, k (b, t, h, K), v (b, t, h, V), g (b, t, h, K) or (b, t, h, 1); returns o (b, t, h, V)."""
    b, t, h, K = q.shape
    pad = (-t) % chunk
    # Padded tokens have k = v = 0 and g = 0: they add nothing to any output.
    q, k, v, g = (F.pad(x, (0, 0, 0, 0, 0, pad)).transpose(1, 2) for x in (q, k, v, g))   # (b, h, t', ·)
    n = q.shape[2] // chunk
    q, k, v, g = (x.reshape(b, h, n, chunk, x.shape[-1]) for x in (q, k, v, g))
    G = g.cumsum(dim=3)                                                  # (b, h, n, c, K or 1)
    causal = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).tril()
    diff = (G[..., :, None, :] - G[..., None, :, :]).masked_fill(~causal[..., None], -torch.inf)
    scores = torch.einsum("...ik,...jk,...ijk->...ij", q, k, diff.exp()) if g.shape[-1] > 1 else \
        (q @ k.transpose(-1, -2)) * diff[..., 0].exp()
    o = scale * (scores @ v)
    state = q.new_zeros(b, h, K, v.shape[-1])
    inter = []
    for i in range(n):
        inter.append(scale * (q[:, :, i] * G[:, :, i].exp()) @ state)
        last = G[:, :, i, -1:]                                           # (b, h, 1, K or 1)
        state = last.transpose(-1, -2).exp() * state + (k[:, :, i] * (last - G[:, :, i]).exp()).transpose(-1, -2) @ v[:, :, i]
    o = o + torch.stack(inter, dim=2)
    return o.reshape(b, h, n * chunk, -1)[:, :, :t].transpose(1, 2)
