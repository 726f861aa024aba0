#!/usr/bin/env python3
"""Writes the references that ZoologyParityTests compares Zoo's mixers with: Zoology's own modules.

Usage (from the package root; Zoology is not installed, only read from a checkout):
    python3 Tests/ZooModelTests/Fixtures/make_zoology_reference.py --zoology /tmp/zoology \
        Tests/ZooModelTests/Fixtures/zoology [case ...]

where /tmp/zoology is a checkout of HazyResearch/zoology at d88d6f5. Needs torch, numpy, einops,
opt_einsum, pydantic, scipy and pandas (`zoology.utils` imports pandas and wandb; wandb, used there
only for experiment logging, is replaced by an empty module when missing).

For each case it builds Zoology's mixer module on CPU with its own initialization (PyTorch's
defaults for the projections: of order one, unlike the model's 0.02), rounds its parameters to
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
  - rwkv does not run on CPU: `zoology/mixers/rwkv.py` compiles its CUDA WKV kernel when imported
    (torch.utils.cpp_extension.load of wkv_cuda.cu) and runs it on 'cuda' tensors only, casting
    the output to bf16. Zoo's RWKV is checked against its PyTorch twin (make_torch_reference.py).
"""
import argparse
import json
import os
import sys
import types

import numpy as np
import torch

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


CASES = {"attention": attention, "base_conv_short": base_conv(3), "base_conv_long": base_conv(-1),
         "hyena": hyena, "based": based, "h3": h3, "mamba": mamba}

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

    tensors, index, offset = [], [], 0

    def add(key, t):
        global offset
        a = t.detach().to(torch.float32).contiguous().numpy().ravel()
        index.append({"name": key, "shape": list(t.shape), "offset": offset, "count": int(a.size)})
        tensors.append(a)
        offset += int(a.size)

    add("input", x)
    add("grad_output", r)
    add("output", y)
    add("grad:input", x.grad)
    for name, p in module.named_parameters():
        if name in FIXED.get(case, set()):
            continue
        zoo = MAP.get(case, {}).get(name, name)
        add("param:" + zoo, p)
        add("grad:" + zoo, p.grad)
    meta = {"case": case, "zoology": "HazyResearch/zoology d88d6f5", "module": type(module).__name__,
            "config": {"d_model": D, "l_max": L, **config}, "batch": BATCH, "length": L, "torch": torch.__version__,
            "dtype": "float64 module from float32 values, float32 dump", "tensors": index}
    with open(f"{args.out_dir}/{case}.json", "w") as f:
        json.dump(meta, f, indent=1)
    np.concatenate(tensors).astype("<f4").tofile(f"{args.out_dir}/{case}.bin")
    print(case, type(module).__name__, "floats", offset, "output max", float(y.detach().abs().max()))
