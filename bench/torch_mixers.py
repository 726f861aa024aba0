#!/usr/bin/env python3
"""Forward+backward benchmark of each PyTorch mixer alone, the peer of `zoo-bench mixers`.

The mixers are Zoo's PyTorch twins, `zoo.models.mixers` in python/ (the same modules the parity
fixtures of ZooModelTests are made from, Tests/ZooModelTests/Fixtures/make_torch_reference.py, and that
load `zoo-train export` directories); this script imports them from ../python.

Benchmark (what `zoo-bench mixers --torch` runs; prints CSV mixer,seq_len,batch,median_ms,tokens_per_s):
    python3 bench/torch_mixers.py --d-model 128 \
        --lengths 256,1024,4096 --tokens 8192 --threads 2 \
        --mixers attention,base_conv,hyena,based,rwkv,mamba,gla,mamba2,rwkv7,delta_net,gated_delta_net

The delta nets' twins compute the delta rule in its chunked form (one triangular solve per chunk): an eager
PyTorch peer of Zoo's chunked kernel (fla's own kernels are Triton, GPU only).
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../python"))
from zoo.models.mixers import NAMES, make_mixer as make_twin  # noqa: E402
from zoo.models.skeleton import model_config  # noqa: E402


#: The catalogue's defaults (`Config.init(layer: 1)`, what `zoo-bench mixers` runs) of the mixers whose options the
#: flat config form lacks.
CATALOGUE_DEFAULTS = {
    "gla": dict(num_heads=4, expand_k=0.5, expand_v=1.0, gate_low_rank_dim=16, gate_logit_normalizer=16,
                use_short_conv=False, conv_size=4, chunk_size=16),
    "mamba2": dict(d_state=128, head_dim=64, chunk_size=16),
    "rwkv7": dict(head_dim=64, decay_low_rank_dim=16, gate_low_rank_dim=64, a_low_rank_dim=16, chunk_size=16),
    "delta_net": dict(num_heads=2, expand_k=1.0, expand_v=1.0, use_gate=False, conv_size=4, chunk_size=64),
    "gated_delta_net": dict(num_heads=2, expand_v=2, use_gate=False, conv_size=4, chunk_size=64),
}


def make_mixer(name, d, length, heads, feature_dim):
    """One mixer as `zoo-bench mixers` builds it (BaseConv: the implicit long convolution), in float32."""
    if name not in NAMES:
        raise SystemExit(f"no PyTorch version of mixer {name}")
    if name in CATALOGUE_DEFAULTS:
        cfg = model_config(dict(mixers=[dict(name=name, **CATALOGUE_DEFAULTS[name])], d_model=d, l_max=length))
    else:
        cfg = model_config(dict(mixer=name, n_layers=1, d_model=d, num_heads=heads, feature_dim=feature_dim,
                                l_max=length, kernel_size=[-1]))
    return make_twin(cfg["mixers"][0], cfg, layer=0).float()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mixers", default="attention,base_conv,hyena,based,rwkv,mamba,gla,mamba2")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--lengths", default="256,1024,4096")
    ap.add_argument("--tokens", type=int, default=8192)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--feature-dim", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print(f"# torch {torch.__version__}, threads {a.threads}")
    print("mixer,seq_len,batch,median_ms,tokens_per_s")
    for name in a.mixers.split(","):
        for length in map(int, a.lengths.split(",")):
            batch = max(1, a.tokens // length)
            mixer = make_mixer(name, a.d_model, length, a.heads, a.feature_dim)
            x = torch.randn(batch, length, a.d_model, requires_grad=True)
            times = []
            for r in range(a.repeats + 1):
                start = time.perf_counter()
                y = mixer(x)
                y.backward(torch.ones_like(y))
                if r > 0:
                    times.append(time.perf_counter() - start)  # the first run warms up
                x.grad = None
                mixer.zero_grad(set_to_none=True)
            median = sorted(times)[len(times) // 2]
            print(f"{name},{length},{batch},{median * 1000:.1f},{batch * length / median:.0f}", flush=True)


if __name__ == "__main__":
    main()
