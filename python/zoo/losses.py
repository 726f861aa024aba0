"""Per-token loss files (`zoo.losses.v1`), laid out exactly as `zoo-train lm` writes them
(Sources/ZooStorage/LossFile.swift; contract in docs/FORMATS.md, "Per-token losses").

`/loss` float32 [M]: the loss of token i of the evaluated range at position i, NaN at each window's
first token; `/window_starts` uint64 [W]: indices into the range. Root attributes: `format`,
`token_store` (file name), `token_store_sha256`, `run`, `model` (JSON) as variable-length UTF-8
strings; `range_start`, `range_end`, `seq_len` as int64.
"""

import os
import random
from dataclasses import dataclass

import h5py
import numpy as np

FORMAT = "zoo.losses.v1"

_STRING_ATTRIBUTES = ("token_store", "token_store_sha256", "run", "model")
_INT_ATTRIBUTES = ("range_start", "range_end", "seq_len")


class LossFileError(Exception):
    """A loss file that cannot be read or written; the message names the file."""


@dataclass(frozen=True)
class LossMetadata:
    """The root attributes of a loss file."""

    token_store: str
    token_store_sha256: str
    range_start: int
    range_end: int
    seq_len: int
    run: str
    model: str


def temporary_path(path):
    """A temporary name beside `path` (same directory, so the final rename is atomic)."""
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.tmp-{os.getpid()}-{random.getrandbits(32)}")


def write_attributes(f, fmt, metadata):
    """Writes the root attributes in `zoo-train lm`'s order and types."""
    f.attrs["format"] = fmt
    f.attrs["token_store"] = metadata.token_store
    f.attrs["token_store_sha256"] = metadata.token_store_sha256
    f.attrs["range_start"] = np.int64(metadata.range_start)
    f.attrs["range_end"] = np.int64(metadata.range_end)
    f.attrs["seq_len"] = np.int64(metadata.seq_len)
    f.attrs["run"] = metadata.run
    f.attrs["model"] = metadata.model


def atomic_hdf5(path, fill):
    """Creates `path` whole or not at all: `fill(h5py.File)` writes into a temporary file beside
    it, which is renamed onto `path` only when complete (removed on any error or Ctrl-C)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = temporary_path(path)
    try:
        with h5py.File(temporary, "w") as f:
            fill(f)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def check_layout(path, losses, window_starts, metadata):
    """The checks `LossFile.write` makes: one loss per range token, window starts increasing from 0."""
    if len(losses) != metadata.range_end - metadata.range_start:
        raise LossFileError(f"{path}: {len(losses)} losses for the range {metadata.range_start}..<{metadata.range_end}")
    starts = np.asarray(window_starts, dtype=np.uint64)
    if len(starts) and (np.any(starts[1:] <= starts[:-1]) or starts[-1] >= len(losses) or starts[0] != 0):
        raise LossFileError(f"{path}: window starts must increase from 0 inside the range")


def write_losses(path, losses, window_starts, metadata, fmt=FORMAT, extra=None):
    """Writes a `zoo.losses.v1` file atomically (or, with `fmt` and `extra` int attributes, a file
    of the same layout under another format). Datasets carry no timestamps, so the same losses
    give the same bytes (`zoo-train lm`'s files differ from these only in that)."""
    check_layout(path, losses, window_starts, metadata)

    def fill(f):
        f.create_dataset("loss", data=np.asarray(losses, dtype="<f4"), track_times=False)
        f.create_dataset("window_starts", data=np.asarray(window_starts, dtype="<u8"), track_times=False)
        write_attributes(f, fmt, metadata)
        for key, value in (extra or {}).items():
            f.attrs[key] = np.int64(value)

    atomic_hdf5(path, fill)


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_metadata(f, path):
    """The loss-file attributes of an open file; a missing one is an error naming the file."""
    attrs = f.attrs
    missing = [k for k in _STRING_ATTRIBUTES + _INT_ATTRIBUTES if k not in attrs]
    if missing:
        raise LossFileError(f"{path}: missing attribute(s) {', '.join(missing)}")
    return LossMetadata(
        token_store=_text(attrs["token_store"]),
        token_store_sha256=_text(attrs["token_store_sha256"]),
        range_start=int(attrs["range_start"]),
        range_end=int(attrs["range_end"]),
        seq_len=int(attrs["seq_len"]),
        run=_text(attrs["run"]),
        model=_text(attrs["model"]),
    )


def read_losses(path, fmt=FORMAT):
    """Reads a loss file: (losses float32, window_starts uint64, metadata, other root attributes)."""
    if not os.path.exists(path):
        raise LossFileError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise LossFileError(f"{path}: not an HDF5 file ({error})") from None
    with f:
        found = _text(f.attrs.get("format", ""))
        if found != fmt:
            raise LossFileError(f"{path}: format is '{found}', expected '{fmt}'")
        metadata = read_metadata(f, path)
        if "loss" not in f or "window_starts" not in f:
            raise LossFileError(f"{path}: needs datasets /loss and /window_starts")
        losses = f["loss"][:].astype(np.float32)
        starts = f["window_starts"][:].astype(np.uint64)
        known = set(_STRING_ATTRIBUTES + _INT_ATTRIBUTES + ("format",))
        extra = {k: f.attrs[k] for k in f.attrs if k not in known}
    if len(losses) != metadata.range_end - metadata.range_start:
        raise LossFileError(f"{path}: /loss has {len(losses)} entries for the range {metadata.range_start}..<{metadata.range_end}")
    return losses, starts, metadata, extra
