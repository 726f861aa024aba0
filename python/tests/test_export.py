"""`zoo-train export` + `zoo.models.load_export` reproduce a Zoo run's own held-out losses (its
`losses.h5`) within 1e-4 nats per token, for every mixer with a PyTorch twin.

Needs the built Swift executables ($ZOO_BIN, default <repo>/.build/release) and torch; skips only
when torch cannot be imported. Run: python3 -m pytest python/tests/test_export.py
"""
import json
import os
import struct
import subprocess
import sys

import h5py
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "python"))
from zoo.models import is_export, load_export  # noqa: E402
from zoo.models import export as export_module  # noqa: E402

BIN = os.environ.get("ZOO_BIN", os.path.join(REPO, ".build", "release"))
SAMPLE = [os.path.join(REPO, "Tests", "Data", "pile-sample", f) for f in ("00.jsonl.zst", "01.jsonl.zst")]
TOLERANCE = 1e-4  # nats per token
torch.set_num_threads(1)  # small models: one thread is fastest on a shared 2-core machine

# name -> extra zoo-train lm flags
RUNS = {
    "attention": ["--mixer", "attention", "--num-heads", "2"],
    "sliding_window_attention": ["--mixer", "sliding_window_attention", "--num-heads", "2", "--window-size", "16"],
    "base_conv": ["--mixer", "base_conv", "--kernel-size", "3,-1"],
    "hyena": ["--mixer", "hyena"],
    "long_conv": ["--mixer", "long_conv", "--d-emb", "3,5", "--d-hidden", "16,8"],
    "based": ["--mixer", "based", "--num-heads", "2", "--feature-dim", "8"],
    "h3": ["--mixer", "h3", "--d-state", "8", "--head-dim", "2"],
    "retnet": ["--mixer", "retnet", "--num-heads", "2"],
    "rwkv": ["--mixer", "rwkv"],
    "rwkv7": ["--mixer", "rwkv7", "--head-dim", "16,8", "--chunk-size", "16,5"],
    "mamba": ["--mixer", "mamba", "--d-state", "8"],
    "gla": ["--mixer", "gla", "--num-heads", "2,4", "--use-short-conv", "false,true", "--conv-size", "3", "--chunk-size", "5"],
    "mamba2": ["--mixer", "mamba2", "--d-state", "8", "--head-dim", "16", "--chunk-size", "5"],
    "delta_net": ["--mixer", "delta_net", "--use-gate", "false,true", "--expand-v", "1,2", "--chunk-size", "64,5"],
    "gated_delta_net": ["--mixer", "gated_delta_net", "--num-heads", "2,4", "--use-gate", "true"],
    "hybrid": ["--mixer", "base_conv,based", "--kernel-size", "3"],
}


def zoo(tool, *args, cwd):
    exe = os.path.join(BIN, tool)
    assert os.path.exists(exe), f"{exe} not found: build with swift build -c release (or set ZOO_BIN)"
    p = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    assert p.returncode == 0, f"{tool} {' '.join(args)} failed: {p.stderr}"
    return p.stdout


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    zoo("zoo-ingest", "--out", "tokens", *SAMPLE, cwd=d)
    return d


def train_and_export(workdir, name):
    """The export of run `name` (trained and exported on first use)."""
    path = os.path.join(workdir, "exports", name)
    if os.path.exists(path):
        return path
    zoo("zoo-train", "lm", "--data", "tokens/00.h5", "tokens/01.h5", *RUNS[name], "--d-model", "32", "--layers", "2",
        "--seq-len", "64", "--batch", "4", "--steps", "10", "--lr", "1e-2", "--eval-tokens", "1000", "--name", name,
        "--db", "zoo.db", "--runs-dir", "runs", "--plain", cwd=workdir)
    zoo("zoo-train", "export", name, "--out", f"exports/{name}", "--db", "zoo.db", cwd=workdir)
    return path


def per_token_losses(model, tokens, seq_len, batch=8):
    """NLL of every token of `tokens` from its window's earlier tokens, in non-overlapping `seq_len`
    windows (the last one short), NaN at each window's first token."""
    out = np.full(len(tokens), np.nan, dtype=np.float32)
    starts = list(range(0, len(tokens), seq_len))
    for length in sorted({min(seq_len, len(tokens) - s) for s in starts}):
        group = [s for s in starts if min(seq_len, len(tokens) - s) == length and length >= 2]
        for i in range(0, len(group), batch):
            ids = torch.from_numpy(np.stack([tokens[s:s + length] for s in group[i:i + batch]]).astype(np.int64))
            logp = torch.log_softmax(model(ids)[:, :-1].float(), dim=-1)
            nll = -logp.gather(-1, ids[:, 1:, None])[..., 0]
            for row, s in enumerate(group[i:i + batch]):
                out[s + 1:s + length] = nll[row].numpy()
    return out, np.array(starts, dtype=np.uint64)


class Zero(torch.nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


@pytest.mark.parametrize("name", list(RUNS))
def test_export_reproduces_run_losses(workdir, name):
    path = train_and_export(workdir, name)
    assert is_export(path)
    model, info = load_export(path)
    with h5py.File(os.path.join(workdir, "runs", name, "losses.h5"), "r") as f:
        reference, window_starts = f["loss"][:], f["window_starts"][:]
        start, end, seq_len = int(f.attrs["range_start"]), int(f.attrs["range_end"]), int(f.attrs["seq_len"])
        store = str(f.attrs["token_store"])
    with h5py.File(os.path.join(workdir, "tokens", store), "r") as f:
        tokens = f["tokens"][start:end]
    ours, starts = per_token_losses(model, tokens, seq_len)
    assert np.array_equal(starts, window_starts)
    assert np.array_equal(np.isnan(ours), np.isnan(reference))
    labeled = ~np.isnan(reference)
    worst = float(np.abs(ours[labeled] - reference[labeled]).max())
    assert worst < TOLERANCE, f"{name}: max |loss difference| {worst:.2e} nats"

    # The comparison sees the mixers: without them the losses move far beyond the tolerance.
    module = model.module
    saved = [layer.sequence_mixer for layer in module.backbone.layers]
    for layer in module.backbone.layers:
        layer.sequence_mixer = Zero()
    try:
        ablated, _ = per_token_losses(model, tokens, seq_len)
    finally:
        for layer, mixer in zip(module.backbone.layers, saved):
            layer.sequence_mixer = mixer
    assert float(np.abs(ablated[labeled] - reference[labeled]).max()) > 100 * TOLERANCE

    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    assert config["format"] == "zoo.export.v2" and config["run"] == name and config["tokenizer"] == "gpt2"
    assert len(config["mixers"]) == 2
    assert info["parameters"] == config["parameters"]
    assert (info["vocab_size"], info["max_positions"], info["tokenizer"]) == (50257, 64, "gpt2")
    assert info["revision"] is None and info["class"] == "zoo.models.ZooLanguageModel" and info["dtype"] == "float32"


def test_safetensors_file_is_well_formed_and_read_by_both_readers(workdir, monkeypatch):
    path = os.path.join(train_and_export(workdir, "base_conv"), "model.safetensors")
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0
    header = json.loads(data[8:8 + n])
    assert header.pop("__metadata__") == {"format": "pt", "zoo_run": "base_conv"}
    offset = 0
    for name, entry in header.items():  # in file order, contiguous
        assert entry["dtype"] == "F32" and entry["data_offsets"][0] == offset, name
        offset = entry["data_offsets"][1]
        assert offset - entry["data_offsets"][0] == 4 * int(np.prod(entry["shape"])), name
    assert len(data) == 8 + n + offset
    assert "backbone.layers.1.sequence_mixer.conv.mlp.2.weight" in header and "lm_head.weight" not in header

    safetensors_torch = pytest.importorskip("safetensors.torch", reason="safetensors is not installed")
    official = safetensors_torch.load_file(path)
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)  # the fallback reader
    ours = export_module.read_safetensors(path)
    assert list(official) == list(ours) == list(header)
    for name in header:
        assert official[name].dtype == torch.float32 and torch.equal(official[name], ours[name]), name


def test_rwkv_query_blocks_give_the_unblocked_wkv():
    from zoo.models.mixers import RWKV

    torch.manual_seed(0)
    mixer = RWKV(16, block=5).double()
    x = torch.randn(2, 23, 16, dtype=torch.float64)
    blocked = mixer(x)
    mixer.block = 64
    assert torch.equal(blocked, mixer(x))


def test_bfloat16_load_gives_float32_logits_close_to_the_run(workdir):
    path = train_and_export(workdir, "hyena")  # FFT convolutions: computed in float32 inside
    model, info = load_export(path, dtype=torch.bfloat16)
    assert info["dtype"] == "bfloat16"
    with h5py.File(os.path.join(workdir, "runs", "hyena", "losses.h5"), "r") as f:
        reference = f["loss"][:]
        start, end, seq_len = int(f.attrs["range_start"]), int(f.attrs["range_end"]), int(f.attrs["seq_len"])
    with h5py.File(os.path.join(workdir, "tokens", "01.h5"), "r") as f:
        tokens = f["tokens"][start:end]
    assert model(torch.from_numpy(tokens[:seq_len].astype(np.int64))[None]).dtype == torch.float32
    ours, _ = per_token_losses(model, tokens, seq_len)
    labeled = ~np.isnan(reference)
    assert np.isfinite(ours[labeled]).all()
    assert float(np.abs(ours[labeled] - reference[labeled]).mean()) < 0.02  # 0.004 measured: bf16's 8 bits


def test_load_export_refuses_what_does_not_fit(workdir, tmp_path):
    import shutil

    source = train_and_export(workdir, "attention")
    assert not is_export(str(tmp_path)) and not is_export(os.path.join(source, "model.safetensors"))

    def variant(name, edit_config=None, drop=None):
        path = tmp_path / name
        shutil.copytree(source, path)
        with open(path / "config.json") as f:
            config = json.load(f)
        if edit_config:
            edit_config(config)
        with open(path / "config.json", "w") as f:
            json.dump(config, f)
        if drop:
            tensors = export_module.read_safetensors(str(path / "model.safetensors"))
            del tensors[drop]
            pytest.importorskip("safetensors.torch", reason="safetensors is not installed").save_file(
                tensors, str(path / "model.safetensors"))
        return str(path)

    with pytest.raises(ValueError, match="format 'zoo.export.v0'"):
        load_export(variant("format", lambda c: c.update(format="zoo.export.v0")))
    with pytest.raises(ValueError, match="mixer lstm has no PyTorch twin"):
        load_export(variant("mixer", lambda c: (c["model"].update(mixers=[dict(name="lstm")] * 2), c.update(mixers=["lstm", "lstm"]))))
    with pytest.raises(ValueError, match="lists mixers"):
        load_export(variant("mixers", lambda c: c.update(mixers=["rwkv", "rwkv"])))
    with pytest.raises(ValueError, match="has shape"):
        load_export(variant("width", lambda c: c["model"].update(hidden_mult=2)))
    with pytest.raises(ValueError, match=r"missing \['backbone.ln_f.bias'\]"):
        load_export(variant("tensor", drop="backbone.ln_f.bias"))
