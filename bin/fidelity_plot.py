"""Draws docs/fidelity.png for bin/bench-fidelity: the fleet's median error against median
effective bits, the paper mode over rho at 2 and 3 bits and the budget mode over 0.5..3 bits.

usage: fidelity_plot.py CURVE_CSV OUT_PNG   (CSV columns: series, setting, median_bits, median_error)
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(curve_csv, out_png):
    series = {}
    with open(curve_csv, newline="") as f:
        for row in csv.DictReader(f):
            series.setdefault(row["series"], []).append(
                (float(row["median_bits"]), float(row["median_error"]), row["setting"]))
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, points in series.items():
        points.sort()
        bits = [p[0] for p in points]
        errors = [p[1] for p in points]
        ax.plot(bits, errors, marker="o", label=name)
        if name.startswith("paper"):
            for b, e, setting in points:
                ax.annotate("rho " + setting.split("@")[1], (b, e), textcoords="offset points",
                            xytext=(4, 4), fontsize=7)
    ax.set_xlabel("median effective bits per parameter")
    ax.set_ylabel("median relative error ||dW - dW^|| / ||dW||")
    ax.set_title("Real adapters: error against effective bits")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, metadata={"Software": None})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
