"""Loads a `zoo-train export` directory (`config.json` with format `zoo.export.v2` or v1, `model.safetensors`
with Zoo's parameters under Zoology's state_dict names) into its PyTorch twin."""
import json
import os
import struct

import numpy as np
import torch

from .mixers import NAMES as TWINS
from .skeleton import ZooLanguageModel, mixer_names, model_config

#: Export formats this loader reads: v2 stores one mixer config per layer, v1 one `mixer` list and flat options.
FORMATS = ("zoo.export.v1", "zoo.export.v2")

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def is_export(path):
    """True when `path` is a directory written by `zoo-train export`."""
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        return False
    try:
        with open(config) as f:
            return json.load(f).get("format") in FORMATS
    except (OSError, ValueError):
        return False


def read_safetensors(path):
    """The tensors of a safetensors file as {name: torch tensor}: with the `safetensors` package when it is
    installed, otherwise by reading the format (8-byte little-endian header length, JSON header, data)."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        load_file = None
    if load_file is not None:
        return load_file(path)
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: {name} has dtype {entry['dtype']}, which this reader does not know")
        begin, end = entry["data_offsets"]
        dt = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
        values = np.frombuffer(data, dtype=dt, count=(end - begin) // dt.itemsize, offset=8 + n + begin)
        out[name] = torch.from_numpy(values.astype(dt.newbyteorder("="))).reshape(entry["shape"])
    return out


def load_export(path, device="cpu", dtype=torch.float32):
    """The export at `path` as `(model_callable, info)`: `model_callable(input_ids)` takes a LongTensor
    [B, L] and returns float32 logits [B, L, vocab_size] on `device` (no gradients; the `ZooLanguageModel`
    itself is `model_callable.module`); `info` has `id` (`path`), `revision` (None), `class`, `dtype`,
    `parameters`, `vocab_size`, `max_positions` (None when the model takes any length), `tokenizer`
    (None when unknown) and `run`."""
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    if config.get("format") not in FORMATS:
        raise ValueError(f"{path}: config.json has format {config.get('format')!r}, expected one of {', '.join(FORMATS)}")
    cfg = model_config(config["model"])
    if config.get("mixers", mixer_names(cfg)) != mixer_names(cfg):
        raise ValueError(f"{path}: config.json lists mixers {config['mixers']}, its model config makes {mixer_names(cfg)}")
    missing_twins = sorted({m for m in mixer_names(cfg) if m not in TWINS})
    if missing_twins:
        raise ValueError(f"{path}: mixer {', '.join(missing_twins)} has no PyTorch twin (twins: {', '.join(TWINS)})")
    model = ZooLanguageModel(cfg)
    tensors = read_safetensors(os.path.join(path, "model.safetensors"))
    expected = {name: p for name, p in model.named_parameters()}  # the tied lm_head.weight is not listed
    if set(tensors) != set(expected):
        extra, lacking = sorted(set(tensors) - set(expected)), sorted(set(expected) - set(tensors))
        raise ValueError(f"{path}: model.safetensors does not fit the config: unexpected {extra[:3]}, missing {lacking[:3]}")
    with torch.no_grad():
        for name, p in expected.items():
            if tuple(tensors[name].shape) != tuple(p.shape):
                raise ValueError(f"{path}: {name} has shape {list(tensors[name].shape)}, the model wants {list(p.shape)}")
            p.copy_(tensors[name])
    model = model.to(device=device, dtype=dtype).eval()

    @torch.no_grad()
    def model_callable(input_ids):
        return model(input_ids.to(device)).float()

    model_callable.module = model

    long_filters = any(m["name"] == "hyena" or (m["name"] == "base_conv" and m["kernel_size"] == -1) for m in cfg["mixers"])
    limits = [n for n in (cfg["max_position_embeddings"], cfg["l_max"] if long_filters else 0) if n > 0]
    info = {
        "id": path, "revision": None, "class": "zoo.models.ZooLanguageModel", "dtype": str(dtype).replace("torch.", ""),
        "parameters": sum(p.numel() for p in model.parameters()), "vocab_size": cfg["vocab_size"],
        "max_positions": min(limits) if limits else None, "tokenizer": config.get("tokenizer"), "run": config.get("run"),
    }
    return model_callable, info
