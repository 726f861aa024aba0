"""PyTorch twins of all of Zoo's sequence mixers (Sources/ZooModel/Mixers), one file each, with Zoo's parameter
names and shapes, and `make_mixer`, which builds the mixer of one layer from a model config."""
from .attention import MHA
from .base_conv import BaseConv
from .based import Based
from .delta_net import DeltaNet
from .gated_delta_net import GatedDeltaNet
from .gla import GLA
from .h3 import H3
from .hyena import Hyena
from .long_conv import LongConv
from .mamba import Mamba
from .mamba2 import Mamba2
from .retnet import RetNet
from .rwkv import RWKV
from .rwkv7 import RWKV7

#: Zoo mixers that have a PyTorch twin.
NAMES = ("attention", "sliding_window_attention", "base_conv", "based", "delta_net", "gated_delta_net", "gla", "h3",
         "hyena", "long_conv", "mamba", "mamba2", "retnet", "rwkv", "rwkv7")


def make_mixer(mixer, cfg, layer):
    """The mixer of block `layer`: `mixer` is the layer's config (`{"name": ..., options}`, every option of
    the mixer present, as Zoo stores it), `cfg` the model config (`d_model`, `l_max`)."""
    d, name = cfg["d_model"], mixer["name"]
    if name == "attention":
        return MHA(d, mixer["num_heads"], mixer["attn_dropout"])
    if name == "sliding_window_attention":
        return MHA(d, mixer["num_heads"], mixer["attn_dropout"], window=mixer["window_size"])
    if name == "base_conv":
        return BaseConv(d, cfg["l_max"], mixer["kernel_size"])
    if name == "based":
        return Based(d, mixer["num_heads"], mixer["feature_dim"])
    if name == "gla":
        return GLA(d, mixer["num_heads"], mixer["expand_k"], mixer["expand_v"], mixer["gate_low_rank_dim"],
                   mixer["gate_logit_normalizer"], mixer["use_short_conv"], mixer["conv_size"], mixer["chunk_size"])
    if name == "h3":
        return H3(d, mixer["d_state"], mixer["head_dim"])
    if name == "hyena":
        return Hyena(d, cfg["l_max"])
    if name == "long_conv":
        return LongConv(d, cfg["l_max"], mixer["d_emb"], mixer["d_hidden"])
    if name == "delta_net":
        return DeltaNet(d, mixer["num_heads"], mixer["expand_k"], mixer["expand_v"], mixer["use_gate"], mixer["conv_size"],
                        mixer["chunk_size"])
    if name == "gated_delta_net":
        return GatedDeltaNet(d, mixer["num_heads"], mixer["expand_v"], mixer["use_gate"], mixer["conv_size"], mixer["chunk_size"])
    if name == "mamba":
        return Mamba(d, mixer["d_state"])
    if name == "mamba2":
        return Mamba2(d, mixer["d_state"], mixer["head_dim"], mixer["chunk_size"])
    if name == "retnet":
        return RetNet(d, mixer["num_heads"])
    if name == "rwkv":
        return RWKV(d, layer)
    if name == "rwkv7":
        return RWKV7(d, mixer["head_dim"], mixer["decay_low_rank_dim"], mixer["gate_low_rank_dim"], mixer["a_low_rank_dim"],
                     mixer["chunk_size"])
    raise ValueError(f"mixer '{name}' has no PyTorch twin (twins: {', '.join(NAMES)})")
