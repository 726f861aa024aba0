#!/usr/bin/env python3
"""Reference GPT-2 ids from tiktoken, for the tokenizer and ingest tests.

    pip install tiktoken zstandard
    python3 Tests/ZooTokenizerTests/Fixtures/make_reference.py ../shared/data/gpt2.tiktoken \
        ../shared/data/pile-mini Tests/ZooTokenizerTests/Fixtures

Writes:
  pile-mini.ids.zst   every document of 00.jsonl.zst then 01.jsonl.zst, in line order, encoded
                      with tiktoken's gpt2 `encode_ordinary` (no EOT), as little-endian uint16,
                      concatenated, zstd level 19
  pile-mini.json      tiktoken version, ranks sha256, and per shard: file, sha256, per-document
                      token counts and pile_set_name
  edge-cases.json     [{"text": ..., "ids": [...]}] for the hand-picked edge cases below
The encoding is built exactly as shared/bench/gpt2_bpe.py does: tiktoken.Encoding("gpt2",
pat_str=tiktoken's r50k_pat_str, mergeable_ranks from the ranks file, <|endoftext|> = 50256).
"""
import array
import hashlib
import json
import os
import sys

import tiktoken
import tiktoken.load
import zstandard
from tiktoken_ext.openai_public import r50k_pat_str

ranks_path, pile_dir, out_dir = sys.argv[1:4]
enc = tiktoken.Encoding(name="gpt2", pat_str=r50k_pat_str,
                        mergeable_ranks=tiktoken.load.load_tiktoken_bpe(ranks_path),
                        special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257)

ids = array.array("H")
shards = []
for name in ("00.jsonl.zst", "01.jsonl.zst"):
    path = os.path.join(pile_dir, name)
    data = open(path, "rb").read()
    raw = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()
    counts, subsets = [], []
    for line in raw.splitlines():
        doc = json.loads(line)
        doc_ids = enc.encode_ordinary(doc["text"])
        ids.extend(doc_ids)
        counts.append(len(doc_ids))
        subsets.append(doc["meta"]["pile_set_name"])
    shards.append({"file": name, "sha256": hashlib.sha256(data).hexdigest(), "token_counts": counts,
                   "subsets": subsets})
assert sys.byteorder == "little"
with open(os.path.join(out_dir, "pile-mini.ids.zst"), "wb") as f:
    f.write(zstandard.ZstdCompressor(level=19).compress(ids.tobytes()))
with open(os.path.join(out_dir, "pile-mini.json"), "w") as f:
    json.dump({"tiktoken": tiktoken.__version__,
               "ranks_sha256": hashlib.sha256(open(ranks_path, "rb").read()).hexdigest(),
               "ids_sha256": hashlib.sha256(ids.tobytes()).hexdigest(), "shards": shards}, f)

EDGE = [
    "", " ", "  ", "\t", "\n", "\n\n\n", "   \n  ", " \t \n ", "\r\n", "\r\n\r\nfoo", "a\r\nb", "x\r\n\r\n\r\n  y",
    "hello world", "hello  world", "hello   world ", "Hello World!", "hello <|endoftext|> world", "<|endoftext|>",
    "cafe\u0301", "e\u0301\u0301x", "na\u00efve caf\u00e9", "\u0915\u094d\u0937", "ﬁ ligature",
    "東京は日本の首都です。", "中文 测试 abc", "한국어 텍스트", "Ελληνικά κείμενα", "Русский текст", "עברית",
    "😀", "👍🏽 thumbs", "a😀b", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010FFFF", "\U0001F1FA\U0001F1F8 flag", "𐍈 gothic",
    "0", "00", "000", "0000", "00000", "000000", "0000000", "00000000", "000000000", "0000000000",
    "00000000000", "000000000000", "0000000000000", "00000000000000", "000000000000000",
    "0000000000000000", "00000000000000000", "1234567890", "3.14159", "1,000,000", "½ ² Ⅻ ١٢٣ ４５",
    "'s", "'S", "it's", "IT'S", "we're we'RE", "they've", "I'm", "you'll", "he'd", "'t 'm 'd 'll 've 're",
    "don't", "rock 'n' roll", "''s", "'", "''", "’s curly", "l'été",
    "\u00a0word", " \u00a0word", "\u3000word", "\u2028line", "\u0085next", "\u200bzero-width", "\ufeffbom",
    "a\u001cb", "  \u00a0 x", "x \u2009y", "tab\tsep\tvalues", "!!!", " !!!", "a!!b", "...hm?!", "@user #tag",
    "def f(x):\n    return x**2\n", "if (a && b) { c(); }", "https://example.com/a?b=c&d=e", "C:\\path\\to",
    "\x00\x01\x02", "x" * 1000, " " * 1000, "\n" * 500, "ab" * 300, "0" * 777,
]
with open(os.path.join(out_dir, "edge-cases.json"), "w") as f:
    json.dump([{"text": t, "ids": enc.encode_ordinary(t)} for t in EDGE], f, ensure_ascii=True)
print(f"{len(ids)} ids; {len(EDGE)} edge cases")
