# -*- coding: utf-8 -*-
"""Plot benchmarks/fleet.py's results: wall time against N, one line per
workload, one panel per forks value.

Usage: python benchmarks/fleet_plot.py FLEET_JSON OUTPUT_SVG
Needs matplotlib (benchmarks/requirements.txt); fleet.py runs it.
"""

from __future__ import absolute_import, division, print_function

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, sys.path[0])
from fleet import WORKLOADS  # noqa: E402  pylint: disable=wrong-import-position


def main(source, target):
    with open(source) as handle:
        data = json.load(handle)
    forks_values = sorted(set(row["forks"] for row in data["rows"]))
    figure, axes = plt.subplots(1, len(forks_values), figsize=(6 * len(forks_values), 4.5), squeeze=False,
                                sharey=True)
    for axis, forks in zip(axes[0], forks_values):
        rows = sorted((row for row in data["rows"] if row["forks"] == forks), key=lambda row: row["size"])
        sizes = [row["size"] for row in rows]
        for key, title in WORKLOADS:
            if key not in rows[0]["results"]:
                continue
            axis.plot(sizes, [row["results"][key]["wall"] for row in rows], marker="o",
                      linestyle="--" if key.startswith("naive") else "-", label=title)
        axis.set_title("forks %d" % forks)
        axis.set_xlabel("hosts (N)")
        axis.set_xticks(sizes)
        axis.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("wall time (s)")
    axes[0][-1].legend(fontsize="small")
    figure.suptitle("mptcp.linux on a fleet of network namespaces over SSH (kernel %s, %d CPUs)"
                    % (data["kernel"], data["cpus"]))
    figure.tight_layout()
    figure.savefig(target, metadata={"Date": None})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
