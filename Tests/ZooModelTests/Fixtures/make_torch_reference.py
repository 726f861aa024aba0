#!/usr/bin/env python3
"""Writes the PyTorch reference that ZooModelTests compares the Swift model with.

Usage (from the package root, with torch installed):
    python3 Tests/ZooModelTests/Fixtures/make_torch_reference.py Tests/ZooModelTests/Fixtures [case ...]

With case names after the output folder, only those cases are written.

For each case it builds Zoo's PyTorch twin (`zoo.models.ZooLanguageModel` and the mixers of
`zoo.models.mixers`, in python/: Zoology's LanguageModel with zoology's parameter names), with dropout
off, on a fixed batch, and dumps every parameter, the ids and targets, the mean loss, the per-token
losses and every parameter's gradient. Output: <case>.json (names, shapes, offsets, scalars) and
<case>.bin (float32 little-endian, concatenated). The models are built in the order the committed
fixtures were made in (the skeleton with attention, then the mixer put in and Zoology's init applied
again), so the same torch gives the same bits.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../python"))
from fixture_dump import FixtureDump  # noqa: E402
from zoo.models import ZooLanguageModel  # noqa: E402
from zoo.models.mixers import RWKV, Based, Hyena, Mamba  # noqa: E402

out_dir, only = sys.argv[1], sys.argv[2:]

CUSTOM = {"hyena": lambda cfg: Hyena(cfg["d_model"], cfg["l_max"]),
          "based": lambda cfg: Based(cfg["d_model"], cfg["num_heads"], cfg["feature_dim"]),
          "rwkv": lambda cfg: RWKV(cfg["d_model"]),
          "mamba": lambda cfg: Mamba(cfg["d_model"])}

CASES = {
    "attention": dict(mixer="attention", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                      l_max=16, num_heads=2, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0, resid_dropout=0.0),
    "base_conv": dict(mixer="base_conv", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                      l_max=16, num_heads=1, attn_dropout=0.0, kernel_size=[3, -1], hidden_mult=4,
                      embed_dropout=0.0, resid_dropout=0.0),
    "hyena": dict(mixer="hyena", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                  l_max=16, num_heads=1, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0, resid_dropout=0.0),
    "based": dict(mixer="based", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                  l_max=16, num_heads=2, feature_dim=4, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0,
                  resid_dropout=0.0),
    "rwkv": dict(mixer="rwkv", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                 l_max=16, num_heads=1, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0, resid_dropout=0.0),
    "mamba": dict(mixer="mamba", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16,
                  l_max=16, num_heads=1, attn_dropout=0.0, hidden_mult=4, embed_dropout=0.0, resid_dropout=0.0),
    "sliding_window_attention": dict(mixer="sliding_window_attention", d_model=32, n_layers=2, vocab_size=97,
                                     max_position_embeddings=16, l_max=16, num_heads=2, window_size=5, hidden_mult=4),
    "h3": dict(mixer="h3", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16, l_max=16,
               num_heads=1, d_state=8, head_dim=2, hidden_mult=4),
    "retnet": dict(mixer="retnet", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16, l_max=16,
                   num_heads=2, hidden_mult=4),
    # Zoo's per-layer form: Zoology's defaults on layer 0, two bands and a narrower MLP on layer 1.
    "long_conv": dict(mixers=[dict(name="long_conv", d_emb=3, d_hidden=16), dict(name="long_conv", d_emb=5, d_hidden=8)],
                      d_model=32, vocab_size=97, max_position_embeddings=16, l_max=16, hidden_mult=4),
    # Layer 0 as Zoology's MQAR configs (2 heads, no short convolution; chunks of 5 tokens), layer 1 with the
    # short convolutions, other widths and one chunk for the whole sequence.
    "gla": dict(mixers=[dict(name="gla", num_heads=2, expand_k=0.5, expand_v=1.0, gate_low_rank_dim=16,
                             gate_logit_normalizer=16, use_short_conv=False, conv_size=4, chunk_size=5),
                        dict(name="gla", num_heads=4, expand_k=1.0, expand_v=0.5, gate_low_rank_dim=5,
                             gate_logit_normalizer=4, use_short_conv=True, conv_size=3, chunk_size=16)],
                d_model=32, vocab_size=97, max_position_embeddings=16, l_max=16, hidden_mult=4),
    # Four heads of 16 channels and chunks of 5 on layer 0, two heads of 32 and chunks of 16 on layer 1.
    "mamba2": dict(mixers=[dict(name="mamba2", d_state=8, head_dim=16, chunk_size=5),
                           dict(name="mamba2", d_state=4, head_dim=32, chunk_size=16)],
                   d_model=32, vocab_size=97, max_position_embeddings=16, l_max=16, hidden_mult=4),
    # Layer 0: Zoology's ranks with 2 heads, one chunk of 16; layer 1: 4 heads, small ranks, chunks of 5 (the last short).
    "rwkv7": dict(mixers=[dict(name="rwkv7", head_dim=16, decay_low_rank_dim=16, gate_low_rank_dim=64, a_low_rank_dim=16,
                               chunk_size=16),
                          dict(name="rwkv7", head_dim=8, decay_low_rank_dim=4, gate_low_rank_dim=8, a_low_rank_dim=3,
                               chunk_size=5)],
                  d_model=32, vocab_size=97, max_position_embeddings=16, l_max=16, hidden_mult=4),
    # Zoology's add_delta_net / add_gated_delta_net options on layer 0 (one chunk); on layer 1 four heads, the output
    # gate, other value widths (and a kernel-3 convolution for DeltaNet) and chunks of 5 (the last short).
    "delta_net": dict(mixers=[dict(name="delta_net", num_heads=2, expand_k=1.0, expand_v=1.0, use_gate=False, conv_size=4,
                                   chunk_size=64),
                              dict(name="delta_net", num_heads=4, expand_k=1.0, expand_v=2.0, use_gate=True, conv_size=3,
                                   chunk_size=5)],
                      d_model=32, vocab_size=97, max_position_embeddings=16, l_max=16, hidden_mult=4),
    "gated_delta_net": dict(mixers=[dict(name="gated_delta_net", num_heads=2, expand_v=2, use_gate=False, conv_size=4, chunk_size=64),
                                    dict(name="gated_delta_net", num_heads=4, expand_v=1, use_gate=True, conv_size=4, chunk_size=5)],
                            d_model=32, vocab_size=97, max_position_embeddings=16, l_max=16, hidden_mult=4),
}
# Mixers whose projections get std 0.5 instead of 0.02: keys, steps and outputs (Long Conv: filter taps; GLA and
# Mamba-2: gates and steps, so some decays are strong; the delta nets: values, betas and decays) of order one, so
# the recurrences and normalizers are far from their trivial regime and the mixer shows in the loss.
SCALED = ("rwkv", "mamba", "h3", "retnet", "long_conv", "gla", "mamba2", "rwkv7", "delta_net", "gated_delta_net")


def draw_rwkv7_mixes(model):
    """RWKV-7's token-shift mixes, k_k, k_a and r_k, which Zoology's init leaves at zero (and k_k = 0 keeps the
    delta rule's low-rank term off), drawn so that every path carries gradient."""
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for layer in model.backbone.layers:
            m = layer.sequence_mixer
            m.x_x.copy_(torch.rand(m.x_x.shape, generator=g))
            m.k_k.copy_(1 + 0.3 * torch.randn(m.k_k.shape, generator=g))
            m.k_a.copy_(torch.rand(m.k_a.shape, generator=g))
            m.r_k.copy_(0.5 * torch.randn(m.r_k.shape, generator=g))

for name, cfg in CASES.items():
    if only and name not in only:
        continue
    torch.manual_seed(1234)
    if name in CUSTOM:
        # Build the skeleton with attention, put the mixer in, then apply zoology's init again.
        base = {k: v for k, v in cfg.items() if k != "feature_dim"}
        base["mixer"] = "attention"
        model = ZooLanguageModel(base)
        for layer in model.backbone.layers:
            layer.sequence_mixer = CUSTOM[name](cfg)
        model.zoology_init()
    else:
        model = ZooLanguageModel(cfg)
    if name in SCALED:
        for layer in model.backbone.layers:
            for m in layer.sequence_mixer.modules():
                if isinstance(m, torch.nn.Linear):
                    m.weight.data *= 25
    if name == "rwkv7":
        draw_rwkv7_mixes(model)
    model = model.double()  # double: the reference's own rounding is negligible
    model.train()
    batch, length = 3, 16
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, cfg["vocab_size"], (batch, length + 1), generator=g)
    inputs, targets = ids[:, :-1], ids[:, 1:].clone()
    targets[1, 3] = -100  # one unlabeled position
    logits = model(inputs)
    per_token = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none",
                                ignore_index=-100)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
    loss.backward()

    dump = FixtureDump()
    assert not any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules())
    for pname, p in model.named_parameters():
        dump.add("param:" + pname, p)
        dump.add("grad:" + pname, p.grad if p.grad is not None else torch.zeros_like(p))  # Gated DeltaNet's unused D
    dump.add("per_token_loss", per_token)
    dump.write(out_dir, name, {"config": cfg, "batch": batch, "length": length, "inputs": inputs.ravel().tolist(),
                               "targets": targets.ravel().tolist(), "loss": loss.item(), "torch": torch.__version__,
                               "dtype": "float64 model, float32 dump"})
    print(name, "loss", loss.item(), "floats", dump.offset)
