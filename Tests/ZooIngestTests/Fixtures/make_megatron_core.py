#!/usr/bin/env python3
"""Megatron datasets written by Megatron-LM's own builder, and the numpy fixtures read back by
Megatron-LM's own reader, for the `zoo-ingest --format megatron` tests.

    pip install --no-deps megatron-core==0.16.1   # imports with the CPU torch already installed
    python3 Tests/ZooIngestTests/Fixtures/make_megatron_core.py Tests/ZooIngestTests/Fixtures/megatron

Run after make_megatron.py (which clears the directory). Writes:
  mcore-u16.bin/.idx  megatron.core IndexedDatasetBuilder, uint16: documents made with
                      add_item + end_document (one item empty), add_document, and an empty
                      add_document
  mcore-i32.bin/.idx  int32: two datasets merged with add_index, as Megatron-LM's
                      tools/merge_datasets.py does
  mcore.json          megatron-core's version and each prefix's documents (ids per document)
and checks that megatron.core's IndexedDataset reads every good dataset of expected.json and
mcore.json as those files say.
"""
import json
import os
import sys
import tempfile
from importlib.metadata import version

import numpy as np
import torch
from megatron.core.datasets.indexed_dataset import IndexedDataset, IndexedDatasetBuilder

EOD = 50256
out_dir = sys.argv[1]
rng = np.random.default_rng(2024)


def ids(n):
    return rng.integers(0, EOD, size=n).tolist()


def build(prefix, dtype, documents):
    """Writes `documents` (lists of items, each a list of ids) item by item."""
    builder = IndexedDatasetBuilder(prefix + ".bin", dtype=dtype)
    for items in documents:
        for item in items:
            builder.add_item(torch.tensor(item, dtype=torch.int64))
        builder.end_document()
    builder.finalize(prefix + ".idx")


def documents_of(prefix):
    """Each document's ids, read with megatron.core's IndexedDataset."""
    dataset = IndexedDataset(prefix)
    bounds = dataset.document_indices
    return [
        [int(x) for s in range(bounds[d], bounds[d + 1]) for x in dataset[s]]
        for d in range(len(bounds) - 1)
    ]


mcore = {"megatron_core": version("megatron-core"), "documents": {}}

# uint16: item by item, then a whole document at once, then an empty document.
u16 = [[ids(3), [], ids(2) + [EOD]], [ids(6) + [EOD]]]
prefix = os.path.join(out_dir, "mcore-u16")
builder = IndexedDatasetBuilder(prefix + ".bin", dtype=np.uint16)
for items in u16:
    for item in items:
        builder.add_item(torch.tensor(item, dtype=torch.int64))
    builder.end_document()
whole = [ids(4), ids(1) + [EOD]]
builder.add_document(torch.tensor(sum(whole, []), dtype=torch.int64), [len(x) for x in whole])
builder.add_document(torch.tensor([], dtype=torch.int64), [])
builder.finalize(prefix + ".idx")
mcore["documents"]["mcore-u16"] = [sum(d, []) for d in u16] + [sum(whole, []), []]

# int32: two parts merged with add_index.
parts = [[[ids(5) + [EOD]], [ids(2), ids(2) + [EOD]]], [[ids(7) + [EOD]]]]
with tempfile.TemporaryDirectory() as tmp:
    for k, part in enumerate(parts):
        build(os.path.join(tmp, f"part{k}"), np.int32, part)
    prefix = os.path.join(out_dir, "mcore-i32")
    builder = IndexedDatasetBuilder(prefix + ".bin", dtype=np.int32)
    for k in range(len(parts)):
        builder.add_index(os.path.join(tmp, f"part{k}"))
    builder.finalize(prefix + ".idx")
mcore["documents"]["mcore-i32"] = [sum(d, []) for part in parts for d in part]

with open(os.path.join(out_dir, "expected.json")) as f:
    expected = json.load(f)
wanted = {name: good["documents"] for name, good in expected["good"].items()} | mcore["documents"]
for name, documents in wanted.items():
    assert documents_of(os.path.join(out_dir, name)) == documents, name

with open(os.path.join(out_dir, "mcore.json"), "w") as f:
    json.dump(mcore, f, indent=1, sort_keys=True)
    f.write("\n")
