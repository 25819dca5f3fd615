"""Draws the benchmark summary (paired ratios to each workload's baseline) as a PNG.

Usage: python chart.py RESULTS.json OUT.png   (needs matplotlib)

Top: workloads compared with the raw-socket floor. Bottom: those compared with the
reference (SQLAlchemy) or go-dqlite (pool checkout, memory per connection). Every bar
reads "higher is better": latency and memory ratios are inverted.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# Fixed order and colours across panels; the floor is a baseline, never a bar.
CLIENTS = [
    "rust-blocking",
    "rust-async",
    "go-dqlite",
    "python-sync",
    "python-aio",
    "peer-python",
    "peer-python-aio",
    "asyncio-floor",
]


def panel(ax: Any, summary: list[dict[str, Any]], title: str) -> None:
    workloads = list(dict.fromkeys(s["workload"] for s in summary))
    # A baseline's own bars (all 1.0) are the black line.
    summary = [s for s in summary if s["client"] != s["baseline"]]
    present = {s["client"] for s in summary}
    clients = [c for c in CLIENTS if c in present]
    width = 0.8 / max(len(clients), 1)
    for i, client in enumerate(clients):
        xs, ys = [], []
        for j, w in enumerate(workloads):
            for s in summary:
                ratio = s.get("paired_ratio")
                if s["workload"] == w and s["client"] == client and ratio and ratio > 0:
                    ys.append(ratio if s["higher_is_better"] else 1 / ratio)
                    xs.append(j + i * width)
        colour = plt.get_cmap("tab10")(CLIENTS.index(client))
        ax.bar(xs, ys, width=width, label=client, color=colour)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(workloads))], workloads)
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_ylabel("times better than the baseline")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)


def main() -> None:
    with open(sys.argv[1]) as f:
        data = json.load(f)
    summary = [s for s in data["summary"] if "baseline" in s]
    floor = [s for s in summary if s["baseline"] == "raw"]
    other = [s for s in summary if s["baseline"] != "raw"]
    panels = [
        (p, t)
        for p, t in (
            (floor, "against the raw-socket floor"),
            (other, "against the reference / go-dqlite"),
        )
        if p
    ]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(13, 5 * len(panels)), squeeze=False
    )
    for ax, (rows, title) in zip(axes[:, 0], panels, strict=True):
        panel(ax, rows, title)
    fig.suptitle(f"dqlite {data['version']} - {data['machine']} - {data['date']}")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=100)


if __name__ == "__main__":
    main()
