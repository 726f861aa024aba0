"""`zoo-score`: per-token losses of a Hugging Face or PyTorch model on a Zoo token store, written as
the `zoo.losses.v1` file `zoo-train lm` writes, so `zoo-analyze gap` can compare any checkpoints."""

import argparse
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np

DESCRIPTION = """\
Scores a token store with a model: non-overlapping --seq-len windows over the range (the last one
short), the loss of each token from its prefix inside its window, NaN at each window's first token,
exactly as zoo-train lm evaluates. The result is a zoo.losses.v1 file (/loss, /window_starts, and the
attributes token_store + sha256, range_start, range_end, seq_len, run, model) for zoo-analyze gap.

Models: --model loads AutoModelForCausalLM from a local directory or a hub id (--revision); a
directory written by zoo-train export is recognised by its config. --module pkg.mod:fn (or
path/file.py:fn) calls fn(), which returns a callable input_ids [B, L] int64 -> logits [B, L, V]
(an nn.Module is moved to --device and --dtype). Losses come from the logits in float32
(log_softmax), never from the model's own mean loss; logits wider than the store's vocabulary
(padded vocabularies) are fine.

Checks before anything is written: the store's vocabulary fits the model's, the model's
tokenizer.json (when it has one) is the store's tokenizer (ids of a fixed probe text), --seq-len fits
the model's context, the range lies inside the store.

Long runs: completed blocks of %(block)d windows are kept in .OUT.zoo-score-partial beside the
output; after Ctrl-C or a crash, the same command with --resume continues from the last completed
block (same result, byte for byte). --shard I/N scores blocks I, I+N, I+2N, ... so N GPUs or Slurm
tasks split the range; zoo-score merge joins their files into the one a single run writes. Nothing
is written to --out until it is complete.

Examples:
  zoo-score --model EleutherAI/pythia-160m --tokens tokens/val.h5 --seq-len 2048 \\
    --eval-tokens 1000000 --out scores/pythia-160m.h5 --name pythia-160m --device cuda
  zoo-score --model DIR --tokens tokens/01.h5 --seq-len 256 --range 0:65536 --out a.h5 --shard 0/2
  zoo-score merge a.h5 b.h5 --out losses.h5 --name mymodel
"""

MERGE_DESCRIPTION = """\
Joins the files of 'zoo-score --shard I/N' (every shard 0..N-1 of one scoring, in any order) into
the zoo.losses.v1 file a single run writes: the same /loss, /window_starts and attributes.
"""


def score_parser():
    from .score import BLOCK_WINDOWS

    p = argparse.ArgumentParser(
        prog="zoo-score", description=DESCRIPTION % {"block": BLOCK_WINDOWS},
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="zoo-score merge PARTS... --out F [--name NAME]: see zoo-score merge --help.")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", metavar="HF_ID_OR_DIR", help="Hugging Face hub id or local directory (or a zoo-train export).")
    which.add_argument("--module", metavar="PKG.MOD:FN", help="function returning a callable input_ids -> logits.")
    p.add_argument("--revision", help="hub revision (branch, tag or commit) of --model.")
    p.add_argument("--tokens", required=True, metavar="STORE.h5", help="the token store (zoo.tokens.v1) to score.")
    p.add_argument("--seq-len", required=True, type=int, metavar="L", help="window length, as zoo-train lm --seq-len.")
    span = p.add_mutually_exclusive_group(required=True)
    span.add_argument("--eval-tokens", type=int, metavar="N", help="the store's last N tokens (zoo-train lm's held-out range).")
    span.add_argument("--range", metavar="START:END", help="tokens START..END-1 of the store.")
    p.add_argument("--out", required=True, metavar="LOSSES.h5", help="the loss file to write.")
    p.add_argument("--name", help="run name (the run attribute; default: the --out file stem); also registers the "
                   "result with 'zoo-runs add-losses' (found in $ZOO_BIN or on PATH).")
    p.add_argument("--db", help="registry file for --name (default: $ZOO_DB or ./zoo.db).")
    p.add_argument("--device", choices=["cpu", "cuda", "mps"], help="default: cuda, else mps, else cpu.")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"],
                   help="weights and activations (the loss is always computed in float32). Default float32.")
    p.add_argument("--batch", type=int, default=8, metavar="B", help="windows per forward pass (default 8).")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its partial file.")
    p.add_argument("--shard", default="0/1", metavar="I/N", help="score only blocks I, I+N, ... (then zoo-score merge).")
    return p


def merge_parser():
    p = argparse.ArgumentParser(
        prog="zoo-score merge", description=MERGE_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("parts", nargs="+", metavar="PART.h5", help="the shard files.")
    p.add_argument("--out", required=True, metavar="LOSSES.h5", help="the merged loss file.")
    p.add_argument("--name", help="run name (default: the --out file stem); also registers the result.")
    p.add_argument("--db", help="registry file for --name (default: $ZOO_DB or ./zoo.db).")
    return p


def run_name(name, out):
    return name or os.path.splitext(os.path.basename(out))[0]


def zoo_runs():
    """The `zoo-runs` executable: in $ZOO_BIN, else on PATH."""
    directory = os.environ.get("ZOO_BIN")
    if directory:
        path = os.path.join(directory, "zoo-runs")
        return path if os.access(path, os.X_OK) else None
    return shutil.which("zoo-runs")


def register(out, name, db):
    """Registers `out` as a finished run `name` through `zoo-runs add-losses`."""
    tool = zoo_runs()
    if tool is None:
        raise RuntimeError(f"{out} is written, but registering it needs zoo-runs (not in $ZOO_BIN or on PATH)")
    command = [tool, "add-losses", out, "--name", name] + (["--db", db] if db else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise RuntimeError(f"{out} is written, but zoo-runs add-losses failed: {reason}")
    if done.stdout.strip():
        print(done.stdout.strip())


def summary(out, losses, rate=None):
    finite = losses[~np.isnan(losses)]
    mean = float(finite.astype(np.float64).mean()) if len(finite) else math.nan
    rate = f", {rate:,.0f} tok/s" if rate else ""
    return f"{out}: {len(finite):,} predicted tokens, mean loss {mean:.4f} (ppl {math.exp(mean):.3f}){rate}"


def main_score(argv):
    args = score_parser().parse_args(argv)
    from .loaders import load_model
    from .progress import Progress
    from .score import ScoreError, ScoreJob, held_out_range, parse_range, parse_shard
    from .partial import partial_path
    from .token_store import TokenStore

    if args.revision and not args.model:
        raise ScoreError("--revision goes with --model")
    shard = parse_shard(args.shard)
    if args.name and shard[1] > 1:
        raise ScoreError("--name registers a whole scoring: give it to 'zoo-score merge', not to one --shard")
    store = TokenStore(args.tokens)
    start, end = held_out_range(store, args.eval_tokens) if args.eval_tokens is not None else parse_range(args.range, store)
    job = ScoreJob(store=store, start=start, end=end, seq_len=args.seq_len, batch=args.batch, shard=shard)
    model = load_model(model=args.model, module=args.module, revision=args.revision, device=args.device, dtype=args.dtype)
    progress = Progress("zoo-score")
    began = time.monotonic()
    session = [0]

    def report(done, total, amount):
        session[0] = amount
        progress.update(done, total, amount)

    from .score import score

    try:
        losses = score(job, model, args.out, run_name(args.name, args.out), resume=args.resume, progress=report,
                       log=lambda message: print(f"zoo-score: {message}", file=sys.stderr))
    except KeyboardInterrupt:
        progress.finish(f"zoo-score: interrupted; {args.out} is not written, the completed blocks are kept in "
                        f"{partial_path(args.out)}: rerun the same command with --resume to continue")
        raise SystemExit(130) from None
    progress.finish(summary(args.out, losses, session[0] / (time.monotonic() - began) if session[0] else None))
    if args.name:
        register(args.out, args.name, args.db)


def main_merge(argv):
    args = merge_parser().parse_args(argv)
    from .score import merge

    losses = merge(args.parts, args.out, run_name(args.name, args.out))
    print(summary(args.out, losses))
    if args.name:
        register(args.out, args.name, args.db)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    from .loaders import ModelError
    from .losses import LossFileError
    from .score import ScoreError
    from .token_store import StoreError

    try:
        if argv[:1] == ["merge"]:
            main_merge(argv[1:])
        else:
            main_score(argv)
    except (ScoreError, StoreError, LossFileError, ModelError, RuntimeError, OSError) as error:
        lines = str(error).strip().splitlines() or [type(error).__name__]
        print(f"zoo-score: {lines[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zoo-score: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
