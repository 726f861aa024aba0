#!/usr/bin/env python3
"""Reference ids from Hugging Face `tokenizers` for a tokenizer.json, for the tokenizer tests.

    pip install tokenizers zstandard
    python3 Tests/ZooTokenizerTests/Fixtures/make_hf_reference.py \
        Sources/ZooTokenizer/Resources/gpt-neox-20b.tokenizer.json ../shared/data/pile-mini \
        Tests/ZooTokenizerTests/Fixtures/neox

Writes into the output directory:
  pile-mini.ids.zst   every document of 00.jsonl.zst then 01.jsonl.zst, in line order, encoded with
                      `Tokenizer.from_file(path).encode(text, add_special_tokens=False).ids`, as
                      little-endian uint32, concatenated, zstd level 19
  pile-mini.json      tokenizers version, tokenizer sha256, ids sha256, per shard: per-document counts
  edge-cases.json     [{"text": ..., "ids": [...]}] for the edge cases below (a seeded generator makes
                      the random ones, so rerunning writes the same file)
  big-document.zst    a 1 MB document from the same generator: u32 byte length, its UTF-8 text, then its
                      ids as little-endian uint32, zstd level 19
"""
import array
import hashlib
import json
import os
import random
import sys
import unicodedata

import tokenizers
import zstandard

tokenizer_path, pile_dir, out_dir = sys.argv[1:4]
tok = tokenizers.Tokenizer.from_file(tokenizer_path)


def encode(text):
    return tok.encode(text, add_special_tokens=False).ids


ids = array.array("I")
shards = []
for name in ("00.jsonl.zst", "01.jsonl.zst"):
    path = os.path.join(pile_dir, name)
    data = open(path, "rb").read()
    raw = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()
    counts = []
    for line in raw.splitlines():
        doc_ids = encode(json.loads(line)["text"])
        ids.extend(doc_ids)
        counts.append(len(doc_ids))
    shards.append({"file": name, "sha256": hashlib.sha256(data).hexdigest(), "token_counts": counts})
assert sys.byteorder == "little" and ids.itemsize == 4
os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, "pile-mini.ids.zst"), "wb") as f:
    f.write(zstandard.ZstdCompressor(level=19).compress(ids.tobytes()))
with open(os.path.join(out_dir, "pile-mini.json"), "w") as f:
    json.dump({"tokenizers": tokenizers.__version__,
               "tokenizer_sha256": hashlib.sha256(open(tokenizer_path, "rb").read()).hexdigest(),
               "ids_sha256": hashlib.sha256(ids.tobytes()).hexdigest(), "shards": shards}, f)

rng = random.Random(20261201)
EDGE = ["", "a", " ", "\n", "\t", "é", "\x00"]  # empty and one-byte (and one-scalar) texts
# Runs of 1-40 spaces and tabs at line starts and ends, alone and between words.
for n in range(1, 41):
    for ws in (" ", "\t", " \t"):
        run = (ws * n)[:n] if len(ws) == 1 else (ws * n)[:n]
        EDGE += [run, run + "word", "word" + run, "word" + run + "\nnext", "line\n" + run + "x", "a" + run + "b"]
EDGE += ["a\r\nb", "\r\n", "\r\n\r\n  x", "x  \r\n  y", "  \r\n", "tab\t\r\n\tz"]
# Text that NFC changes: decomposed accents, Hangul jamo, singletons, reordering of marks.
EDGE += ["cafe\u0301", "e\u0301\u0301x", "A\u030A ring", "\u1100\u1161\u11A8", "\u1112\u1161\u11AB\u1100\u1173\u11AF",
         "\u2126 ohm", "\u212B angstrom", "a\u0323\u0307 dot", "q\u0307\u0323", "\u0958 qa", "\u0344",
         "ﬁ ﬂ ligatures", "\u00BD \u2460 \u2075 compat", "\uFF21\uFF22 fullwidth", "\u3131\u314F compat jamo",
         "Ko\u0308ln und Mu\u0308nchen", "nai\u0308ve", "\u0041\u0308\u0301", "\u0B47\u0B3E", "\u0BC6\u0BBE",
         "x\u0301" * 50, unicodedata.normalize("NFD", "Ελληνικά Ёлка Ünïcödé"), "\u05D1\u05BC\u05B7"]
# Astral characters, scripts, a literal <|endoftext|> and <|padding|>.
EDGE += ["😀", "👍🏽 thumbs", "a😀b", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010FFFF", "𐍈 gothic", "\U0001F1FA\U0001F1F8",
         "東京は日本の首都です。", "한국어 텍스트", "Русский текст", "עברית", "हिन्दी",
         "<|endoftext|>", "hello <|endoftext|> world", "a<|endoftext|>b", "<|padding|>", "<|endoftext|><|endoftext|>",
         "<|endoftext", "it's IT'S we're", "don't 'll 've", "1234567890 3.14", "def f(x):\n    return x**2\n",
         "  \u00a0 x", "\u3000word", "\u2028line", "\u0085next", "\ufeffbom", "x" * 1000, "ab" * 300, " " * 1000, "\n" * 500]
# Random mixtures of spaces, tabs, newlines, ASCII words, accents (composed and not) and emoji.
alphabet = [" ", "  ", "\t", "\n", "\r\n", "word", "The", "é", "e\u0301", "ü", "u\u0308", "\u1100\u1161", "한", "😀", ".", "'s", "1"]
for _ in range(200):
    EDGE.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
# A 1 MB document, in its own file.
parts, size = [], 0
while size < 1_000_000:
    parts.append(rng.choice(alphabet))
    size += len(parts[-1].encode())
big = "".join(parts).encode()[:1_000_000].decode("utf-8", "ignore")
big_bytes = big.encode()
with open(os.path.join(out_dir, "big-document.zst"), "wb") as f:
    blob = len(big_bytes).to_bytes(4, "little") + big_bytes + array.array("I", encode(big)).tobytes()
    f.write(zstandard.ZstdCompressor(level=19).compress(blob))
with open(os.path.join(out_dir, "edge-cases.json"), "w") as f:
    json.dump([{"text": t, "ids": encode(t)} for t in EDGE], f, ensure_ascii=True)
print(f"{len(ids)} ids; {len(EDGE)} edge cases; tokenizers {tokenizers.__version__}")
