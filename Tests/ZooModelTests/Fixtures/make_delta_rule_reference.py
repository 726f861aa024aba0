#!/usr/bin/env python3
"""Writes the references that Zoo's delta rule and its two mixers (delta_net, gated_delta_net) are compared with:
flash-linear-attention's own pure-PyTorch recurrences, and Zoology's own DeltaNet and GatedDeltaNet modules.

Usage (from the package root; torch, numpy and einops installed, fla installed without its dependencies:
`pip install flash-linear-attention fla-core --no-deps`; Zoology only read from a checkout):
    python3 Tests/ZooModelTests/Fixtures/make_delta_rule_reference.py --zoology /tmp/zoology \
        Tests/ZooModelTests/Fixtures [case ...]

where /tmp/zoology is a checkout of HazyResearch/zoology at d88d6f5. Nothing of fla or Zoology is copied here
or committed: their files are loaded from where they are.

fla's package cannot be imported on a machine without Triton (its __init__ imports every kernel), so its
`ops/delta_rule/naive.py` and `ops/gated_delta_rule/naive.py` (torch and einops only) are loaded by path.
  - fla/<case>: the op. fla's `delta_rule_recurrence` and `naive_recurrent_gated_delta_rule` on fixed inputs
    (unit keys, beta in (0, 1), log decays below 0; batch 2, length 72, 2 heads, K 6, V 4), in float64, and
    the gradients of sum(o * r): inputs, r, output, gradients, in Zoo's layout ([batch, L, heads * dim]). The
    script also checks fla's naive chunked forms (`delta_rule_chunkwise`, `naive_chunk_gated_delta_rule`,
    chunks of 8) against the recurrences.
  - zoology/<case>: the mixer. Zoology's `zoology/mixers/delta_net.py` and `gated_delta_net.py` import
    `fla.modules` (Triton RMSNorm, FusedRMSNormSwishGate, ShortConvolution) and fla's Triton chunk/recurrent
    kernels; a stand-in `fla` package is put in their place: the kernels become fla's naive recurrences above
    (after fla's in-kernel L2 norm of q and k, x / sqrt(sum x^2 + 1e-6)), ShortConvolution an nn.Conv1d
    (depthwise, causal, SiLU), the norms x / sqrt(mean x^2 + eps) * w (times g * sigmoid(g) for the gated one).
    Zoology casts q, k, v (and beta, g) to bfloat16 before fla's kernels and the output back to float32;
    those casts are made no-ops here, so the module runs in float64 throughout. As make_zoology_reference.py
    does: PyTorch's default init, parameters rounded to float32, input batch 2, length 80 (two of Zoo's
    64-token chunks), width 16, gradients of sum(y * r); written under Zoology's parameter names, which are
    Zoo's (`D`, which Zoology's GatedDeltaNet never uses, has a zero gradient).
The script also copies each Zoology module's weights into Zoo's PyTorch twin (python/zoo/models/mixers) and
checks that the twin gives the same output and gradients; it exits 1 when any check is off.
Output: <case>.json (config, names, shapes, offsets) and <case>.bin (float32 little-endian, concatenated).
"""
import argparse
import importlib.util
import os
import sys
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../python"))
from fixture_dump import FixtureDump  # noqa: E402
from zoo.models.mixers import DeltaNet as TwinDeltaNet, GatedDeltaNet as TwinGatedDeltaNet  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--zoology", required=True, help="a checkout of HazyResearch/zoology (d88d6f5)")
parser.add_argument("out_dir")
parser.add_argument("cases", nargs="*")
args = parser.parse_args()


class Float64Torch(types.ModuleType):
    """`torch` as the loaded modules see it: bfloat16 and float32 (their casts) mean float64."""

    def __init__(self):
        super().__init__("torch")
        self.bfloat16 = self.float32 = self.float = torch.float64

    def __getattr__(self, name):
        return getattr(torch, name)


def load(path, name):
    if not os.path.isfile(path):
        sys.exit(f"not found: {path}")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.torch = Float64Torch()
    return module


class Float64Tensors:
    """Within it, `tensor.float()` keeps a float64 tensor float64 (Zoology's and fla's casts to float32)."""

    def __enter__(self):
        self.original = torch.Tensor.float
        original = self.original
        torch.Tensor.float = lambda t, *a, **k: t if t.dtype == torch.float64 else original(t, *a, **k)

    def __exit__(self, *exc):
        torch.Tensor.float = self.original


fla_root = importlib.util.find_spec("fla").submodule_search_locations[0]
naive = load(os.path.join(fla_root, "ops", "delta_rule", "naive.py"), "fla_delta_rule_naive")
naive_gated = load(os.path.join(fla_root, "ops", "gated_delta_rule", "naive.py"), "fla_gated_delta_rule_naive")


def l2norm(x):
    """fla's l2norm_fwd: x / sqrt(sum x^2 + 1e-6) over the head's channels."""
    return x / torch.sqrt((x * x).sum(-1, keepdim=True) + 1e-6)


def delta_rule(q, k, v, beta, initial_state=None, output_final_state=False, cu_seqlens=None, head_first=False,
               use_qk_l2norm_in_kernel=False, **_):
    """fla's chunk_delta_rule / fused_recurrent_delta_rule ([B, T, H, D] inputs) by its naive recurrence."""
    assert initial_state is None and cu_seqlens is None and not head_first
    if use_qk_l2norm_in_kernel:
        q, k = l2norm(q), l2norm(k)
    o, state = naive.delta_rule_recurrence(*(x.transpose(1, 2) for x in (q, k, v, beta)),
                                           output_final_state=output_final_state)
    return o.transpose(1, 2), state


def gated_delta_rule(q, k, v, g, beta, initial_state=None, output_final_state=False, cu_seqlens=None, head_first=False,
                     use_qk_l2norm_in_kernel=False, **_):
    """fla's chunk_gated_delta_rule / fused_recurrent_gated_delta_rule by its naive recurrence."""
    assert initial_state is None and cu_seqlens is None and not head_first
    if use_qk_l2norm_in_kernel:
        q, k = l2norm(q), l2norm(k)
    return naive_gated.naive_recurrent_gated_delta_rule(q, k, v, beta, g, output_final_state=output_final_state)


class ShortConvolution(nn.Conv1d):
    """Stand-in for fla's ShortConvolution: the same Conv1d weights, causal, SiLU when asked."""

    def __init__(self, hidden_size, kernel_size, bias=False, activation=None, **_):
        super().__init__(hidden_size, hidden_size, kernel_size, groups=hidden_size, padding=kernel_size - 1, bias=bias)
        self.activation = activation

    def forward(self, x, mask=None, cache=None, output_final_state=False, seq_idx=None, **_):
        assert mask is None and cache is None
        y = super().forward(x.transpose(1, 2))[..., :x.shape[1]].transpose(1, 2)
        return (F.silu(y) if self.activation in ("silu", "swish") else y), None


class RMSNorm(nn.Module):
    """Stand-in for fla's RMSNorm (its rms_norm_ref): x / sqrt(mean x^2 + eps) * weight."""

    def __init__(self, hidden_size, elementwise_affine=True, eps=1e-5, **_):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(hidden_size)), eps

    def forward(self, x):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + self.eps) * self.weight


class FusedRMSNormSwishGate(RMSNorm):
    """Stand-in for fla's FusedRMSNormSwishGate: RMSNorm(x) * g * sigmoid(g)."""

    def forward(self, x, g):
        return super().forward(x) * g * torch.sigmoid(g)


for name in ["fla", "fla.modules", "fla.ops", "fla.ops.delta_rule", "fla.ops.gated_delta_rule"]:
    sys.modules[name] = types.ModuleType(name)
sys.modules["fla.modules"].__dict__.update(ShortConvolution=ShortConvolution, RMSNorm=RMSNorm,
                                           FusedRMSNormSwishGate=FusedRMSNormSwishGate)
sys.modules["fla.ops.delta_rule"].__dict__.update(chunk_delta_rule=delta_rule, fused_recurrent_delta_rule=delta_rule)
sys.modules["fla.ops.gated_delta_rule"].__dict__.update(chunk_gated_delta_rule=gated_delta_rule,
                                                        fused_recurrent_gated_delta_rule=gated_delta_rule)
mixers = os.path.join(os.path.abspath(args.zoology), "zoology", "mixers")
zoology_delta_net = load(os.path.join(mixers, "delta_net.py"), "zoology_delta_net")
zoology_gated_delta_net = load(os.path.join(mixers, "gated_delta_net.py"), "zoology_gated_delta_net")

failed = False


def check(what, a, b, tolerance=1e-10):
    """Prints and records whether a equals b (relative to b's largest magnitude)."""
    global failed
    deviation = ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()
    failed |= deviation > tolerance
    print(f"  {what}: relative deviation {deviation:.1e}" + ("  <-- FAILED" if deviation > tolerance else ""))


def op_case(gated):
    """fla's naive recurrence (and its naive chunked form, checked) on fixed inputs, [B, H, L, D] inside."""
    B, H, L, K, V = 2, 2, 72, 6, 4
    g = torch.Generator().manual_seed(11 if gated else 10)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64).float().double()

    q, k, v = randn(B, H, L, K), F.normalize(randn(B, H, L, K), dim=-1).float().double(), randn(B, H, L, V)
    beta = torch.sigmoid(randn(B, H, L)).float().double()
    decay = -F.softplus(randn(B, H, L)).float().double()
    r = randn(B, H, L, V)
    inputs = [t.clone().requires_grad_() for t in ([q, k, v, beta] + ([decay] if gated else []))]
    with Float64Tensors():
        if gated:
            bthd = [t.transpose(1, 2) for t in inputs]
            o = naive_gated.naive_recurrent_gated_delta_rule(*bthd[:4], bthd[4])[0].transpose(1, 2)
            chunked = naive_gated.naive_chunk_gated_delta_rule(
                *(t.transpose(1, 2) for t in (q, k, v, decay, beta)), chunk_size=8)[0].transpose(1, 2)
        else:
            o = naive.delta_rule_recurrence(*inputs)[0]
            chunked = naive.delta_rule_chunkwise(q, k, v, beta, chunk_size=8)[0]
        (o * r).sum().backward()
    check("fla's naive chunked form vs its recurrence", chunked, o.detach())
    dump = FixtureDump()
    names = ["q", "k", "v", "beta"] + (["log_decay"] if gated else [])

    def zoo_layout(t):  # [B, H, L, D] -> [B, L, H * D]; [B, H, L] -> [B, L, H]
        return t.transpose(1, 2).flatten(2) if t.dim() == 4 else t.transpose(1, 2)

    for n, t in zip(names, inputs):
        dump.add(n, zoo_layout(t))
    dump.add("grad_output", zoo_layout(r))
    dump.add("output", zoo_layout(o))
    for n, t in zip(names, inputs):
        dump.add("grad:" + n, zoo_layout(t.grad))
    source = "fla/ops/" + ("gated_delta_rule/naive.py naive_recurrent_gated_delta_rule" if gated else
                           "delta_rule/naive.py delta_rule_recurrence")
    return dump, {"fla": source, "batch": B, "length": L, "config": {"heads": H, "key_dim": K, "value_dim": V}}


D, L, BATCH = 16, 80, 2
# Zoology's modules (its `add_delta_net` / `add_gated_delta_net` options, and a gated-output variant) and the
# matching Zoo config.
MIXER_CASES = {
    "delta_net": (lambda: zoology_delta_net.DeltaNet(d_model=D, num_heads=2, use_gate=False, conv_size=4, layer_idx=0, l_max=L),
                  dict(mixer="delta_net", num_heads=2, use_gate=False, conv_size=4)),
    "delta_net_gate": (lambda: zoology_delta_net.DeltaNet(d_model=D, num_heads=4, expand_v=2.0, use_gate=True, conv_size=3,
                                                          layer_idx=0, l_max=L),
                       dict(mixer="delta_net", num_heads=4, expand_v=2.0, use_gate=True, conv_size=3)),
    "gated_delta_net": (lambda: zoology_gated_delta_net.GatedDeltaNet(d_model=D, num_heads=2, use_gate=False, conv_size=4,
                                                                      layer_idx=0, l_max=L),
                        dict(mixer="gated_delta_net", num_heads=2, expand_v=2, use_gate=False, conv_size=4)),
    "gated_delta_net_gate": (lambda: zoology_gated_delta_net.GatedDeltaNet(d_model=D, num_heads=4, expand_v=1, use_gate=True,
                                                                           conv_size=4, layer_idx=0, l_max=L),
                             dict(mixer="gated_delta_net", num_heads=4, expand_v=1, use_gate=True, conv_size=4)),
}


def twin(config):
    options = {k: v for k, v in config.items() if k != "mixer"}
    return (TwinDeltaNet if config["mixer"] == "delta_net" else TwinGatedDeltaNet)(D, **options)


def mixer_case(case):
    make, config = MIXER_CASES[case]
    torch.manual_seed(1234)
    module = make()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.to(torch.float32))
    module = module.double().train()
    g = torch.Generator().manual_seed(7)
    x = torch.randn(BATCH, L, D, generator=g, dtype=torch.float64).float().double().requires_grad_()
    r = torch.randn(BATCH, L, D, generator=g, dtype=torch.float64).float().double()
    with Float64Tensors():
        y = module(x)
        (y * r).sum().backward()
    # Zoo's PyTorch twin with the same weights.
    other = twin(config).double()
    other.load_state_dict(module.state_dict())
    xt = x.detach().clone().requires_grad_()
    yt = other(xt)
    (yt * r).sum().backward()
    check("twin's output vs Zoology's", yt.detach(), y.detach())
    check("twin's input gradient vs Zoology's", xt.grad, x.grad)
    for (n, p), (_, pt) in zip(module.named_parameters(), other.named_parameters()):
        if p.grad is not None:
            check(f"twin's grad:{n} vs Zoology's", pt.grad, p.grad)
    dump = FixtureDump()
    dump.add("input", x)
    dump.add("grad_output", r)
    dump.add("output", y)
    dump.add("grad:input", x.grad)
    for n, p in module.named_parameters():
        dump.add("param:" + n, p)
        dump.add("grad:" + n, p.grad if p.grad is not None else torch.zeros_like(p))
    module_file = "delta_net.py" if config["mixer"] == "delta_net" else "gated_delta_net.py"
    return dump, {"case": case, "zoology": "HazyResearch/zoology d88d6f5", "module": f"zoology/mixers/{module_file} "
                  f"{type(module).__name__} with fla's naive recurrences", "config": {"d_model": D, "l_max": L, **config},
                  "batch": BATCH, "length": L, "dtype": "float64 module from float32 values, float32 dump"}


for case, gated in [("delta_rule", False), ("gated_delta_rule", True)]:
    if not args.cases or case in args.cases:
        print(case)
        dump, meta = op_case(gated)
        dump.write(os.path.join(args.out_dir, "fla"), case, {"case": case, **meta,
                                                             "dtype": "float64 from float32 values, float32 dump",
                                                             "torch": torch.__version__})
        print(f"{case}: {dump.offset} floats")
for case in MIXER_CASES:
    if not args.cases or case in args.cases:
        print(case)
        dump, meta = mixer_case(case)
        dump.write(os.path.join(args.out_dir, "zoology"), case, {**meta, "torch": torch.__version__})
        print(f"{case}: {dump.offset} floats")
print("# OK" if not failed else "# FAILED")
sys.exit(1 if failed else 0)
