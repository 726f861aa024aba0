"""Models for `zoo-score`: a Hugging Face causal LM, a Zoo export directory, or any PyTorch model
through a user function, each as one callable `input_ids [B, L] int64 → logits [B, L, V]`."""

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass

import torch

from .models.export import is_export

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# Config keys that give a model's longest sequence, in the order they are looked for.
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "n_ctx", "context_length")

class ModelError(Exception):
    """A model that cannot be loaded; the message names it."""


@dataclass
class LoadedModel:
    """A model ready to score."""

    forward: object  # input_ids [B, L] int64 on `device` → logits [B, L, V]
    device: str
    description: dict  # recorded as the loss file's `model` attribute (JSON)
    vocab_size: int = None  # the vocabulary its config declares, when known
    context: int = None  # the longest sequence it takes, when known
    tokenizer_json: str = None  # path of its tokenizer.json, when it has one
    tokenizer_name: str = None  # the tokenizer of the ids it was trained on, when recorded (Zoo exports)
    name: str = ""  # how to name it in messages


def resolve_device(device):
    """`device`, or the best available one when None."""
    if device:
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def parameter_count(model):
    return sum(p.numel() for p in model.parameters()) if isinstance(model, torch.nn.Module) else None


def load_hf(model_id, revision, device, dtype):
    """`AutoModelForCausalLM` from a local directory or a hub id."""
    try:
        import transformers
        from transformers import AutoModelForCausalLM
        from transformers.utils import cached_file
    except ImportError:
        raise ModelError(f"{model_id}: loading a Hugging Face model needs transformers (pip install transformers)") from None
    transformers.utils.logging.disable_progress_bar()
    local = os.path.isdir(model_id)
    dtype_key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    try:
        model = AutoModelForCausalLM.from_pretrained(model_id, revision=revision, **{dtype_key: DTYPES[dtype]})
    except (OSError, ValueError, KeyError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"{model_id}: cannot load a causal LM: {first}") from None
    model = model.to(device).eval()
    config = model.config
    context = next((getattr(config, k) for k in CONTEXT_KEYS if isinstance(getattr(config, k, None), int)), None)
    if local:
        tokenizer = os.path.join(model_id, "tokenizer.json")
        tokenizer = tokenizer if os.path.isfile(tokenizer) else None
    else:
        tokenizer = cached_file(
            model_id, "tokenizer.json", revision=revision,
            _raise_exceptions_for_missing_entries=False, _raise_exceptions_for_connection_errors=False)

    def forward(ids):
        return model(input_ids=ids, use_cache=False).logits

    return LoadedModel(
        forward=forward, device=device, vocab_size=getattr(config, "vocab_size", None), context=context,
        tokenizer_json=tokenizer, name=model_id,
        description={
            "id": os.path.abspath(model_id) if local else model_id, "revision": revision,
            "class": type(model).__name__, "dtype": dtype, "parameters": parameter_count(model),
        })


def load_export(path, device, dtype):
    """A `zoo-train export` directory, through `zoo.models.export.load_export`, which returns the
    model callable and `info` (`class`, `parameters`, `vocab_size`, `max_positions`, `tokenizer`)."""
    from zoo.models.export import load_export as load

    try:
        model, info = load(path, device=device, dtype=DTYPES[dtype])
    except (OSError, ValueError, KeyError) as error:
        raise ModelError(f"{path}: cannot load the Zoo export: {error}") from None
    tokenizer = os.path.join(path, "tokenizer.json")
    return LoadedModel(
        forward=model, device=device, vocab_size=info.get("vocab_size"), context=info.get("max_positions"),
        tokenizer_json=tokenizer if os.path.isfile(tokenizer) else None, tokenizer_name=info.get("tokenizer"),
        name=path,
        description={
            "id": os.path.abspath(path), "revision": None, "class": info.get("class"), "dtype": dtype,
            "parameters": info.get("parameters"),
        })


def _import_function(spec):
    """`pkg.mod:fn` or `path/to/file.py:fn` → the function."""
    module_name, sep, function_name = spec.rpartition(":")
    if not sep or not module_name or not function_name:
        raise ModelError(f"--module {spec}: expected MODULE:FUNCTION (e.g. mypkg.models:load or models.py:load)")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            if not os.path.isfile(module_name):
                raise ModelError(f"--module {spec}: no such file {module_name}")
            name = "zoo_score_user_" + os.path.splitext(os.path.basename(module_name))[0]
            loader = importlib.util.spec_from_file_location(name, module_name)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            sys.path.insert(0, os.path.dirname(os.path.abspath(module_name)))
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise ModelError(f"--module {spec}: cannot import {module_name}: {error}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ModelError(f"--module {spec}: {module_name} has no function {function_name}")
    return function


def load_module(spec, device, dtype):
    """A model from a user function: `fn()` returns a callable input_ids → logits. An `nn.Module`
    is moved to `device` and `dtype` and put in eval mode; any other callable is used as it is."""
    made = _import_function(spec)()
    if not callable(made):
        raise ModelError(f"--module {spec}: returned {type(made).__name__}, not a callable input_ids -> logits")
    if isinstance(made, torch.nn.Module):
        made = made.to(device=device, dtype=DTYPES[dtype]).eval()
    return LoadedModel(
        forward=made, device=device, name=spec,
        description={
            "id": spec, "revision": None, "class": type(made).__module__ + "." + type(made).__qualname__,
            "dtype": dtype, "parameters": parameter_count(made),
        })


def load_model(model=None, module=None, revision=None, device=None, dtype="float32"):
    """The model `--model` or `--module` names (exactly one of them)."""
    if dtype not in DTYPES:
        raise ModelError(f"--dtype {dtype}: expected one of {', '.join(DTYPES)}")
    device = resolve_device(device)
    if module:
        return load_module(module, device, dtype)
    if os.path.isdir(model) and is_export(model):
        return load_export(model, device, dtype)
    return load_hf(model, revision, device, dtype)
