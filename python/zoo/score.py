"""Per-token losses of a model over a token range, in `zoo-train lm`'s windows.

The range is cut into non-overlapping `seq_len` windows from its start, the last one short
(Sources/ZooTrain/LM/LMEvaluation.swift). Window w's token t+1 gets −log p(x_{t+1} | x_0..x_t of
the window), computed from the logits in float32 (log_softmax, then the target's entry); each
window's first token gets NaN. Windows are grouped in blocks of `BLOCK_WINDOWS`: the unit that
`--shard` deals out, `--resume` keeps, and batches never cross, so every block is computed the
same way in a single run, a resumed one and any shard.
"""

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np
import torch

from .losses import LossMetadata, read_losses, write_losses
from .partial import PartialWriter, partial_path, read_partial
from .tokenizer_check import tokenizer_mismatch

BLOCK_WINDOWS = 64

SHARD_FORMAT = "zoo.losses.shard.v1"


class ScoreError(Exception):
    """A request that cannot be scored; one line naming the files or the model involved."""


def held_out_range(store, eval_tokens):
    """The last `eval_tokens` tokens of `store`: the range `zoo-train lm --eval-tokens` holds out of
    its last store (TokenCorpus.swift)."""
    if not 2 <= eval_tokens <= store.token_count:
        raise ScoreError(f"--eval-tokens {eval_tokens} must be between 2 and {store.path}'s {store.token_count} tokens")
    return store.token_count - eval_tokens, store.token_count


def parse_range(text, store):
    """`START:END` (token indices, END exclusive) inside `store`."""
    start, sep, end = text.partition(":")
    try:
        start, end = int(start), int(end)
    except ValueError:
        sep = ""
    if not sep:
        raise ScoreError(f"--range {text}: expected START:END, e.g. 0:100000")
    if not 0 <= start < end <= store.token_count or end - start < 2:
        raise ScoreError(
            f"--range {text} is not inside {store.path} (tokens 0:{store.token_count}; at least 2 tokens)")
    return start, end


def parse_shard(text):
    """`I/N` → (I, N) with 0 ≤ I < N."""
    index, sep, count = text.partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        sep = ""
    if not sep or not 0 <= index < count:
        raise ScoreError(f"--shard {text}: expected I/N with 0 <= I < N, e.g. 0/4")
    return index, count


def window_starts(count, seq_len):
    """Window starts (indices into the range) of non-overlapping `seq_len` windows over `count` tokens."""
    return np.arange(0, count, seq_len, dtype=np.int64)


@dataclass
class ScoreJob:
    """What to score: `store[start:end]` in `seq_len` windows, `batch` windows per forward pass,
    the blocks of shard `shard` = (I, N)."""

    store: object
    start: int
    end: int
    seq_len: int
    batch: int = 8
    shard: tuple = (0, 1)

    def __post_init__(self):
        if self.seq_len < 2:
            raise ScoreError(f"--seq-len {self.seq_len} must be at least 2")
        if self.batch < 1:
            raise ScoreError(f"--batch {self.batch} must be at least 1")
        self.count = self.end - self.start
        self.starts = window_starts(self.count, self.seq_len)
        self.block_count = (len(self.starts) + BLOCK_WINDOWS - 1) // BLOCK_WINDOWS
        index, shards = self.shard
        self.blocks = list(range(index, self.block_count, shards))

    def block_span(self, block):
        """Range positions `[p0, p1)` covered by `block`'s windows."""
        first = block * BLOCK_WINDOWS
        after = first + BLOCK_WINDOWS
        return int(self.starts[first]), int(self.starts[after]) if after < len(self.starts) else self.count

    def block_tokens(self, block):
        p0, p1 = self.block_span(block)
        return p1 - p0

    def key(self, model):
        """What a partial file must have been made by to be resumed: everything the losses depend on."""
        fields = {
            "store_sha256": self.store.sha256, "start": self.start, "end": self.end, "seq_len": self.seq_len,
            "batch": self.batch, "shard": list(self.shard), "block_windows": BLOCK_WINDOWS,
            "model": model.description, "device": model.device,
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

    def metadata(self, model, run):
        return LossMetadata(
            token_store=self.store.name, token_store_sha256=self.store.sha256, range_start=self.start,
            range_end=self.end, seq_len=self.seq_len, run=run, model=model_json(model))


def model_json(model):
    return json.dumps(model.description, sort_keys=True, separators=(",", ":"))


def logits_width(model):
    """The vocabulary the model's logits span, from one forward pass on two tokens."""
    with torch.inference_mode():
        logits = model.forward(torch.zeros((1, 2), dtype=torch.long, device=model.device))
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3 or tuple(logits.shape[:2]) != (1, 2):
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ScoreError(f"{model.name}: returned {shape} for input_ids [1, 2]; expected logits [1, 2, V]")
    return int(logits.shape[2])


def check_job(job, model):
    """The checks before scoring: the store's ids fit the model's vocabulary, the model's tokenizer
    (when it has a tokenizer.json) is the store's, and the windows fit the model's context."""
    store = job.store
    width = logits_width(model)
    vocab = min(width, model.vocab_size) if model.vocab_size else width
    if store.vocab_size > vocab:
        raise ScoreError(
            f"{store.path} holds {store.tokenizer} ids up to {store.vocab_size - 1} (vocab_size {store.vocab_size}), "
            f"but the model {model.name} has a vocabulary of {vocab}")
    if model.tokenizer_name and model.tokenizer_name != store.tokenizer:
        raise ScoreError(
            f"the model {model.name} was trained on {model.tokenizer_name} ids, but {store.path} holds {store.tokenizer} ids")
    if model.tokenizer_json:
        reason = tokenizer_mismatch(store, model.tokenizer_json)
        if reason:
            raise ScoreError(reason)
    if model.context and job.seq_len > model.context:
        raise ScoreError(f"--seq-len {job.seq_len} is longer than the model {model.name}'s context of {model.context} tokens")
    return width


def score_block(job, model, block, width):
    """Losses of the range positions `block` covers (NaN at each window's first token)."""
    p0, p1 = job.block_span(block)
    tokens = job.store.read(job.start + p0, job.start + p1)
    if len(tokens) and int(tokens.max()) >= width:
        at = int(np.argmax(tokens >= width))
        raise ScoreError(
            f"{job.store.path}: token {job.start + p0 + at} has id {int(tokens[at])}, outside the model's {width} logits")
    losses = np.full(p1 - p0, np.nan, dtype=np.float32)
    starts = [int(s) - p0 for s in job.starts[block * BLOCK_WINDOWS : (block + 1) * BLOCK_WINDOWS]]
    w = 0
    while w < len(starts):
        length = min(job.seq_len, p1 - p0 - starts[w])
        group = [starts[w]]
        while len(group) < job.batch and w + len(group) < len(starts) and min(job.seq_len, p1 - p0 - starts[w + len(group)]) == length:
            group.append(starts[w + len(group)])
        w += len(group)
        if length < 2:
            continue
        ids = torch.from_numpy(np.stack([tokens[s : s + length] for s in group])).to(model.device)
        with torch.inference_mode():
            logits = model.forward(ids)
            if tuple(logits.shape) != (len(group), length, width):
                raise ScoreError(f"{model.name}: returned logits {tuple(logits.shape)} for input_ids {tuple(ids.shape)}")
            logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            nll = -logp.gather(-1, ids[:, 1:, None]).squeeze(-1)
        nll = nll.cpu().numpy()
        for row, s in enumerate(group):
            losses[s + 1 : s + length] = nll[row]
    return losses


def score(job, model, out, run, resume=False, progress=None, log=print):
    """Scores `job` with `model` into `out` (atomically), keeping completed blocks in the partial
    file beside it until then; `resume` continues from that file. `progress(done_tokens,
    total_tokens, tokens_this_session)` is called after each block. Returns the losses written."""
    width = check_job(job, model)
    key = job.key(model)
    sidecar = partial_path(out)
    os.makedirs(os.path.dirname(sidecar), exist_ok=True)
    done = {}
    if os.path.exists(sidecar):
        if not resume:
            raise ScoreError(
                f"{sidecar} holds an interrupted scoring of {out}: add --resume to continue it, or delete it to start over")
        found = read_partial(sidecar, key)
        if found is None:
            raise ScoreError(
                f"{sidecar} was written by zoo-score with other arguments or another model than this {out}; "
                "delete it to start over")
        done, offset = found
        log(f"resuming {out}: {len(done)} of {len(job.blocks)} blocks done (kept in {sidecar})")
        writer = PartialWriter(sidecar, key, resume_at=offset)
    else:
        writer = PartialWriter(sidecar, key)
    total = sum(job.block_tokens(b) for b in job.blocks)
    finished = sum(job.block_tokens(b) for b in job.blocks if b in done)
    session = 0
    try:
        for block in job.blocks:
            if block in done:
                continue
            done[block] = score_block(job, model, block, width)
            writer.append(block, done[block])
            session += len(done[block])
            if progress:
                progress(finished + session, total, session)
    finally:
        writer.close()
    losses = np.full(job.count, np.nan, dtype=np.float32)
    for block in job.blocks:
        p0, p1 = job.block_span(block)
        losses[p0:p1] = done[block]
    metadata = job.metadata(model, run)
    if job.shard[1] == 1:
        write_losses(out, losses, job.starts.astype(np.uint64), metadata)
    else:
        write_shard(out, losses, job.starts.astype(np.uint64), metadata, job.shard)
    os.unlink(sidecar)
    return losses


def write_shard(path, losses, starts, metadata, shard):
    """A shard's losses: a loss file's layout (NaN outside the shard's blocks) under its own
    format, so analysis refuses it until `merge` has joined the shards."""
    extra = {"shard_index": shard[0], "shard_count": shard[1], "block_windows": BLOCK_WINDOWS}
    write_losses(path, losses, starts, metadata, fmt=SHARD_FORMAT, extra=extra)


def merge(parts, out, run):
    """Joins the shard files of one scoring into the file a single run writes."""
    if not parts:
        raise ScoreError("merge: no shard files given")
    shards = []
    for path in parts:
        try:
            shards.append((path,) + read_losses(path, fmt=SHARD_FORMAT))
        except Exception as error:
            raise ScoreError(str(error)) from None
    first_path, _, starts, first_meta, first_extra = shards[0]
    count = int(first_extra["shard_count"])
    block_windows = int(first_extra["block_windows"])
    by_index = {}
    for path, losses, these_starts, meta, extra in shards:
        for field in ("token_store", "token_store_sha256", "range_start", "range_end", "seq_len", "model"):
            if getattr(meta, field) != getattr(first_meta, field):
                raise ScoreError(
                    f"merge: {path} and {first_path} differ in {field} ({getattr(meta, field)!r} vs {getattr(first_meta, field)!r})")
        if int(extra["shard_count"]) != count or int(extra["block_windows"]) != block_windows or not np.array_equal(these_starts, starts):
            raise ScoreError(f"merge: {path} and {first_path} were cut into shards differently")
        index = int(extra["shard_index"])
        if index in by_index:
            raise ScoreError(f"merge: {path} and {by_index[index][0]} are both shard {index}/{count}")
        by_index[index] = (path, losses)
    missing = sorted(set(range(count)) - set(by_index))
    if missing:
        raise ScoreError(f"merge: shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing")
    merged = np.full(first_meta.range_end - first_meta.range_start, np.nan, dtype=np.float32)
    total = len(merged)
    for block in range((len(starts) + block_windows - 1) // block_windows):
        p0 = int(starts[block * block_windows])
        after = (block + 1) * block_windows
        p1 = int(starts[after]) if after < len(starts) else total
        merged[p0:p1] = by_index[block % count][1][p0:p1]
    metadata = LossMetadata(**{**first_meta.__dict__, "run": run})
    write_losses(out, merged, starts, metadata)
    return merged

