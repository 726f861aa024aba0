"""The sidecar file that makes `zoo-score --resume` possible: the losses of every completed block,
appended as each block finishes, beside the output (`.OUT.zoo-score-partial`).

Layout: one header line `zoo-score-partial v1 <job key>\n`, then records of
`block index (uint32 LE) | loss count (uint32 LE) | crc32 of the losses (uint32 LE) | losses (float32 LE)`.
Each record is flushed and fsynced before the next block starts, so a killed run loses at most
the block it was computing; a torn last record fails its length or checksum and is dropped.
"""

import os
import struct
import zlib

import numpy as np

_MAGIC = b"zoo-score-partial v1 "
_RECORD = struct.Struct("<III")


def partial_path(out):
    """The sidecar of output `out`: a hidden file beside it, the same for every run writing `out`."""
    directory, name = os.path.split(os.path.abspath(out))
    return os.path.join(directory, f".{name}.zoo-score-partial")


def _header(key):
    return _MAGIC + key.encode("ascii") + b"\n"


def read_partial(path, key):
    """Completed blocks of a partial file made for `key`: ({block index: float32 losses}, the
    byte offset where the good records end). None when the file was made for another key (other
    arguments, another model)."""
    with open(path, "rb") as f:
        data = f.read()
    header = _header(key)
    if not data.startswith(header):
        return None
    blocks = {}
    offset = len(header)
    while offset + _RECORD.size <= len(data):
        index, count, crc = _RECORD.unpack_from(data, offset)
        payload = data[offset + _RECORD.size : offset + _RECORD.size + 4 * count]
        if len(payload) != 4 * count or zlib.crc32(payload) != crc:
            break
        blocks[index] = np.frombuffer(payload, dtype="<f4").copy()
        offset += _RECORD.size + 4 * count
    return blocks, offset


class PartialWriter:
    """Appends completed blocks to a partial file: a new one for `key`, or, with `resume_at` (from
    `read_partial`), the existing one cut after its last good record."""

    def __init__(self, path, key, resume_at=None):
        self.path = path
        if resume_at is None:
            self._file = open(path, "wb")
            self._file.write(_header(key))
        else:
            self._file = open(path, "r+b")
            self._file.truncate(resume_at)
            self._file.seek(resume_at)
        self._sync()

    def _sync(self):
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, index, losses):
        """Records block `index` as done."""
        payload = np.asarray(losses, dtype="<f4").tobytes()
        self._file.write(_RECORD.pack(index, len(losses), zlib.crc32(payload)) + payload)
        self._sync()

    def close(self):
        self._file.close()
