"""Reading Zoo token stores (`zoo.tokens.v1`, written by `zoo-ingest`; contract in docs/FORMATS.md, "Token store").

A store is one HDF5 file: `/tokens` (uint16, or uint32 when an id does not fit), `/doc_offsets`,
`/doc_subset`, and root attributes that say what the ids are: `tokenizer`, `tokenizer_sha256`,
`vocab_size`, `eot`. Stores written before those attributes existed hold GPT-2 ids.
"""

import hashlib
import os

import h5py
import numpy as np

FORMAT = "zoo.tokens.v1"

# What a store without tokenizer attributes holds (every store `zoo-ingest` wrote before them).
LEGACY_TOKENIZER = "gpt2"
LEGACY_VOCAB_SIZE = 50257
LEGACY_EOT = 50256


class StoreError(Exception):
    """A store that cannot be read; the message names the file."""


def file_sha256(path, chunk=1 << 24):
    """sha256 (hex) of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                return digest.hexdigest()
            digest.update(block)


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class TokenStore:
    """An open token store: its attributes, and token ranges as numpy int64 arrays."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        if not os.path.exists(path):
            raise StoreError(f"{path}: no such token store")
        try:
            self._file = h5py.File(path, "r")
        except OSError as error:
            raise StoreError(f"{path}: not an HDF5 file ({error})") from None
        attrs = self._file.attrs
        fmt = _text(attrs.get("format", ""))
        if fmt != FORMAT:
            self._file.close()
            raise StoreError(f"{path}: format is '{fmt}', expected '{FORMAT}' (a token store from zoo-ingest)")
        if "tokens" not in self._file:
            self._file.close()
            raise StoreError(f"{path}: no dataset /tokens")
        self._tokens = self._file["tokens"]
        if self._tokens.dtype not in (np.uint16, np.uint32) or self._tokens.ndim != 1:
            self._file.close()
            raise StoreError(f"{path}: /tokens is {self._tokens.dtype} {self._tokens.shape}, expected 1-D uint16 or uint32")
        self.tokenizer = _text(attrs["tokenizer"]) if "tokenizer" in attrs else LEGACY_TOKENIZER
        self.tokenizer_sha256 = _text(attrs["tokenizer_sha256"]) if "tokenizer_sha256" in attrs else ""
        self.vocab_size = int(attrs["vocab_size"]) if "vocab_size" in attrs else LEGACY_VOCAB_SIZE
        self.eot = int(attrs["eot"]) if "eot" in attrs else LEGACY_EOT
        self.token_count = int(self._tokens.shape[0])
        if "tokens" in attrs and int(attrs["tokens"]) != self.token_count:
            self._file.close()
            raise StoreError(f"{path}: /tokens has {self.token_count} entries, the tokens attribute says {int(attrs['tokens'])}")
        self._sha256 = None

    @property
    def sha256(self):
        """sha256 of the store file (computed once)."""
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        return self._sha256

    def read(self, start, end):
        """Tokens `start..<end` as int64."""
        return self._tokens[start:end].astype(np.int64)

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
