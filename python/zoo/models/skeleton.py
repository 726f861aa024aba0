"""Zoology's language model skeleton as Zoo implements it (Sources/ZooModel/LanguageModel.swift): token
embeddings plus learned positions, pre-norm blocks (residual += mixer(LN(residual)), then the MLP
fc2(gelu(fc1(LN(residual))))), a final residual add and LayerNorm, and a head tied to the token
embedding. Parameter names are Zoology's state_dict names, which are Zoo's parameter names."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .mixers import make_mixer

#: Zoo's `ModelConfig` defaults for the skeleton (keys as in its JSON).
DEFAULT_CONFIG = dict(d_model=128, vocab_size=50257, max_position_embeddings=256, hidden_mult=4, l_max=None,
                      embed_dropout=0.0)

#: The flat mixer options of configs stored before Zoo's mixer catalogue, with their defaults; a layer takes
#: those its mixer has (MIXER_OPTIONS). `kernel_size` is a list by layer, cycling.
LEGACY_OPTIONS = dict(num_heads=1, kernel_size=[3, -1], window_size=64, feature_dim=16, d_state=16, head_dim=1,
                      attn_dropout=0.0)

#: The options of each mixer (Zoo's `MixerCatalogue`; every stored layer config lists all of its mixer's).
MIXER_OPTIONS = dict(
    attention=("num_heads", "attn_dropout"), sliding_window_attention=("num_heads", "window_size", "attn_dropout"),
    base_conv=("kernel_size",), based=("num_heads", "feature_dim"),
    delta_net=("num_heads", "expand_k", "expand_v", "use_gate", "conv_size", "chunk_size"),
    gated_delta_net=("num_heads", "expand_v", "use_gate", "conv_size", "chunk_size"),
    gla=("num_heads", "expand_k", "expand_v", "gate_low_rank_dim", "gate_logit_normalizer", "use_short_conv", "conv_size",
         "chunk_size"),
    h3=("d_state", "head_dim"), hyena=(), long_conv=("d_emb", "d_hidden"), mamba=("d_state",),
    mamba2=("d_state", "head_dim", "chunk_size"), retnet=("num_heads",), rwkv=(),
    rwkv7=("head_dim", "decay_low_rank_dim", "gate_low_rank_dim", "a_low_rank_dim", "chunk_size"))


def model_config(config):
    """`config` with Zoo's defaults filled in (`l_max` defaults to max(max_position_embeddings, 1)) and
    `mixers` as one dict per layer (`{"name": ..., options}`), also for configs stored before the catalogue
    (`mixer`, a name or a comma-separated list cycling over `n_layers`, and flat options)."""
    cfg = {**DEFAULT_CONFIG, **config}
    if cfg["l_max"] is None:
        cfg["l_max"] = max(cfg["max_position_embeddings"], 1)
    if "mixers" not in cfg:
        names = [n.strip() for n in cfg["mixer"].split(",")]
        flat = {**LEGACY_OPTIONS, **{k: v for k, v in config.items() if k in LEGACY_OPTIONS}}
        cfg["mixers"] = []
        for layer in range(cfg["n_layers"]):
            name = names[layer % len(names)]
            if name not in MIXER_OPTIONS:
                raise ValueError(f"unknown mixer '{name}' (known: {', '.join(MIXER_OPTIONS)})")
            options = {k: flat[k] for k in MIXER_OPTIONS[name]}
            if "kernel_size" in options and isinstance(options["kernel_size"], (list, tuple)):
                options["kernel_size"] = options["kernel_size"][layer % len(options["kernel_size"])]
            cfg["mixers"].append(dict(name=name, **options))
    cfg["n_layers"] = len(cfg["mixers"])
    return cfg


def mixer_names(cfg):
    """The mixer of every layer."""
    return [m["name"] for m in cfg["mixers"]]


class Embeddings(nn.Module):
    def __init__(self, d_model, vocab_size, max_position_embeddings):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, d_model)
        self.max_position_embeddings = max_position_embeddings
        if max_position_embeddings > 0:
            self.position_embeddings = nn.Embedding(max_position_embeddings, d_model)

    def forward(self, ids):
        x = self.word_embeddings(ids)
        if self.max_position_embeddings > 0:
            assert ids.shape[1] <= self.max_position_embeddings, (
                f"sequence length {ids.shape[1]} exceeds max_position_embeddings {self.max_position_embeddings}")
            x = x + self.position_embeddings(torch.arange(ids.shape[1], device=ids.device))
        return x


class MLP(nn.Module):
    def __init__(self, d_model, hidden_mult=4):
        super().__init__()
        self.fc1 = nn.Linear(d_model, hidden_mult * d_model)
        self.fc2 = nn.Linear(hidden_mult * d_model, d_model)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, cfg, layer):
        super().__init__()
        d = cfg["d_model"]
        self.sequence_mixer = make_mixer(cfg["mixers"][layer], cfg, layer)
        self.state_mixer = MLP(d, cfg["hidden_mult"]) if cfg["hidden_mult"] > 0 else nn.Identity()
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)

    def forward(self, x, residual):
        residual = x if residual is None else x + residual
        residual = self.sequence_mixer(self.norm1(residual)) + residual
        return self.state_mixer(self.norm2(residual)), residual


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = Embeddings(cfg["d_model"], cfg["vocab_size"], cfg["max_position_embeddings"])
        self.embed_dropout = nn.Dropout(cfg["embed_dropout"])
        self.layers = nn.ModuleList([Block(cfg, i) for i in range(cfg["n_layers"])])
        self.ln_f = nn.LayerNorm(cfg["d_model"], eps=1e-5)

    def forward(self, ids):
        x, residual = self.embed_dropout(self.embeddings(ids)), None
        for layer in self.layers:
            x, residual = layer(x, residual)
        return self.ln_f(x + residual)


class ZooLanguageModel(nn.Module):
    """The model of a Zoo config (a dict with `ModelConfig`'s JSON keys: d_model, vocab_size,
    max_position_embeddings, hidden_mult, l_max, embed_dropout and `mixers`, one `{"name": ..., options}`
    per layer; or the flat form of `model_config`). `model(ids)` gives logits [B, L, vocab_size].
    Initialized as Zoology's `_init_weights` (`zoology_init`), in the default dtype."""

    def __init__(self, config):
        super().__init__()
        cfg = model_config(config)
        self.config = cfg
        self.backbone = Backbone(cfg)
        self.lm_head = nn.Linear(cfg["d_model"], cfg["vocab_size"], bias=False)
        self.zoology_init()
        self.lm_head.weight = self.backbone.embeddings.word_embeddings.weight   # tied
        self.to(torch.get_default_dtype())  # mixers compute some initial values in float64

    def zoology_init(self, std=0.02):
        """Zoology's `_init_weights`: linear weights and embeddings ~ N(0, std), biases 0, then weights
        named `out_proj.weight` or `fc2.weight` ~ N(0, std / sqrt(2 n_layers))."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=std)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=std)
        for name, p in self.named_parameters():
            if "out_proj.weight" in name or "fc2.weight" in name:
                nn.init.normal_(p, std=std / math.sqrt(2 * self.config["n_layers"]))

    def forward(self, ids):
        return self.lm_head(self.backbone(ids))
