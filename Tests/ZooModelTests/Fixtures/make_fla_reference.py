#!/usr/bin/env python3
"""Writes the references that FlaParityTests compares Zoo's GLA and Mamba-2 with: flash-linear-attention's
(fla's) own layers and its pure-PyTorch reference recurrences, the modules Zoology's mixers/gla.py and
mixers/mamba2.py wrap or copy.

Usage (from the package root):
    pip install --no-deps flash-linear-attention==0.6.0 fla-core==0.6.0    # plus einops and transformers
    python3 Tests/ZooModelTests/Fixtures/make_fla_reference.py Tests/ZooModelTests/Fixtures/fla [case ...]

fla imports Triton, which needs a GPU, at the top of every module, and its layers call Triton kernels. On CPU
this script imports fla with a stand-in for the `triton` package (decorators that keep the function, anything
else a mock; launching a kernel raises) and runs each layer with fla's pure-PyTorch paths in place of its
kernels (fla's own code, nothing of it is copied here):
  - gla, gla_short_conv: `fla.layers.gla.GatedLinearAttention` (Zoology's `GatedLinearAttention` is a copy of
    it); for sequences of at most 64 tokens it calls `fused_recurrent_gla`, replaced by fla's
    `fla.ops.gla.naive.naive_recurrent_gla`; its `FusedRMSNormGated` (norm, then swish gate) by fla's
    `rms_norm_ref(x, w, None, z=g, norm_before_gate=True)`; its `ShortConvolution`s (nn.Conv1d subclasses) by
    their own Conv1d forward and SiLU.
  - mamba2: `fla.layers.mamba2.Mamba2`, on CPU its `torch_forward` (nn.Conv1d, and the chunked SSD in plain
    PyTorch), with its `RMSNormGated` replaced by fla's `rms_norm_ref(..., norm_before_gate=False)` and its
    activation (fla's Triton SiLU, `ACT2FN["silu"]`) by torch's. Its
    parameter names and in_proj layout are those of Zoology's Mamba2 (mamba_ssm's, which needs CUDA).
  - gla_core, simple_gla_core: the recurrences alone, `naive_recurrent_gla` (a decay per key, q scaled by
    1/sqrt(K)) and `fla.ops.simple_gla.naive.naive_recurrent_simple_gla` (one per head, scale 1, as Mamba-2's
    SSD), on random inputs.
fla's reference paths compute in float32 (they call .float()), so everything runs in float32 here.

For each layer case it builds fla's module with its own initialization, adds N(0, 0.1²) to every parameter (so
that a norm weight of ones or a bias of zeros cannot hide a misplaced one), runs it on a fixed input `x` (batch 2,
length 12, width 16) and backpropagates `sum(y * r)` for a fixed `r`; it writes the input, `r`, the output,
the input's gradient and every parameter with its gradient (the format of make_zoology_reference.py). The
core cases write q, k, v, g, `r`, the output and the gradients of q, k, v, g. Output: <case>.json and
<case>.bin (float32 little-endian, concatenated).
"""
import importlib.abc
import importlib.machinery
import os
import sys
from unittest import mock

import torch
import torch.nn.functional as F
from fixture_dump import FixtureDump


class _Kernel:
    """What the stand-in's `triton.jit` returns: names its function; launching it fails."""

    def __init__(self, fn):
        import inspect
        self.fn = getattr(fn, "fn", fn)
        self.__name__ = self.fn.__name__
        self.arg_names = list(inspect.signature(self.fn).parameters)

    def __getitem__(self, grid):
        raise RuntimeError(f"Triton kernel {self.__name__} launched on CPU")

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def _decorator(*args, **kwargs):
    return _Kernel(args[0]) if len(args) == 1 and callable(args[0]) and not kwargs else _Kernel


class _TritonModule(mock.MagicMock):
    """A stand-in for any part of Triton (its attributes are stand-ins too): decorators keep the function."""
    jit = autotune = heuristics = staticmethod(_decorator)


def _importer():
    """The module whose import statement is running (past importlib's own frames)."""
    frame = sys._getframe(2)
    while frame and frame.f_globals.get("__name__", "").startswith(("importlib", "_frozen_importlib")):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame else ""


class _TritonFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers fla's (not torch's) imports of `triton` and its submodules with stand-ins."""

    def find_spec(self, name, path, target=None):
        if (name == "triton" or name.startswith("triton.")) and _importer().startswith(("fla", "triton")):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)

    def create_module(self, spec):
        m = _TritonModule(name=spec.name)
        m.__path__, m.__spec__, m.__version__ = [], spec, "3.4.0"
        if spec.name == "triton":
            # No GPU: fla's device probe falls back to "cpu".
            m.runtime.driver.active.get_current_target.side_effect = RuntimeError("no Triton device")
            m.runtime.driver.active.utils.get_device_properties.side_effect = RuntimeError("no Triton device")
        if spec.name == "triton.runtime.autotuner":
            m.Autotuner = type("Autotuner", (), {"__init__": lambda self, fn, *a, **k: setattr(self, "fn", fn),
                                                 "user_defined_pre_hook": True, "user_defined_post_hook": True})
        return m

    def exec_module(self, module):
        pass


import torch._dynamo  # noqa: E402,F401  (loaded first, so torch itself sees no Triton)

torch.compile = lambda fn=None, **kwargs: fn if fn is not None else (lambda f: f)  # fla's compiled helpers run eagerly
sys.meta_path.insert(0, _TritonFinder())

import fla.layers.gla as fla_gla  # noqa: E402
import fla.layers.mamba2 as fla_mamba2  # noqa: E402
from fla.modules.norm.layernorm_gated import rms_norm_ref  # noqa: E402
from fla.ops.gla.naive import naive_recurrent_gla  # noqa: E402
from fla.ops.simple_gla.naive import naive_recurrent_simple_gla  # noqa: E402
import fla  # noqa: E402

out_dir, only = sys.argv[1], sys.argv[2:]
D, L, BATCH = 16, 12, 2


def recurrent_gla(q, k, v, gk, initial_state=None, output_final_state=False, **kwargs):
    """`fused_recurrent_gla`'s call, answered by fla's naive recurrence."""
    return naive_recurrent_gla(q, k, v, gk, initial_state=initial_state, output_final_state=output_final_state)


fla_gla.fused_recurrent_gla = recurrent_gla
fla_gla.FusedRMSNormGated.forward = lambda self, x, g, **kwargs: rms_norm_ref(
    x, self.weight, self.bias, z=g, eps=self.eps, norm_before_gate=True)
fla_gla.ShortConvolution.forward = lambda self, x, **kwargs: (
    F.silu(torch.nn.Conv1d.forward(self, x.transpose(1, 2))[..., :x.shape[1]].transpose(1, 2)), None)
fla_mamba2.RMSNormGated.forward = lambda self, x, z=None: rms_norm_ref(
    x, self.weight, self.bias, z=z, eps=self.eps, group_size=self.group_size, norm_before_gate=self.norm_before_gate)

# Zoo's options for each layer case (those fla takes by another name, and Zoo's chunk size, which fla's
# reference paths do not have).
GLA_DEFAULTS = dict(mixer="gla", num_heads=4, expand_k=0.5, expand_v=1.0, gate_low_rank_dim=16,
                    gate_logit_normalizer=16, use_short_conv=False, conv_size=4)


def gla():
    return (fla_gla.GatedLinearAttention(hidden_size=D, num_heads=2),
            dict(GLA_DEFAULTS, num_heads=2, chunk_size=5))


def gla_short_conv():
    options = dict(num_heads=4, expand_k=1.0, expand_v=0.5, gate_low_rank_dim=5, gate_logit_normalizer=4,
                   use_short_conv=True, conv_size=3)
    return fla_gla.GatedLinearAttention(hidden_size=D, **options), dict(GLA_DEFAULTS, **options, chunk_size=4)


def mamba2():
    module = fla_mamba2.Mamba2(hidden_size=D, head_dim=8, state_size=8, expand=2, chunk_size=5)
    module.act = torch.nn.SiLU()
    return module, dict(mixer="mamba2", d_state=8, head_dim=8, chunk_size=4)


LAYERS = {"gla": gla, "gla_short_conv": gla_short_conv, "mamba2": mamba2}


def dump(case, named, meta):
    fixture = FixtureDump()
    for key, t in named:
        fixture.add(key, t)
    fixture.write(out_dir, case, {"case": case, "fla": f"flash-linear-attention {fla.__version__}", "torch": torch.__version__,
                                  "dtype": "float32", **meta})
    print(case, "floats", fixture.offset)


os.makedirs(out_dir, exist_ok=True)
for case, make in LAYERS.items():
    if only and case not in only:
        continue
    torch.manual_seed(1234)
    module, config = make()
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape))
    module.train()
    g = torch.Generator().manual_seed(7)
    x = torch.randn(BATCH, L, D, generator=g).requires_grad_()
    r = torch.randn(BATCH, L, D, generator=g)
    y = module(x)[0]
    (y * r).sum().backward()
    named = [("input", x), ("grad_output", r), ("output", y), ("grad:input", x.grad)]
    for name, p in module.named_parameters():
        named += [("param:" + name, p), ("grad:" + name, p.grad)]
    dump(case, named, {"module": f"{type(module).__module__}.{type(module).__name__}",
                       "config": {"d_model": D, "l_max": L, **config}, "batch": BATCH, "length": L})
    print("  output max", float(y.detach().abs().max()))

# The recurrences alone: [batch, L, heads, K] inputs (Zoo's [batch, L, heads·K] layout).
HEADS, K, V = 2, 4, 3
for case, per_key in (("gla_core", True), ("simple_gla_core", False)):
    if only and case not in only:
        continue
    g = torch.Generator().manual_seed(11)
    q, k = (torch.randn(BATCH, L, HEADS, K, generator=g) for _ in range(2))
    v = torch.randn(BATCH, L, HEADS, V, generator=g)
    # Log-gates: logsigmoid of N(0, 4), so some decays are strong.
    gate = F.logsigmoid(2 * torch.randn(BATCH, L, HEADS, *((K,) if per_key else ()), generator=g))
    r = torch.randn(BATCH, L, HEADS, V, generator=g)
    inputs = [t.clone().requires_grad_() for t in (q, k, v, gate)]
    if per_key:
        o, _ = naive_recurrent_gla(*inputs)
        scale = K ** -0.5
    else:
        scale = 1.0
        o, _ = naive_recurrent_simple_gla(*inputs, scale=scale)
    (o * r).sum().backward()
    names = ("q", "k", "v", "g")
    named = [(n, t) for n, t in zip(names, inputs)] + [("grad_output", r), ("output", o)]
    named += [("grad:" + n, t.grad) for n, t in zip(names, inputs)]
    dump(case, named, {"function": "naive_recurrent_gla" if per_key else "naive_recurrent_simple_gla",
                       "config": {"heads": HEADS, "keys": K, "values": V, "scale": scale}, "batch": BATCH, "length": L})
