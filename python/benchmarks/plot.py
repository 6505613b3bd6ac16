"""Renders the benchmark harness's results (results.json of `lancelet-bench`) as PNG charts:
file size, scan throughput and take latency per dataset and format.

    .venv/bin/python -m pip install matplotlib      # once
    .venv/bin/python python/benchmarks/plot.py docs/benchmarks/results.json docs/benchmarks
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def by(records, dataset, operation):
    return {r["format"]: r for r in records if r["dataset"] == dataset and r["operation"] == operation}


def bars(ax, labels, values, title, unit):
    positions = range(len(labels))
    ax.bar(positions, values, color=["#d95f02" if l.startswith("lancelet") else "#7570b3" for l in labels])
    ax.set_xticks(list(positions), labels, rotation=35, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit, fontsize=8)
    for x, v in zip(positions, values):
        ax.annotate(f"{v:.3g}", (x, v), ha="center", va="bottom", fontsize=7)


def main():
    results = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    records = results["records"]
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    charts = {
        "size.png": ("File size", "MiB", "write", lambda r: r["file_size"] / 2**20),
        "scan.png": ("Full scan throughput", "MB/s of Arrow data", "scan", lambda r: r["mb_per_s"]),
        "take.png": ("Take of 100 random rows (unsorted)", "ms", "take_100_unsorted",
                     lambda r: r["median_s"] * 1000),
    }
    for name, (title, unit, operation, value) in charts.items():
        fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
        for ax, dataset in zip(axes[0], datasets):
            rows = by(records, dataset, operation)
            labels = list(rows)
            bars(ax, labels, [value(rows[l]) for l in labels], f"{dataset}", unit)
        fig.suptitle(f"{title} (lower is better)" if operation != "scan" else f"{title} (higher is better)",
                     fontsize=11)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        print(out / name)


if __name__ == "__main__":
    main()
