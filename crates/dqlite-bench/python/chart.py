"""Draws the benchmark summary (ratios to the raw-socket floor) as a PNG.

Usage: python chart.py RESULTS.json OUT.png   (needs matplotlib)
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> None:
    with open(sys.argv[1]) as f:
        data = json.load(f)
    summary = data["summary"]
    workloads = list(dict.fromkeys(s["workload"] for s in summary))
    clients = [c for c in dict.fromkeys(s["client"] for s in summary) if c != "raw"]
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / max(len(clients), 1)
    for i, client in enumerate(clients):
        xs, ys = [], []
        for j, w in enumerate(workloads):
            for s in summary:
                if s["workload"] == w and s["client"] == client:
                    ratio = s.get("paired_ratio", s["ratio"])
                    # Show "how good" uniformly: higher is better on every bar.
                    ys.append(ratio if s["higher_is_better"] else 1 / ratio)
                    xs.append(j + i * width)
        ax.bar(xs, ys, width=width, label=client)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(workloads))], workloads)
    ax.set_ylabel("speed relative to the raw-socket floor (higher is better)")
    ax.set_title(f"dqlite {data['version']} - {data['machine']} - {data['date']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
