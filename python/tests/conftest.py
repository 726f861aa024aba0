"""Shared fixtures: token stores written by the built `zoo-ingest` from the committed Pile sample,
and tiny randomly initialised Hugging Face models built from configs (seeded, saved with
`save_pretrained`). Swift executables come from $ZOO_BIN (default `<repo>/.build/release`)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# One thread: results must not depend on which process computed a block (subprocess runs are
# compared byte for byte with in-process ones), and on a busy 2-core machine torch's second
# thread makes every op wait for a scheduler slot.
os.environ["OMP_NUM_THREADS"] = "1"

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"
SAMPLE = REPO / "Tests" / "Data" / "pile-sample"
GPT2_RANKS = REPO / "Sources" / "ZooTokenizer" / "Resources" / "gpt2.tiktoken"
NEOX_TOKENIZER_CANDIDATES = [
    REPO / "Sources" / "ZooTokenizer" / "Resources" / "gpt-neox-20b.tokenizer.json",
    REPO.parent / "shared" / "data" / "tokenizers" / "gpt-neox-20b.tokenizer.json",
]


def zoo_bin():
    return Path(os.environ.get("ZOO_BIN") or REPO / ".build" / "release")


def tool(name):
    """Path of a built Swift executable; a missing one fails the test (build it first)."""
    path = zoo_bin() / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build with 'swift build -c release' or set ZOO_BIN")
    return str(path)


def run_tool(name, *args, cwd=None, check=True):
    done = subprocess.run([tool(name), *map(str, args)], capture_output=True, text=True, cwd=cwd)
    if check and done.returncode != 0:
        pytest.fail(f"{name} {' '.join(map(str, args))} failed ({done.returncode}): {done.stderr}")
    return done


def neox_tokenizer():
    """The GPT-NeoX-20B tokenizer.json (the package resource, else ../shared's copy)."""
    for path in NEOX_TOKENIZER_CANDIDATES:
        if path.exists():
            return path
    pytest.skip("no gpt-neox-20b.tokenizer.json in Sources/ZooTokenizer/Resources or ../shared/data/tokenizers")


def score_command(*args):
    """`zoo-score ARGS` as a subprocess command line (this checkout's package)."""
    return [sys.executable, "-m", "zoo.score_cli", *map(str, args)]


def subprocess_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PYTHON_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    env["ZOO_BIN"] = str(zoo_bin())
    return env


@pytest.fixture(scope="session")
def stores(tmp_path_factory):
    """GPT-2 token stores of the committed Pile sample: {'00': path, '01': path}, registered in
    the session's registry `zoo.db` beside them."""
    directory = tmp_path_factory.mktemp("stores")
    run_tool("zoo-ingest", "--out", directory / "tokens", "--db", directory / "zoo.db",
             SAMPLE / "00.jsonl.zst", SAMPLE / "01.jsonl.zst")
    return {name: directory / "tokens" / f"{name}.h5" for name in ("00", "01")}


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """Tiny Hugging Face causal LMs (2 layers, width 32), one directory each."""
    torch = pytest.importorskip("torch", reason="torch is not installed: zoo-score's tests need it")
    torch.set_num_threads(1)
    transformers = pytest.importorskip("transformers", reason="transformers is not installed: zoo-score's tests need it")
    transformers.utils.logging.disable_progress_bar()
    configs = {
        "neox": transformers.GPTNeoXConfig(
            vocab_size=50304, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
            max_position_embeddings=2048),
        "mamba": transformers.MambaConfig(vocab_size=50280, hidden_size=32, num_hidden_layers=2, state_size=8),
        "gpt2": transformers.GPT2Config(vocab_size=50257, n_embd=32, n_layer=2, n_head=4, n_positions=1024),
        "rwkv": transformers.RwkvConfig(
            vocab_size=50277, hidden_size=32, num_hidden_layers=2, attention_hidden_size=32, intermediate_size=128,
            context_length=1024),
        "small-vocab": transformers.GPT2Config(vocab_size=50000, n_embd=32, n_layer=2, n_head=4, n_positions=1024),
    }
    directory = tmp_path_factory.mktemp("models")
    paths = {}
    for name, config in configs.items():
        torch.manual_seed(0)
        model = transformers.AutoModelForCausalLM.from_config(config)
        paths[name] = directory / name
        model.save_pretrained(paths[name])
    return paths
