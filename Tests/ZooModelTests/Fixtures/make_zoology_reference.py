#!/usr/bin/env python3
"""Writes the references that ZoologyParityTests compares Zoo's mixers with: Zoology's own modules.

Usage (from the package root; Zoology is not installed, only read from a checkout):
    python3 Tests/ZooModelTests/Fixtures/make_zoology_reference.py --zoology /tmp/zoology \
        Tests/ZooModelTests/Fixtures/zoology [case ...]

where /tmp/zoology is a checkout of HazyResearch/zoology at d88d6f5. Needs torch, numpy, einops,
opt_einsum, pydantic, scipy and pandas (`zoology.utils` imports pandas and wandb; wandb, used there
only for experiment logging, is replaced by an empty module when missing).

For each case it builds Zoology's mixer module on CPU with its own initialization (PyTorch's
defaults for the projections: of order one, unlike the model's 0.02; rwkv7's are all drawn), rounds its parameters to
float32, runs it in float64 on a fixed input `x` (batch 2,
length 12, width 16), and backpropagates `sum(y * r)` for a fixed `r`. It writes the input, `r`,
the output, the input's gradient, and every parameter with its gradient under Zoo's parameter name
(`MAP` renames and reshapes): <case>.json (config, names, shapes, offsets) and <case>.bin (float32
little-endian, concatenated). None of Zoology's code is copied here or committed.

What runs on CPU at d88d6f5:
  - attention (MHA), base_conv (short and implicit long convolution), hyena, based (its "linear"
    train view without the CUDA causal_dot_product kernel), h3: as they are.
  - mamba: `zoology/mixers/mamba.py` imports CUDA-only modules (causal_conv1d, selective_scan_cuda
    and a Triton layer norm the mixer does not use). They are replaced by empty modules, and the
    mixer runs with `use_fast_path=False`, its own `nn.Conv1d` path (causal_conv1d_fn None) and
    mamba_ssm's pure-PyTorch `selective_scan_ref` from the same package in place of the CUDA scan.
  - rwkv7: `zoology/mixers/rwkv7.py` (RWKV7Attention) wraps flash-linear-attention (fla), whose package needs
    Triton. Needs fla installed (`pip install flash-linear-attention fla-core --no-deps`, 0.6.0; nothing of it is
    imported as a package): its LoRA comes from fla's own layers/rwkv6.py, the core `chunk_rwkv7` is replaced by
    fla's pure-PyTorch `dplr_recurrence` (the token-by-token reference of the same generalized delta rule,
    float32 inside), and fla's Triton GroupNorm and l2_norm by their formulas (see `rwkv7`). All parameters are
    drawn (Zoology's init leaves several at zero). fla's own RWKV7Attention layer is a different module
    (separate x_r ... x_g, its RWKV init, F.normalize, fused Triton ops) and is not the peer.
  - rwkv does not run on CPU: `zoology/mixers/rwkv.py` compiles its CUDA WKV kernel when imported
    (torch.utils.cpp_extension.load of wkv_cuda.cu) and runs it on 'cuda' tensors only, casting
    the output to bf16. Zoo's RWKV is checked against its PyTorch twin (make_torch_reference.py).
"""
import argparse
import os
import sys
import types

import torch
from fixture_dump import FixtureDump

parser = argparse.ArgumentParser()
parser.add_argument("--zoology", required=True, help="a checkout of HazyResearch/zoology (d88d6f5)")
parser.add_argument("out_dir")
parser.add_argument("cases", nargs="*")
args = parser.parse_args()
sys.path.insert(0, os.path.abspath(args.zoology))

try:
    import wandb  # noqa: F401
except ImportError:
    sys.modules["wandb"] = types.ModuleType("wandb")

D, L, BATCH = 16, 12, 2


def attention():
    from zoology.mixers.attention import MHA
    return MHA(D, num_heads=2), dict(mixer="attention", num_heads=2)


def base_conv(kernel_size):
    def make():
        from zoology.mixers.base_conv import BaseConv
        return BaseConv(D, L, kernel_size=kernel_size, layer_idx=0), dict(mixer="base_conv", kernel_size=[kernel_size])
    return make


def hyena():
    from zoology.mixers.hyena import Hyena
    return Hyena(D, L), dict(mixer="hyena")


def based():
    from zoology.mixers.based import Based
    return (Based(D, l_max=L, feature_dim=4, num_heads=2, num_key_value_heads=2),
            dict(mixer="based", num_heads=2, feature_dim=4))


def h3():
    from zoology.mixers.h3 import H3
    return H3(D, l_max=L, d_state=8, head_dim=2), dict(mixer="h3", d_state=8, head_dim=2)


def mamba():
    # CUDA-only imports of zoology/mixers/mamba.py and its selective_scan_interface, unused on this path.
    for name in ["causal_conv1d", "causal_conv1d_cuda", "selective_scan_cuda",
                 "zoology.mixers.mamba_ssm.triton.layernorm"]:
        sys.modules[name] = types.ModuleType(name)
    sys.modules["causal_conv1d"].causal_conv1d_fn = None
    layernorm = sys.modules["zoology.mixers.mamba_ssm.triton.layernorm"]
    layernorm.RMSNorm = layernorm.layer_norm_fn = layernorm.rms_norm_fn = None
    import zoology.mixers.mamba as zmamba
    from zoology.mixers.mamba_ssm.selective_scan_interface import selective_scan_ref
    zmamba.causal_conv1d_fn = None
    zmamba.selective_scan_fn = selective_scan_ref
    return zmamba.Mamba(D, d_state=8, use_fast_path=False), dict(mixer="mamba", d_state=8)


def rwkv7():
    # zoology/mixers/rwkv7.py imports fla (flash-linear-attention), whose package needs Triton. The pieces it uses
    # are put in as modules: fla's LoRA from the installed fla's own fla/layers/rwkv6.py (loaded by path; its other
    # imports, unused by LoRA, empty), chunk_rwkv7 as fla's pure-PyTorch dplr_recurrence (fla/ops/
    # generalized_delta_rule/dplr/naive.py, loaded by path; it computes in float32 and scales q by K^-0.5, which is
    # undone for Zoology's scale 1), and fla's Triton GroupNorm and l2_norm as their formulas (fla's group_norm_ref:
    # per-group mean and biased variance, eps inside the square root; l2norm: x / sqrt(sum x^2 + 1e-6)).
    import importlib.util
    fla_dir = os.path.dirname(importlib.util.find_spec("fla").origin)

    def load(name, path):
        spec = importlib.util.spec_from_file_location(name, os.path.join(fla_dir, path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    def stub(name, **attrs):
        module = sys.modules[name] = types.ModuleType(name)
        module.__path__ = []
        module.__dict__.update(attrs)
        return module

    class GroupNorm(torch.nn.Module):
        def __init__(self, num_groups, hidden_size, elementwise_affine=True, bias=False, eps=1e-5):
            super().__init__()
            self.num_groups, self.eps = num_groups, eps
            self.weight = torch.nn.Parameter(torch.ones(hidden_size))
            self.bias = torch.nn.Parameter(torch.zeros(hidden_size))

        def forward(self, x):
            g = x.unflatten(-1, (self.num_groups, -1))
            g = g - g.mean(-1, keepdim=True)
            g = g / torch.sqrt(g.square().mean(-1, keepdim=True) + self.eps)
            return g.flatten(-2) * self.weight + self.bias

    def l2_norm(x):
        return x / torch.sqrt(x.float().square().sum(-1, keepdim=True) + 1e-6).to(x.dtype)

    naive = load("fla_dplr_naive", "ops/generalized_delta_rule/dplr/naive.py")

    def rule(r, w, k, v, a, b, scale=1.0, initial_state=None, output_final_state=False, cu_seqlens=None,
             head_first=False):
        assert initial_state is None and not head_first
        heads_first = [t.transpose(1, 2).float() for t in (r, k, v, a, b, w)]
        heads_first[0] = heads_first[0] * (scale * r.shape[-1] ** 0.5)
        o, state = naive.dplr_recurrence(*heads_first, output_final_state=output_final_state)
        return o.transpose(1, 2).to(r.dtype), state

    for name in ["fla", "fla.layers", "fla.ops", "fla.modules.activations", "fla.modules.token_shift"]:
        stub(name)
    stub("fla.layers.utils", get_layer_cache=None, update_layer_cache=None)
    stub("fla.ops.rwkv6", chunk_rwkv6=None, fused_recurrent_rwkv6=None)
    stub("fla.modules", GroupNorm=GroupNorm)
    stub("fla.modules.l2norm", l2_norm=l2_norm)
    stub("fla.ops.rwkv7", chunk_rwkv7=rule, fused_recurrent_rwkv7=rule)
    sys.modules["fla.modules.activations"].ACT2FN = {}
    sys.modules["fla.modules.token_shift"].token_shift = None
    load("fla.layers.rwkv6", "layers/rwkv6.py")
    from zoology.mixers.rwkv7 import RWKV7Attention
    options = dict(head_dim=8, decay_low_rank_dim=4, gate_low_rank_dim=6, a_low_rank_dim=3)
    module = RWKV7Attention(d_model=D, layer_idx=0, **options)
    # Zoology's init leaves x_x, k_k, k_a, r_k at zero and fla's LoRA zeroes its first factor (k_k = 0 would keep
    # the low-rank term off): every parameter is drawn, the linears with PyTorch's defaults.
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.Linear):
                m.reset_parameters()
        module.x_x.copy_(torch.rand(module.x_x.shape, generator=g))
        module.k_k.copy_(1 + 0.3 * torch.randn(module.k_k.shape, generator=g))
        module.k_a.copy_(torch.rand(module.k_a.shape, generator=g))
        module.r_k.copy_(0.5 * torch.randn(module.r_k.shape, generator=g))
        module.g_norm.weight.copy_(1 + 0.1 * torch.randn(D, generator=g))
        module.g_norm.bias.copy_(0.1 * torch.randn(D, generator=g))
    return module, dict(mixer="rwkv7", chunk_size=5, **options)


CASES = {"attention": attention, "base_conv_short": base_conv(3), "base_conv_long": base_conv(-1),
         "hyena": hyena, "based": based, "h3": h3, "mamba": mamba, "rwkv7": rwkv7}

# Zoology's parameter names that Zoo spells otherwise (shapes follow Zoo's; values are reshaped).
MAP = {"based": {"proj_o.weight": "out_proj.weight"}}
# Zoology parameters that Zoo computes instead of learning (checked equal to Zoo's by the forward pass).
FIXED = {"base_conv_long": {"conv.pos_emb.z"}}

os.makedirs(args.out_dir, exist_ok=True)
for case, make in CASES.items():
    if args.cases and case not in args.cases:
        continue
    torch.manual_seed(1234)
    module, config = make()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.to(torch.float32))
    module = module.double()
    module.train()
    g = torch.Generator().manual_seed(7)
    x = torch.randn(BATCH, L, D, generator=g, dtype=torch.float64).float().double().requires_grad_()
    r = torch.randn(BATCH, L, D, generator=g, dtype=torch.float64).float().double()
    y = module(x)
    (y * r).sum().backward()

    dump = FixtureDump()
    dump.add("input", x)
    dump.add("grad_output", r)
    dump.add("output", y)
    dump.add("grad:input", x.grad)
    for name, p in module.named_parameters():
        if name in FIXED.get(case, set()):
            continue
        zoo = MAP.get(case, {}).get(name, name)
        dump.add("param:" + zoo, p)
        dump.add("grad:" + zoo, p.grad)
    dump.write(args.out_dir, case, {
        "case": case, "zoology": "HazyResearch/zoology d88d6f5", "module": type(module).__name__,
        "config": {"d_model": D, "l_max": L, **config}, "batch": BATCH, "length": L, "torch": torch.__version__,
        "dtype": "float64 module from float32 values, float32 dump"})
    print(case, type(module).__name__, "floats", dump.offset, "output max", float(y.detach().abs().max()))
