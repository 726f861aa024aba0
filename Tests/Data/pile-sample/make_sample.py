#!/usr/bin/env python3
"""Builds the bundled demo sample from ../shared/data/pile-mini (Debian-packaged public texts).

    python3 Tests/Data/pile-sample/make_sample.py ../shared/data/pile-mini Tests/Data/pile-sample

Takes, from each pile-mini shard, the documents of at most 60 kB of text in their shard order,
round-robin over the Pile subsets, until about 750 kB of text per shard; writes the chosen lines
unchanged (00 keeps its ensure_ascii escapes, 01 its raw UTF-8) and compresses them with the
`zstd` CLI (level 19). Deterministic: same inputs, same output.
"""
import json
import os
import subprocess
import sys
from collections import OrderedDict

src, dst = sys.argv[1], sys.argv[2]
BUDGET = 750_000
for shard in ("00", "01"):
    raw = subprocess.run(["zstd", "-dc", os.path.join(src, f"{shard}.jsonl.zst")], check=True,
                         capture_output=True).stdout
    by_subset = OrderedDict()
    for line in raw.splitlines():
        doc = json.loads(line)
        size = len(doc["text"].encode("utf-8"))
        if size <= 60_000:
            by_subset.setdefault(doc["meta"]["pile_set_name"], []).append((line, size))
    chosen, total = [], 0
    while total < BUDGET and any(by_subset.values()):
        for lines in by_subset.values():
            if lines and total < BUDGET:
                line, size = lines.pop(0)
                chosen.append(line)
                total += size
    out = os.path.join(dst, f"{shard}.jsonl.zst")
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", out], input=b"\n".join(chosen) + b"\n", check=True)
    print(f"{out}: {len(chosen)} documents, {total} text bytes")
