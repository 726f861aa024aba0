# Zoology figures from zoo-analyze CSVs (exported twin of figures.ipynb: the same cells, split at
# the "# %%" lines; `sync_twin.py` rebuilds the notebook and ZooAnalysisTests checks they agree).
#
#   python3 notebooks-export/figures.py CSV_DIR [--out PNG_DIR]
#
# Reads gap.csv, ar_by_frequency.csv, ar_by_distance.csv and mqar.csv from CSV_DIR (a figure whose
# CSV is missing is skipped) and writes PNGs with matplotlib's Agg backend (no display needed):
#   ar_vs_other.png      perplexity on AR hits vs other tokens, per run (Zoology Table 1 as bars)
#   ar_by_frequency.png  AR-hit perplexity by training frequency of the bigram (docs/ANALYSIS.md, "Buckets")
#   ar_by_distance.png   AR-hit perplexity by recall distance (tokens between the occurrences)
#   mqar_accuracy.png    MQAR accuracy vs d_model, one panel per sequence length (Zoology Fig. 2)
# No number is computed here that zoo-analyze did not write, except the max over learning rates.

# %%
import argparse
import csv
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_csv(directory, name):
    """Rows of directory/name as dicts, or None when the file is missing."""
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        print(f"skip {name}: not found in {directory}", file=sys.stderr)
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(text):
    """A CSV field as float; empty, nan and inf fields as nan/inf."""
    return float(text) if text else math.nan


# %%
def ar_vs_other(rows, out):
    """Grouped bars: perplexity on all tokens, AR hits and other tokens, per run (gap.csv)."""
    runs = [r["run"] for r in rows]
    slices = [("ppl_all", "All tokens"), ("ppl_ar", "AR hits"), ("ppl_other", "Other tokens")]
    width = 0.8 / len(slices)
    fig, ax = plt.subplots(figsize=(max(4, 1.6 * len(runs)), 3.5))
    for k, (column, label) in enumerate(slices):
        xs = [i + (k - 1) * width for i in range(len(runs))]
        ax.bar(xs, [number(r[column]) for r in rows], width, label=label)
    ax.set_xticks(range(len(runs)), runs)
    ax.set_ylabel("Perplexity")
    share = number(rows[0]["ar_share"]) if rows else math.nan
    ax.set_title(f"Perplexity by slice ({100 * share:.1f}% AR hits)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


# %%
def ar_by_bucket(rows, lo, xlabel, title, out):
    """AR-hit perplexity per bucket, one line per run; empty buckets are left out."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for run in dict.fromkeys(r["run"] for r in rows):
        points = [
            (max(number(r[lo]), 0.5), number(r["ppl"]))
            for r in rows
            if r["run"] == run and int(r["tokens"]) > 0
        ]
        if points:
            ax.plot(*zip(*points), marker="o", label=run)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("AR-hit perplexity")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


# %%
def mqar_accuracy(rows, out):
    """Accuracy vs d_model, best over learning rates, one panel per sequence length (mqar.csv)."""
    best = {}
    for r in rows:
        key = (r["mixer"], int(r["seq_len"]), int(r["d_model"]))
        best[key] = max(best.get(key, 0.0), number(r["accuracy"]))
    lengths = sorted({k[1] for k in best})
    mixers = sorted({k[0] for k in best})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(lengths), figsize=(3.2 * len(lengths), 3), squeeze=False, sharey=True)
    handles = {}
    for ax, length in zip(axes[0], lengths):
        for i, mixer in enumerate(mixers):
            points = sorted((d, acc) for (m, n, d), acc in best.items() if m == mixer and n == length)
            if points:
                (handles[mixer],) = ax.plot(*zip(*points), marker="o", color=colors[i % len(colors)])
        ax.set_xscale("log", base=2)
        ax.set_title(f"Sequence length: {length}")
        ax.set_xlabel("Model dimension")
    axes[0][0].set_ylabel("Accuracy")
    axes[0][-1].legend(list(handles.values()), list(handles.keys()))
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


# %%
def main(argv=None):
    """Draws every figure whose CSV exists; returns the PNG paths written."""
    if argv is None:
        argv = [] if "ipykernel" in sys.modules else sys.argv[1:]
    parser = argparse.ArgumentParser(description="Draw the Zoology figures from zoo-analyze CSVs.")
    parser.add_argument("csv_dir", nargs="?", default=os.environ.get("ZOO_CSV_DIR", "demo-out/analysis"))
    parser.add_argument("--out", default=None, help="PNG directory (default: the CSV directory)")
    args = parser.parse_args(argv)
    out = args.out or args.csv_dir
    os.makedirs(out, exist_ok=True)
    written = []

    def path(name):
        written.append(os.path.join(out, name))
        return written[-1]

    gap = read_csv(args.csv_dir, "gap.csv")
    if gap:
        ar_vs_other(gap, path("ar_vs_other.png"))
    frequency = read_csv(args.csv_dir, "ar_by_frequency.csv")
    if frequency:
        ar_by_bucket(
            frequency, "bucket_lo", "Bigram count in training data (bucket start)",
            "AR perplexity by bigram frequency", path("ar_by_frequency.png"))
    distance = read_csv(args.csv_dir, "ar_by_distance.csv")
    if distance:
        ar_by_bucket(
            distance, "distance_lo", "Tokens between occurrences (bucket start)",
            "AR perplexity by recall distance", path("ar_by_distance.png"))
    mqar = read_csv(args.csv_dir, "mqar.csv")
    if mqar:
        mqar_accuracy(mqar, path("mqar_accuracy.png"))
    for p in written:
        print(p)
    return written


if __name__ == "__main__":
    main()
