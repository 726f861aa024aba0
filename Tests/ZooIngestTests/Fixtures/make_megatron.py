#!/usr/bin/env python3
"""Small Megatron / GPT-NeoX indexed datasets (MMIDIDX .bin + .idx), good and bad, for the
`zoo-ingest --format megatron` tests.

    python3 Tests/ZooIngestTests/Fixtures/make_megatron.py Tests/ZooIngestTests/Fixtures/megatron

Written from the format as GPT-NeoX's and Pythia's `mmap_dataset.py` (and Megatron-LM's
`indexed_dataset.py`) lay it out, independently of Zoo's reader. All integers little-endian:

  .idx  b"MMIDIDX\\x00\\x00"            9-byte magic
        u64 version = 1
        u8  dtype code                   1 uint8, 2 int8, 3 int16, 4 int32, 5 int64,
                                         6 float64, 7 float32, 8 uint16
        u64 sequence count N
        u64 document-index count D + 1
        int32 sizes[N]                   tokens per sequence
        int64 pointers[N]                byte offset of each sequence in .bin (cumulative
                                         sizes times the item size)
        int64 doc_idx[D + 1]             document d is sequences doc_idx[d] ..< doc_idx[d + 1];
                                         starts at 0, ends at N
  .bin  every sequence's ids, back to back, in the dtype

Writes, into the directory given:
  u16.bin/.idx   uint16: 4 documents of 1-3 sequences, one sequence empty
  i32.bin/.idx   int32: 4 documents, one of them with no sequences (Megatron-LM's preprocess
                 writes such a document for an empty text), ids up to 50256
  noeod.bin/.idx uint16: 2 documents that do not end with 50256 (made without --append-eod)
  bad-*.bin/.idx one defect each (see BAD below); bad-missing-bin has no .bin
  expected.json  per good prefix: dtype and each document's ids (its sequences concatenated);
                 per bad prefix: the file whose defect it is
Each good pair is read back the way mmap_dataset.py's reader does (numpy.frombuffer at the
header's offsets) before anything is written. make_megatron_core.py then adds datasets from
Megatron-LM's own builder and reads all good ones back with Megatron-LM's own reader.
"""
import json
import os
import struct
import sys

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
CODES = {np.uint8: 1, np.int8: 2, np.int16: 3, np.int32: 4, np.int64: 5, np.float64: 6, np.float32: 7, np.uint16: 8}
EOD = 50256  # GPT-2's <|endoftext|>, as --append-eod puts it at each document's end


def index_bytes(dtype, sizes, doc_idx, version=1, code=None, magic=MAGIC, pointers=None):
    """The .idx for sequences of `sizes` tokens grouped into documents by `doc_idx`."""
    sizes = np.array(sizes, dtype=np.int32)
    if pointers is None:
        pointers = np.zeros(len(sizes), dtype=np.int64)
        pointers[1:] = np.cumsum(sizes[:-1].astype(np.int64)) * np.dtype(dtype).itemsize
    out = bytearray(magic)
    out += struct.pack("<Q", version)
    out += struct.pack("<B", CODES[dtype] if code is None else code)
    out += struct.pack("<Q", len(sizes))
    out += struct.pack("<Q", len(doc_idx))
    out += sizes.astype("<i4").tobytes()
    out += np.array(pointers, dtype="<i8").tobytes()
    out += np.array(doc_idx, dtype="<i8").tobytes()
    return bytes(out)


def dataset(dtype, documents):
    """(.bin bytes, .idx bytes) for `documents`, each a list of sequences (lists of ids)."""
    sizes, doc_idx, data = [], [0], []
    for sequences in documents:
        for seq in sequences:
            sizes.append(len(seq))
            data.extend(seq)
        doc_idx.append(len(sizes))
    bin_bytes = np.array(data, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
    return bin_bytes, index_bytes(dtype, sizes, doc_idx), sizes, doc_idx


def read_back(bin_bytes, idx_bytes):
    """Each document's ids, read as mmap_dataset.py's MMapIndexedDataset reads them."""
    assert idx_bytes[:9] == MAGIC
    (version,) = struct.unpack("<Q", idx_bytes[9:17])
    assert version == 1
    (code,) = struct.unpack("<B", idx_bytes[17:18])
    dtype = {v: k for k, v in CODES.items()}[code]
    count, doc_count = struct.unpack("<QQ", idx_bytes[18:34])
    offset = 34
    sizes = np.frombuffer(idx_bytes, dtype="<i4", count=count, offset=offset)
    pointers = np.frombuffer(idx_bytes, dtype="<i8", count=count, offset=offset + sizes.nbytes)
    doc_idx = np.frombuffer(idx_bytes, dtype="<i8", count=doc_count, offset=offset + sizes.nbytes + pointers.nbytes)
    docs = []
    for d in range(doc_count - 1):
        ids = []
        for s in range(doc_idx[d], doc_idx[d + 1]):
            ids.extend(np.frombuffer(bin_bytes, dtype=np.dtype(dtype).newbyteorder("<"), count=sizes[s], offset=pointers[s]).tolist())
        docs.append(ids)
    return docs


rng = np.random.default_rng(13)


def ids(n, high=EOD):
    return rng.integers(0, high, size=n).tolist()


U16 = [
    [ids(5), ids(3) + [EOD]],
    [ids(7), [], ids(2) + [EOD]],  # an empty sequence inside a document
    [ids(1) + [EOD]],
    [ids(4), ids(4), [0, 32768, 50255, EOD]],  # 32768: the top bit of uint16
]
I32 = [
    [ids(6) + [EOD]],
    [],  # a document without sequences
    [ids(3), ids(9) + [EOD]],
    [ids(2), [0, 1, 50256], [EOD]],
]

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
for name in os.listdir(out_dir):
    if name.endswith((".bin", ".idx", ".json")):
        os.remove(os.path.join(out_dir, name))


def write(name, bin_bytes, idx_bytes):
    if bin_bytes is not None:
        open(os.path.join(out_dir, name + ".bin"), "wb").write(bin_bytes)
    if idx_bytes is not None:
        open(os.path.join(out_dir, name + ".idx"), "wb").write(idx_bytes)


expected = {"good": {}, "bad": {}}
NOEOD = [[ids(4)], [ids(2), ids(3)]]
for name, dtype, documents in [("u16", np.uint16, U16), ("i32", np.int32, I32), ("noeod", np.uint16, NOEOD)]:
    bin_bytes, idx_bytes, _, _ = dataset(dtype, documents)
    docs = [sum(seqs, []) for seqs in documents]
    assert read_back(bin_bytes, idx_bytes) == docs
    write(name, bin_bytes, idx_bytes)
    expected["good"][name] = {"dtype": np.dtype(dtype).name, "documents": docs}

# Bad variants, each from the uint16 dataset (or int32 where the defect needs a signed type).
bin16, idx16, sizes16, doc16 = dataset(np.uint16, U16)
bin32, idx32, sizes32, doc32 = dataset(np.int32, I32)
pointers16 = [0]
for s in sizes16[:-1]:
    pointers16.append(pointers16[-1] + 2 * s)
BAD = {
    "bad-magic": (bin16, index_bytes(np.uint16, sizes16, doc16, magic=b"MMIDIDX\x00\x01"), "idx"),
    "bad-version": (bin16, index_bytes(np.uint16, sizes16, doc16, version=2), "idx"),
    "bad-float-dtype": (bin16, index_bytes(np.uint16, sizes16, doc16, code=7), "idx"),
    "bad-unknown-dtype": (bin16, index_bytes(np.uint16, sizes16, doc16, code=9), "idx"),
    "bad-truncated-idx": (bin16, idx16[:-12], "idx"),
    "bad-short-header": (bin16, idx16[:20], "idx"),
    "bad-trailing-idx": (bin16, idx16 + b"\x00" * 3, "idx"),
    # The last sequence's pointer lies past the end of .bin.
    "bad-pointer-past-end": (bin16, index_bytes(np.uint16, sizes16, doc16, pointers=pointers16[:-1] + [len(bin16) + 2]), "idx"),
    # The last sequence claims more tokens than .bin holds.
    "bad-size-past-end": (bin16, index_bytes(np.uint16, sizes16[:-1] + [sizes16[-1] + 1], doc16), "idx"),
    # Sequence 1 starts 2 bytes late (still inside .bin): pointers disagree with sizes x itemsize.
    "bad-pointers-inconsistent": (bin16, index_bytes(np.uint16, sizes16, doc16, pointers=[0, pointers16[1] + 2] + pointers16[2:]), "idx"),
    "bad-negative-size": (bin16, index_bytes(np.uint16, [-1] + sizes16[1:], doc16), "idx"),
    "bad-doc-idx-decreasing": (bin16, index_bytes(np.uint16, sizes16, [0, 3, 2] + doc16[3:]), "idx"),
    "bad-doc-idx-end": (bin16, index_bytes(np.uint16, sizes16, doc16[:-1] + [doc16[-1] - 1]), "idx"),
    "bad-doc-idx-start": (bin16, index_bytes(np.uint16, sizes16, [1] + doc16[1:]), "idx"),
    "bad-doc-idx-empty": (bin16, index_bytes(np.uint16, sizes16, []), "idx"),
    "bad-trailing-bin": (bin16 + b"\x00\x00", idx16, "bin"),
    "bad-missing-bin": (None, idx16, "bin"),
    "bad-negative-id": (bin32[:-4] + struct.pack("<i", -5), idx32, "bin"),
    "bad-id-too-large": (bin16[:-2] + struct.pack("<H", 50277), idx16, "bin"),
}
for name, (bin_bytes, idx_bytes, culprit) in BAD.items():
    write(name, bin_bytes, idx_bytes)
    expected["bad"][name] = name + "." + culprit

with open(os.path.join(out_dir, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
