"""PyTorch twins of all of Zoo's sequence mixers (Sources/ZooModel/Mixers), one file each, with Zoo's parameter
names and shapes, and `make_mixer`, which builds the mixer of one layer from a model config."""
from .attention import MHA
from .base_conv import BaseConv
from .based import Based
from .h3 import H3
from .hyena import Hyena
from .mamba import Mamba
from .retnet import RetNet
from .rwkv import RWKV

#: Zoo mixers that have a PyTorch twin.
NAMES = ("attention", "sliding_window_attention", "base_conv", "based", "h3", "hyena", "mamba", "retnet", "rwkv")


def make_mixer(name, cfg, layer):
    """The mixer `name` of block `layer` for the model config `cfg` (Zoo's `ModelConfig` keys)."""
    d = cfg["d_model"]
    if name == "attention":
        return MHA(d, cfg["num_heads"], cfg["attn_dropout"])
    if name == "sliding_window_attention":
        return MHA(d, cfg["num_heads"], cfg["attn_dropout"], window=cfg["window_size"])
    if name == "base_conv":
        ks = cfg["kernel_size"]
        return BaseConv(d, cfg["l_max"], ks[layer % len(ks)] if isinstance(ks, (list, tuple)) else ks)
    if name == "based":
        return Based(d, cfg["num_heads"], cfg["feature_dim"])
    if name == "h3":
        return H3(d, cfg["d_state"], cfg["head_dim"])
    if name == "hyena":
        return Hyena(d, cfg["l_max"])
    if name == "mamba":
        return Mamba(d, cfg["d_state"])
    if name == "retnet":
        return RetNet(d, cfg["num_heads"])
    if name == "rwkv":
        return RWKV(d, layer)
    raise ValueError(f"mixer '{name}' has no PyTorch twin (twins: {', '.join(NAMES)})")
