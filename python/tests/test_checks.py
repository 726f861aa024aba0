"""What zoo-score refuses before scoring (one line naming both sides, nothing written), and
registration by name: two scored runs that `zoo-analyze gap` compares by name."""

import base64
import os
import shutil

import h5py
import numpy as np
import pytest

from conftest import GPT2_RANKS, SAMPLE, neox_tokenizer, run_tool, zoo_bin

pytest.importorskip("torch", reason="torch is not installed: zoo-score's tests need it")
pytest.importorskip("transformers", reason="transformers is not installed: zoo-score's tests need it")

from zoo.losses import read_losses  # noqa: E402
from zoo.score_cli import main  # noqa: E402
from zoo.token_store import file_sha256  # noqa: E402


def score(*args):
    return main([str(a) for a in args])


def gpt2_decoder():
    """GPT-2 id → bytes, from Zoo's ranks file (rank = id)."""
    table = {}
    for line in GPT2_RANKS.read_text().splitlines():
        token, rank = line.split()
        table[int(rank)] = base64.b64decode(token)
    return table


@pytest.fixture(scope="module")
def neox_store(stores, tmp_path_factory):
    """The sample's 00 shard as a GPT-NeoX-20B store: each document's text (decoded from the GPT-2
    store) encoded by `tokenizers`, EOT 0 after each, attributes as docs/FORMATS.md gives them."""
    tokenizers = pytest.importorskip("tokenizers", reason="tokenizers is not installed")
    path = neox_tokenizer()
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    decode = gpt2_decoder()
    with h5py.File(stores["00"], "r") as f:
        ids, offsets, subsets, attrs = f["tokens"][:], f["doc_offsets"][:], f["doc_subset"][:], dict(f.attrs)
    texts = [b"".join(decode[int(t)] for t in ids[a : b - 1]).decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    tokens, new_offsets = [], [0]
    for encoding in tokenizer.encode_batch(texts, add_special_tokens=False):
        tokens += encoding.ids + [0]
        new_offsets.append(len(tokens))
    store = tmp_path_factory.mktemp("neox") / "00.h5"
    with h5py.File(store, "w") as f:
        f.create_dataset("tokens", data=np.asarray(tokens, dtype=np.uint16))
        f.create_dataset("doc_offsets", data=np.asarray(new_offsets, dtype=np.uint64))
        f.create_dataset("doc_subset", data=subsets)
        for key, value in attrs.items():
            f.attrs[key] = value
        f.attrs.update({"tokenizer": "gpt-neox-20b", "tokenizer_sha256": file_sha256(path), "vocab_size": 50277, "eot": 0,
                        "tokens": np.int64(len(tokens))})
    return store


@pytest.fixture()
def neox_with_tokenizer(models, tmp_path):
    """The tiny GPT-NeoX model with the GPT-NeoX-20B tokenizer.json beside its weights."""
    directory = tmp_path / "neox-with-tokenizer"
    shutil.copytree(models["neox"], directory)
    shutil.copy(neox_tokenizer(), directory / "tokenizer.json")
    return directory


def test_the_store_tokenizer_matches(neox_with_tokenizer, neox_store, tmp_path):
    out = tmp_path / "out" / "neox.h5"
    assert score("--model", neox_with_tokenizer, "--tokens", neox_store, "--seq-len", 64, "--eval-tokens", 300, "--out", out) == 0
    assert read_losses(out)[2].token_store == "00.h5"


def test_refusals_name_both_sides_and_write_nothing(models, stores, neox_with_tokenizer, neox_store, tmp_path, capsys):
    store = stores["00"]
    tokens = h5py.File(store, "r")["tokens"].shape[0]
    odd = tmp_path / "odd.h5"  # a store from some other tokenizer.json, recorded by its sha256
    shutil.copy(neox_store, odd)
    with h5py.File(odd, "a") as f:
        f.attrs["tokenizer"] = "my-bpe"
        f.attrs["tokenizer_sha256"] = "0" * 64
    held_out = ["--seq-len", 64, "--eval-tokens", 300]
    cases = [
        (["--model", neox_with_tokenizer, "--tokens", store, *held_out],
         ["tokenizer.json is not the store's", str(store), "gpt2 ids"]),
        (["--model", neox_with_tokenizer, "--tokens", odd, *held_out], ["cannot confirm", "my-bpe", str(odd)]),
        (["--model", models["small-vocab"], "--tokens", store, *held_out],
         ["vocab_size 50257", "vocabulary of 50000", str(store), str(models["small-vocab"])]),
        (["--model", models["gpt2"], "--tokens", store, "--seq-len", 2048, "--eval-tokens", 300],
         ["--seq-len 2048", "context of 1024"]),
        (["--model", models["gpt2"], "--tokens", store, "--seq-len", 64, "--range", f"0:{tokens + 1}"],
         [f"--range 0:{tokens + 1} is not inside", str(store), f"0:{tokens}"]),
        (["--model", models["gpt2"], "--tokens", store, "--seq-len", 64, "--eval-tokens", tokens + 1],
         [f"--eval-tokens {tokens + 1}", str(store)]),
        (["--model", models["gpt2"], "--tokens", tmp_path / "missing.h5", *held_out], ["missing.h5: no such token store"]),
    ]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for args, words in cases:
        assert score(*args, "--out", out_dir / "losses.h5") == 1, args
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("zoo-score: "), err
        for word in words:
            assert word in err, (word, err)
        assert os.listdir(out_dir) == [], args


def test_scored_runs_are_registered_and_compared_by_gap(models, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_BIN", str(zoo_bin()))
    db = tmp_path / "zoo.db"
    run_tool("zoo-ingest", "--out", tmp_path / "tokens", "--db", db, SAMPLE / "01.jsonl.zst")
    store = tmp_path / "tokens" / "01.h5"
    for name in ("neox", "mamba"):
        assert score("--model", models[name], "--tokens", store, "--seq-len", 128, "--eval-tokens", 1500,
                     "--out", tmp_path / "scores" / f"{name}.h5", "--name", name, "--db", db) == 0
    assert "registered 'mamba'" in capsys.readouterr().out
    shown = run_tool("zoo-runs", "show", "neox", "--db", db).stdout
    assert "scored" in shown and "GPTNeoXForCausalLM" in shown and str(tmp_path / "scores" / "neox.h5") in shown
    gap = run_tool("zoo-analyze", "gap", "--runs", "neox,mamba", "--db", db, "--out", tmp_path / "analysis", cwd=tmp_path)
    assert "neox" in gap.stdout and "mamba" in gap.stdout
    assert "mamba" in (tmp_path / "analysis" / "gap.csv").read_text()

    # Another file under a registered name: the losses are written, the registration refused.
    assert score("--model", models["gpt2"], "--tokens", store, "--seq-len", 128, "--eval-tokens", 1500,
                 "--out", tmp_path / "scores" / "other.h5", "--name", "neox", "--db", db) == 1
    err = capsys.readouterr().err
    assert "zoo-runs add-losses failed" in err and "a run named 'neox' already exists" in err
