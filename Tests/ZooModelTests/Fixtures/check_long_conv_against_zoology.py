#!/usr/bin/env python3
"""Checks Zoo's PyTorch twin of Long Conv (python/zoo/models/mixers/long_conv.py, the module the
`long_conv` parity fixture comes from) against Zoology's own `ImplicitLongConvolution`.

Usage (torch and einops installed; Zoology is read, never copied into Zoo):
    python3 Tests/ZooModelTests/Fixtures/check_long_conv_against_zoology.py --zoology PATH

PATH is a Zoology checkout (HazyResearch/zoology, e.g. at d88d6f5) or its `zoology/mixers/convolution.py`.
For a few shapes (Zoology's defaults d_emb 3 / d_hidden 16, and d_emb 5; inputs as long as l_max and
shorter) it builds Zoology's module, copies its state_dict into the twin (the fixed features `pos_emb.z`
are compared, not copied), and compares the features, the filters, the outputs and the gradients of
every parameter and of the input, in float32 and float64. Prints the max deviations; exits 1 when one
exceeds its tolerance.
"""
import argparse
import importlib.util
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../python"))
from zoo.models.mixers.long_conv import LongConv  # noqa: E402


def load_zoology_convolution(path):
    file = path if path.endswith(".py") else os.path.join(path, "zoology", "mixers", "convolution.py")
    if not os.path.isfile(file):
        sys.exit(f"no Zoology convolution module at {file}")
    spec = importlib.util.spec_from_file_location("zoology_convolution", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports only torch, math and einops
    return module


def check(zoology, d_model, l_max, length, d_emb, d_hidden, dtype, seed):
    torch.manual_seed(seed)
    theirs = zoology.ImplicitLongConvolution(d_model, l_max, d_emb=d_emb, d_hidden=d_hidden)
    # Order-one filter taps (Zoology's init, N(0, 0.02) weights and zero biases, makes them ~1e-3).
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            if p.requires_grad:
                p.normal_(0, 0.5)
    ours = LongConv(d_model, l_max, d_emb=d_emb, d_hidden=d_hidden)
    state = theirs.state_dict()
    assert set(state) == set(ours.state_dict()), (sorted(state), sorted(ours.state_dict()))
    for name, t in ours.state_dict().items():
        assert t.shape == state[name].shape, (name, t.shape, state[name].shape)
    z_ours = ours.pos_emb.z.clone()
    ours.load_state_dict({k: v for k, v in state.items() if k != "pos_emb.z"}, strict=False)
    theirs, ours = theirs.to(dtype), ours.to(dtype)
    dev = {"pos_emb.z": (z_ours.double() - state["pos_emb.z"].double()).abs().max().item()}
    dev["filter"] = (ours.filter(length).double() - theirs.filter(length).double()).abs().max().item()

    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(3, length, d_model, generator=g, dtype=torch.float64).to(dtype)
    r = torch.randn(3, length, d_model, generator=g, dtype=torch.float64).to(dtype)
    results = []
    for module in (theirs, ours):
        xi = x.clone().requires_grad_(True)
        module.zero_grad()
        y = module(xi)
        (y * r).sum().backward()
        grads = {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}
        results.append((y.detach(), xi.grad.clone(), grads))
    (y0, gx0, g0), (y1, gx1, g1) = results
    scale = y0.abs().max().item()
    dev["output"] = (y1.double() - y0.double()).abs().max().item()
    dev["grad:input"] = (gx1.double() - gx0.double()).abs().max().item()
    assert set(g0) == set(g1), (sorted(g0), sorted(g1))
    dev["grad:params"] = max(((g1[n].double() - g0[n].double()).abs().max() / g0[n].abs().max().clamp_min(1e-30)).item()
                             for n in g0)
    return dev, scale


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoology", required=True, help="Zoology checkout, or its zoology/mixers/convolution.py")
    args = parser.parse_args()
    zoology = load_zoology_convolution(args.zoology)
    cases = [dict(d_model=32, l_max=64, length=64, d_emb=3, d_hidden=16), dict(d_model=32, l_max=64, length=40, d_emb=3, d_hidden=16),
             dict(d_model=16, l_max=48, length=48, d_emb=5, d_hidden=8), dict(d_model=8, l_max=12, length=12, d_emb=7, d_hidden=4)]
    # Tolerances: the features agree to float32 rounding (Zoology computes them in float32, the twin in
    # float64 then rounds); outputs and gradients to that rounding times the filter's reach.
    tolerance = {torch.float32: 1e-4, torch.float64: 1e-4}
    worst = {}
    failed = False
    for dtype in (torch.float32, torch.float64):
        for i, case in enumerate(cases):
            dev, scale = check(zoology, dtype=dtype, seed=10 + i, **case)
            label = (f"{str(dtype).replace('torch.', '')} d={case['d_model']} l_max={case['l_max']} L={case['length']} "
                     f"d_emb={case['d_emb']} d_hidden={case['d_hidden']}")
            print(f"{label}: max |output| {scale:.3g}; " + ", ".join(f"{k} {v:.2e}" for k, v in dev.items()))
            for k, v in dev.items():
                worst[(dtype, k)] = max(worst.get((dtype, k), 0.0), v)
                failed |= (v / (scale if k in ("output", "grad:input") else 1.0)) > tolerance[dtype]
    for dtype in (torch.float32, torch.float64):
        print(f"# max deviation ({str(dtype).replace('torch.', '')}): "
              + ", ".join(f"{k} {v:.2e}" for (dt, k), v in worst.items() if dt == dtype))
    print("# OK" if not failed else "# FAILED")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
