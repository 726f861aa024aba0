# Rebuilds a notebook from its exported .py twin, one code cell per "# %%" section:
#
#   python3 notebooks-export/sync_twin.py notebooks-export/figures.py notebooks-export/figures.ipynb
#
# Run it after editing the .py; ZooAnalysisTests fails while the two differ.
import json
import sys


def notebook(source):
    """The nbformat-4 notebook whose code cells concatenate to `source`."""
    parts = source.split("# %%\n")
    cells = []
    for i, part in enumerate(parts):
        text = part if i == 0 else "# %%\n" + part
        cells.append({
            "cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {}, "outputs": [],
            "source": text.splitlines(keepends=True),
        })
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


if __name__ == "__main__":
    script, target = sys.argv[1:3]
    with open(script) as f:
        nb = notebook(f.read())
    with open(target, "w") as f:
        json.dump(nb, f, indent=1)
        f.write("\n")
