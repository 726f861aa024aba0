"""zoo-score's losses against an independent per-window computation, its windows against
zoo-train lm's, and its file against the loss-file contract."""

import json

import h5py
import numpy as np
import pytest

from conftest import GPT2_RANKS, neox_tokenizer, run_tool

torch = pytest.importorskip("torch", reason="torch is not installed: zoo-score's tests need it")
transformers = pytest.importorskip("transformers", reason="transformers is not installed: zoo-score's tests need it")

from zoo.losses import read_losses, write_losses  # noqa: E402
from zoo.score_cli import main  # noqa: E402
from zoo.token_store import TokenStore  # noqa: E402
from zoo.tokenizer_check import PROBE_IDS, PROBE_TEXT  # noqa: E402


def score(*args):
    return main([str(a) for a in args])


def reference_losses(model_dir, store, start, end, seq_len):
    """Each window alone through the model, cross-entropy per token (reduction none)."""
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    with h5py.File(store, "r") as f:
        tokens = f["tokens"][start:end].astype(np.int64)
    out = np.full(end - start, np.nan, dtype=np.float32)
    with torch.no_grad():
        for s in range(0, len(tokens), seq_len):
            ids = torch.from_numpy(tokens[s : s + seq_len])[None]
            if ids.shape[1] < 2:
                continue
            logits = model(input_ids=ids).logits[0]
            out[s + 1 : s + ids.shape[1]] = torch.nn.functional.cross_entropy(logits[:-1].float(), ids[0, 1:], reduction="none").numpy()
    return out


@pytest.mark.parametrize("name", ["neox", "mamba", "gpt2", "rwkv"])
def test_losses_equal_a_per_window_computation(name, models, stores, tmp_path):
    out = tmp_path / f"{name}.h5"
    # 1000 tokens in windows of 64: 15 full windows and a short one of 40, batched 4 at a time.
    assert score("--model", models[name], "--tokens", stores["01"], "--seq-len", 64, "--eval-tokens", 1000,
                 "--batch", 4, "--out", out) == 0
    losses, starts, meta, extra = read_losses(out)
    count = TokenStore(str(stores["01"])).token_count
    assert (meta.range_start, meta.range_end, meta.seq_len) == (count - 1000, count, 64)
    assert list(starts) == list(range(0, 1000, 64))
    assert meta.run == name and meta.token_store == "01.h5" and extra == {}
    model = json.loads(meta.model)
    assert model["dtype"] == "float32" and model["parameters"] > 0 and model["revision"] is None
    assert model["class"].lower().startswith(name.replace("neox", "gptneox"))
    expected = reference_losses(models[name], stores["01"], count - 1000, count, 64)
    assert np.array_equal(np.isnan(losses), np.isnan(expected))
    assert np.isnan(losses[starts.astype(int)]).all()
    np.testing.assert_allclose(losses, expected, atol=1e-5, rtol=0)


def test_windows_are_zoo_train_lm_held_out_windows(models, stores, tmp_path):
    """zoo-train lm on two stores holds out the last store's last N tokens; zoo-score --eval-tokens N
    on that store scores exactly that range in exactly those windows."""
    run_tool("zoo-train", "lm", "--data", stores["00"], stores["01"], "--d-model", 16, "--layers", 1, "--seq-len", 50,
             "--batch", 2, "--steps", 1, "--eval-tokens", 777, "--name", "tiny", "--db", tmp_path / "zoo.db",
             "--runs-dir", tmp_path / "runs", "--plain", cwd=tmp_path)
    zoo_losses, zoo_starts, zoo_meta, _ = read_losses(tmp_path / "runs" / "tiny" / "losses.h5")
    out = tmp_path / "scored.h5"
    assert score("--model", models["gpt2"], "--tokens", stores["01"], "--seq-len", 50, "--eval-tokens", 777, "--out", out) == 0
    losses, starts, meta, _ = read_losses(out)
    for field in ("token_store", "token_store_sha256", "range_start", "range_end", "seq_len"):
        assert getattr(meta, field) == getattr(zoo_meta, field), field
    assert np.array_equal(starts, zoo_starts)
    assert np.array_equal(np.isnan(losses), np.isnan(zoo_losses))


def test_loss_file_layout_is_zoo_train_lms(tmp_path, stores):
    """A file zoo-train lm wrote, read and rewritten by zoo.losses: same datasets, types, attribute
    names and types, and the same bytes apart from zoo-train's dataset timestamps."""
    run_tool("zoo-train", "lm", "--data", stores["01"], "--d-model", 16, "--layers", 1, "--seq-len", 40, "--batch", 2,
             "--steps", 1, "--eval-tokens", 300, "--name", "t", "--db", tmp_path / "zoo.db", "--runs-dir",
             tmp_path / "runs", "--plain", cwd=tmp_path)
    original = tmp_path / "runs" / "t" / "losses.h5"
    losses, starts, meta, _ = read_losses(original)
    copy = tmp_path / "copy.h5"
    write_losses(copy, losses, starts, meta)

    def layout(path):
        with h5py.File(path, "r") as f:
            datasets = [(k, f[k].dtype.str, f[k].shape, f[k].chunks, f[k].compression) for k in f]
            attributes = []
            for k in f.attrs:
                t = f.attrs.get_id(k).get_type()
                string = t.get_class() == h5py.h5t.STRING
                attributes.append((k, t.get_class(), t.get_size(), string and t.is_variable_str(),
                                   string and t.get_cset(), f.attrs.get_id(k).shape))
            return datasets, attributes, f.attrs["model"], f.attrs["run"]

    assert layout(copy) == layout(original)
    a, b = original.read_bytes(), copy.read_bytes()
    assert len(a) == len(b)
    assert sum(x != y for x, y in zip(a, b)) < 40  # the modification-time messages of the two datasets


def test_short_last_window_of_one_token_is_nan(models, stores, tmp_path):
    out = tmp_path / "l.h5"
    assert score("--model", models["gpt2"], "--tokens", stores["00"], "--seq-len", 64, "--range", "1000:1129",
                 "--out", out) == 0
    losses, starts, meta, _ = read_losses(out)
    assert list(starts) == [0, 64, 128] and (meta.range_start, meta.range_end) == (1000, 1129)
    assert np.isnan(losses[[0, 64, 128]]).all() and not np.isnan(np.delete(losses, [0, 64, 128])).any()


def test_uint32_stores_and_stores_without_tokenizer_attributes(models, stores, tmp_path):
    """/tokens as uint32 (stores of vocabularies over 65,536) and stores written before the
    tokenizer attributes (read as GPT-2) give the same losses."""
    with h5py.File(stores["00"], "r") as f:
        tokens = f["tokens"][:]
        attrs = dict(f.attrs)
    wide = tmp_path / "wide.h5"
    with h5py.File(wide, "w") as f:
        f.create_dataset("tokens", data=tokens.astype(np.uint32))
        for k, v in attrs.items():
            if k not in ("tokenizer", "vocab_size", "eot", "tokenizer_sha256"):
                f.attrs[k] = v
    store = TokenStore(str(wide))
    assert (store.tokenizer, store.vocab_size, store.eot) == ("gpt2", 50257, 50256)
    assert np.array_equal(store.read(0, 100), tokens[:100])
    for path, out in ((stores["00"], tmp_path / "a.h5"), (wide, tmp_path / "b.h5")):
        assert score("--model", models["gpt2"], "--tokens", path, "--seq-len", 32, "--range", "0:200", "--out", out) == 0
    assert np.array_equal(read_losses(tmp_path / "a.h5")[0], read_losses(tmp_path / "b.h5")[0], equal_nan=True)


def test_module_function_scores_like_the_model(models, stores, tmp_path):
    """--module path/file.py:fn returning an nn.Module gives the --model losses."""
    module = tmp_path / "mine.py"
    module.write_text(
        "import transformers\n"
        "class Wrapped(transformers.GPT2LMHeadModel):\n"
        "    def forward(self, input_ids):\n"
        "        return super().forward(input_ids=input_ids).logits\n"
        f"def load():\n    return Wrapped.from_pretrained({str(models['gpt2'])!r})\n")
    for args, out in ((["--model", models["gpt2"]], tmp_path / "a.h5"), (["--module", f"{module}:load"], tmp_path / "b.h5")):
        assert score(*args, "--tokens", stores["00"], "--seq-len", 32, "--range", "0:300", "--out", out) == 0
    assert np.array_equal(read_losses(tmp_path / "a.h5")[0], read_losses(tmp_path / "b.h5")[0], equal_nan=True)
    assert json.loads(read_losses(tmp_path / "b.h5")[2].model)["id"] == f"{module}:load"


def test_probe_ids_are_the_tokenizers_own():
    """The committed probe ids equal tiktoken's GPT-2 (Zoo's ranks file) and tokenizers' GPT-NeoX-20B."""
    tokenizers = pytest.importorskip("tokenizers", reason="tokenizers is not installed")
    neox = tokenizers.Tokenizer.from_file(str(neox_tokenizer()))
    assert neox.encode(PROBE_TEXT, add_special_tokens=False).ids == PROBE_IDS["gpt-neox-20b"]
    tiktoken = pytest.importorskip("tiktoken", reason="tiktoken is not installed: GPT-2 probe ids not rechecked")
    from tiktoken.load import load_tiktoken_bpe

    pattern = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    gpt2 = tiktoken.Encoding("gpt2", pat_str=pattern, mergeable_ranks=load_tiktoken_bpe(str(GPT2_RANKS)), special_tokens={})
    assert gpt2.encode_ordinary(PROBE_TEXT) == PROBE_IDS["gpt2"]


def test_help_explains(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    for word in ("--model", "--module", "--eval-tokens", "--range", "--resume", "--shard", "zoo.losses.v1", "merge",
                 "log_softmax", "tokenizer.json"):
        assert word in text, word
