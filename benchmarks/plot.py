"""Draw the harness's JSON results as a PNG bar chart (run in the benchmark venv by run.py)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(jsonPath: str, pngPath: str) -> None:
    data = json.loads(Path(jsonPath).read_text())
    rows = [r for r in data["rows"] if any(x["median"] is not None for x in r["results"])]
    if not rows:
        rows = data["rows"][:1]
    cols = min(4, max(1, len(rows)))
    nrows = max(1, math.ceil(len(rows) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax in axes.flat[len(rows) :]:
        ax.axis("off")
    for ax, row in zip(axes.flat, rows, strict=False):
        names, medians, lows, highs, colors = [], [], [], [], []
        for result in row["results"]:
            names.append(result["impl"])
            median = result["median"]
            medians.append(median or 0.0)
            lows.append((median - result["min"]) if median is not None else 0.0)
            highs.append((result["max"] - median) if median is not None else 0.0)
            if median is None:
                colors.append("#dddddd")
            elif result["impl"].startswith("plait"):
                colors.append("#d9682b")
            elif result["reference"]:
                colors.append("#9aa7b5")
            else:
                colors.append("#4a74a8")
        ax.bar(range(len(names)), medians, yerr=[lows, highs], color=colors, capsize=3)
        ratios = row.get("ratios_plait_vs", {})
        for i, result in enumerate(row["results"]):
            r = ratios.get(result["impl"])
            if r is not None and result["median"] is not None:
                ax.text(i, result["max"], f"{r:.2f}x", ha="center", va="bottom", fontsize=7)
            if result["median"] is None:
                label = "n/a" if result["unavailable"] else "error"
                ax.text(i, 0, label, ha="center", va="bottom", fontsize=7, rotation=90)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=7)
        better = "higher" if row["higher_is_better"] else "lower"
        ax.set_title(f"{row['id']}: {row['title']}", fontsize=8, wrap=True)
        ax.set_ylabel(f"{row['unit']} ({better} is better)", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    machine = data["machine"]
    fig.suptitle(
        f"plait benchmarks, {machine['date']}, {machine['cpu']}, Python {machine['python']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(pngPath, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
