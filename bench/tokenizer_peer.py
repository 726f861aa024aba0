#!/usr/bin/env python3
"""The peer of `zoo-bench tokenize`: tiktoken's gpt2 or Hugging Face `tokenizers` on the same texts.

    python3 bench/tokenizer_peer.py --tiktoken RANKS_FILE TEXTS_BIN --repeats 3 --threads 1
    RAYON_NUM_THREADS=2 python3 bench/tokenizer_peer.py --tokenizer-json tokenizer.json TEXTS_BIN --threads 2

TEXTS_BIN holds the documents as (u64 little-endian byte length, UTF-8 bytes), back to back.
Times the median of --repeats encodings of all texts (after one warm-up) and prints one JSON line:
{"seconds", "tokens", "sha256"}, the digest over all ids as little-endian uint32, documents back
to back (what zoo-bench compares with its own ids).

  tiktoken   encode_ordinary per document (--threads 1) or encode_ordinary_batch(num_threads=N),
             with tiktoken's gpt2 pattern (r50k_pat_str) and the given ranks
  tokenizers encode_batch_fast(texts, add_special_tokens=False); its thread count is
             RAYON_NUM_THREADS, which the caller sets (1 = single-threaded)
"""
import argparse
import array
import hashlib
import json
import statistics
import struct
import time

parser = argparse.ArgumentParser()
kind = parser.add_mutually_exclusive_group(required=True)
kind.add_argument("--tiktoken", metavar="RANKS")
kind.add_argument("--tokenizer-json", metavar="PATH")
parser.add_argument("texts")
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--threads", type=int, default=1)
args = parser.parse_args()

data = open(args.texts, "rb").read()
texts, i = [], 0
while i < len(data):
    (n,) = struct.unpack_from("<Q", data, i)
    i += 8
    texts.append(data[i:i + n].decode("utf-8"))
    i += n

if args.tiktoken:
    import tiktoken
    import tiktoken.load
    from tiktoken_ext.openai_public import r50k_pat_str
    enc = tiktoken.Encoding(name="gpt2", pat_str=r50k_pat_str, mergeable_ranks=tiktoken.load.load_tiktoken_bpe(args.tiktoken),
                            special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257)
    if args.threads == 1:
        def encode_all():
            return [enc.encode_ordinary(t) for t in texts]
    else:
        def encode_all():
            return enc.encode_ordinary_batch(texts, num_threads=args.threads)
else:
    import tokenizers
    tok = tokenizers.Tokenizer.from_file(args.tokenizer_json)

    def encode_all():
        return [e.ids for e in tok.encode_batch_fast(texts, add_special_tokens=False)]

ids = encode_all()
times = []
for _ in range(max(1, args.repeats)):
    start = time.perf_counter()
    encode_all()
    times.append(time.perf_counter() - start)
digest = hashlib.sha256()
for doc in ids:
    digest.update(array.array("I", doc).tobytes())
print(json.dumps({"seconds": statistics.median(times), "tokens": sum(map(len, ids)), "sha256": digest.hexdigest()}))
