"""`--shard` + `merge` and `--resume` after a kill give the file one uninterrupted run writes, byte for byte."""

import os
import random
import signal
import subprocess
import time

import pytest

from conftest import score_command, subprocess_env

pytest.importorskip("torch", reason="torch is not installed: zoo-score's tests need it")
pytest.importorskip("transformers", reason="transformers is not installed: zoo-score's tests need it")

from zoo.losses import LossFileError, read_losses  # noqa: E402
from zoo.partial import partial_path  # noqa: E402
from zoo.score import BLOCK_WINDOWS  # noqa: E402
from zoo.score_cli import main  # noqa: E402


def score(*args):
    return main([str(a) for a in args])


def test_shards_merge_into_the_single_run_file(models, stores, tmp_path, capsys):
    # 263 windows of 16: blocks of 64, 64, 64, 64 and 7 windows, dealt to 3 shards.
    length = 16 * BLOCK_WINDOWS * 4 + 100
    common = ["--model", models["neox"], "--tokens", stores["01"], "--seq-len", 16, "--eval-tokens", length, "--batch", 5]
    (tmp_path / "single").mkdir()
    (tmp_path / "merged").mkdir()
    assert score(*common, "--out", tmp_path / "single" / "losses.h5") == 0
    parts = [tmp_path / f"part{i}.h5" for i in range(3)]
    for i, part in enumerate(parts):
        assert score(*common, "--shard", f"{i}/3", "--out", part) == 0
    with pytest.raises(LossFileError, match="zoo.losses.shard.v1"):
        read_losses(parts[0])  # a shard is not a loss file until merged
    assert score("merge", parts[0], parts[2], "--out", tmp_path / "merged" / "x.h5") == 1
    assert "shard(s) 1/3 missing" in capsys.readouterr().err
    assert score("merge", parts[0], parts[0], parts[1], "--out", tmp_path / "merged" / "x.h5") == 1
    assert "both shard 0/3" in capsys.readouterr().err
    assert not (tmp_path / "merged" / "x.h5").exists()
    shuffled = parts[:]
    random.Random(1).shuffle(shuffled)
    assert score("merge", *shuffled, "--out", tmp_path / "merged" / "losses.h5") == 0
    assert (tmp_path / "merged" / "losses.h5").read_bytes() == (tmp_path / "single" / "losses.h5").read_bytes()


HEADER_BYTES = len("zoo-score-partial v1 ") + 64 + 1  # magic, the job key (sha256 hex), newline


def wait_for_blocks(process, sidecar, blocks, block_bytes, timeout=120):
    """Waits until the partial file holds `blocks` complete blocks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(sidecar) and os.path.getsize(sidecar) >= HEADER_BYTES + blocks * block_bytes:
            return
        if process.poll() is not None:
            pytest.fail(f"zoo-score ended ({process.returncode}) before a block was kept: {process.stderr.read()}")
        time.sleep(0.005)
    pytest.fail("no block was kept in time")


def test_resume_after_ctrl_c_and_kill_equals_one_run(models, stores, tmp_path, capsys):
    # 20 blocks of 64 windows of 32 tokens, one window per forward pass: a second or two per block on a
    # loaded machine, a few hundredths on a quiet one, where 5 blocks could all finish before the signal.
    blocks = 20
    args = ["--model", models["neox"], "--tokens", stores["01"], "--seq-len", 32, "--eval-tokens",
            32 * BLOCK_WINDOWS * blocks, "--batch", 1]
    (tmp_path / "one").mkdir()
    assert score(*args, "--out", tmp_path / "one" / "losses.h5") == 0
    out = tmp_path / "losses.h5"
    sidecar = partial_path(out)
    block_bytes = 12 + 4 * 32 * BLOCK_WINDOWS

    # Ctrl-C after the first block: exit 130, no output, the block kept.
    first = subprocess.Popen(score_command(*args, "--out", out), env=subprocess_env(), stderr=subprocess.PIPE, text=True)
    wait_for_blocks(first, sidecar, 1, block_bytes)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 130
    assert "--resume" in first.stderr.read()
    assert not out.exists() and os.path.exists(sidecar)

    # Without --resume the kept blocks are not thrown away silently.
    assert score(*args, "--out", out) == 1
    assert "add --resume" in capsys.readouterr().err
    # Other arguments cannot resume this partial file.
    assert score(*args[:-1], "2", "--out", out, "--resume") == 1
    assert "other arguments" in capsys.readouterr().err

    # Resumed, then SIGKILLed after at least one more block.
    kept = (os.path.getsize(sidecar) - HEADER_BYTES) // block_bytes
    second = subprocess.Popen(score_command(*args, "--out", out, "--resume"), env=subprocess_env(),
                              stderr=subprocess.PIPE, text=True)
    wait_for_blocks(second, sidecar, kept + 1, block_bytes)
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=60)
    assert not out.exists()
    kept = (os.path.getsize(sidecar) - HEADER_BYTES) // block_bytes
    assert 1 <= kept < blocks

    assert score(*args, "--out", out, "--resume") == 0
    assert f"{kept} of {blocks} blocks done" in capsys.readouterr().err
    assert out.read_bytes() == (tmp_path / "one" / "losses.h5").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["losses.h5", "one"]  # no partial or temporary file left
