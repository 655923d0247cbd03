#!/usr/bin/env python3
"""The nightly report: one self-contained HTML page over the stats table (plots embedded as PNG
data: URLs, no script, nothing fetched from the network), drawn by the same helpers as the
notebooks (stats_helpers, stats_plots).

    python notebooks/stats_report.py --stats STATS_ROOT --out report.html

Sections: the latest night's summary (statuses, bytes, tensor bits per parameter, error; budget or
paper settings against the bits achieved), failed and incomplete adapters with their messages,
bits vs error, worst layers, night over night drift. bin/loraquant report and the job's --report
flag run this module (docs/REPORT.md).

Writing never loses data: the page goes to a temporary file next to --out and is renamed over it,
and an existing --out is replaced only if it is a report (it starts with REPORT_MARKER).
Exit codes: 0 written, 1 failed (one line on stderr), 3 a Python package is missing.
"""
import argparse
import base64
import datetime as dt
import html
import io
import os
import sys
import tempfile
from pathlib import Path

REPORT_MARKER = "<!-- loraquant report -->"
HEAD = "<!DOCTYPE html>\n" + REPORT_MARKER + "\n"
NEEDED = ("duckdb", "pandas", "numpy", "matplotlib")
WORST_LAYERS = 12


def missing_packages():
    import importlib.util
    return [m for m in NEEDED if importlib.util.find_spec(m) is None]


class Page:
    """Collects HTML sections; figures become <img> elements with PNG data: URLs."""

    def __init__(self, title):
        self.title = title
        self.parts = []

    def h2(self, text, anchor):
        self.parts.append(f'<h2 id="{anchor}">{html.escape(text)}</h2>')

    def p(self, text, cls=None):
        c = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{c}>{html.escape(text)}</p>")

    def raw(self, markup):
        self.parts.append(markup)

    def figure(self, fig, alt, name=None):
        import matplotlib.pyplot as plt
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        figures = os.environ.get("LORAQUANT_FIGURES")
        if figures and name:
            Path(figures).mkdir(parents=True, exist_ok=True)
            (Path(figures) / f"{name}.png").write_bytes(buf.getvalue())
        self.parts.append(f'<figure><img alt="{html.escape(alt)}" '
                          f'src="data:image/png;base64,{data}"></figure>')

    def table(self, df, formats=None, empty="none"):
        if df is None or df.empty:
            self.p(empty, "muted")
            return
        formats = formats or {}
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
        rows = []
        for _, r in df.iterrows():
            cells = []
            for c in df.columns:
                v = r[c]
                if v is None or (isinstance(v, float) and v != v):
                    text = ""
                elif c in formats:
                    text = formats[c](v)
                else:
                    text = str(v)
                num = isinstance(v, (int, float)) and not isinstance(v, bool)
                cells.append(f'<td{" class=num" if num else ""}>{html.escape(text)}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>"
                          + "".join(rows) + "</tbody></table>")

    def html(self):
        style = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1200px;
color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:0.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
td{max-width:60em;overflow-wrap:anywhere}
figure{margin:0.5em 0}img{max-width:100%;height:auto;border:1px solid #eee}
.muted{color:#777}.bad{color:#b00020;font-weight:600}.ok{color:#1b7f3a;font-weight:600}
nav a{margin-right:1em}
"""
        nav = " ".join(f'<a href="#{a}">{t}</a>' for a, t in (
            ("summary", "summary"), ("statuses", "failed / incomplete"),
            ("bits", "bits vs error"), ("layers", "worst layers"), ("drift", "drift")))
        return (HEAD + '<html lang="en"><head><meta charset="utf-8">'
                + f"<title>{html.escape(self.title)}</title><style>{style}</style></head><body>"
                + f"<h1>{html.escape(self.title)}</h1><nav>{nav}</nav>"
                + "\n".join(self.parts) + "</body></html>\n")


def _gb(n):
    return f"{(n or 0) / 1e9:,.3f} GB"


def _f3(v):
    return f"{v:.3f}"


def _f2(v):
    return f"{v:.2f}"


def build(con, location):
    """The report's HTML for the stats behind con."""
    import stats_plots as sp
    from stats_helpers import human_bytes

    page = Page("LoRAQuant nightly report")
    nights = con.execute("SELECT DISTINCT run_date FROM adapters ORDER BY 1").fetchall()
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page.p(f"Stats: {location}. Generated {generated}.", "muted")
    page.h2("Summary of the latest night", "summary")
    if not nights:
        page.p("The stats table has no runs yet: nothing to report.")
        for anchor, title in (("statuses", "Failed and incomplete adapters"),
                              ("bits", "Bits vs error"), ("layers", "Worst layers"),
                              ("drift", "Night over night")):
            page.h2(title, anchor)
            page.p("no data", "muted")
        return page.html()
    last = nights[-1][0]
    runs = [r[0] for r in con.execute(
        "SELECT DISTINCT run_id FROM adapters WHERE run_date = ? ORDER BY 1", [last]).fetchall()]
    night = con.execute("""
        SELECT status, count(*) AS adapters, sum(bytes_in) AS bytes_in,
               sum(bytes_out) AS bytes_out, sum(params) AS params,
               sum(tensor_bits)::DOUBLE / nullif(sum(params) FILTER (WHERE tensor_bits IS NOT NULL), 0)
                   AS tensor_bits_per_param,
               sum(weighted_rel_error * params) / nullif(sum(params), 0) AS rel_error,
               sum(seconds) AS seconds
        FROM adapters WHERE run_date = ? GROUP BY status ORDER BY status""", [last]).df()
    counts = dict(zip(night["status"], night["adapters"]))
    bad = counts.get("failed", 0)
    status_line = ", ".join(f"{counts.get(s, 0)} {s}"
                            for s in ("compressed", "skipped", "incomplete", "failed"))
    page.raw(f"<p>Night <b>{last}</b> (run{'s' if len(runs) > 1 else ''} "
             f"{html.escape(', '.join(runs))}): {html.escape(status_line)}. "
             + (f'<span class="bad">{bad} failed</span>' if bad else
                '<span class="ok">no failures</span>') + "</p>")
    page.table(night.rename(columns={"tensor_bits_per_param": "tensor bits/param",
                                     "rel_error": "rel. error (weighted)"}),
               {"bytes_in": human_bytes, "bytes_out": human_bytes,
                "tensor bits/param": _f3, "rel. error (weighted)": _f3,
                "seconds": lambda v: f"{v:,.1f}", "params": lambda v: f"{int(v):,}"})
    points = sp.adapter_points(con)
    if len(points):
        total_params = points["params"].sum()
        fleet_bits = (points["bits"] * points["params"]).sum() / total_params
        fleet_error = (points["weighted_rel_error"] * points["params"]).sum() / total_params
        bytes_in, bytes_out = points["bytes_in"].sum(), points["bytes_out"].sum()
        page.p(f"Current fleet: {len(points)} adapters with an output, {int(total_params):,} "
               f"LoRA parameters, {human_bytes(bytes_in)} -> {human_bytes(bytes_out)}; "
               f"{fleet_bits:.3f} tensor bits per parameter and relative error {fleet_error:.3f} "
               f"(both weighted by parameters). Fixed files (config, manifest): "
               f"{human_bytes(points['fixed_file_bytes'].sum())}; all overhead (those, the model "
               f"file's header and pass-through tensors): "
               f"{human_bytes(points['overhead_bytes'].sum())}; where recorded.")
        points["setting"] = points.apply(sp.facet_label, axis=1)
        by_setting = points.groupby("setting").apply(lambda g: _setting_row(g, sp),
                                                       include_groups=False).reset_index()
        page.raw("<p>Settings and the bits they achieved "
                 + ("(budget mode: the target is the budget)" if sp.has_budget(points) else
                    "(paper mode: no budget; the paper's 2-3-bit/1-bit tiers)") + ":</p>")
        page.table(by_setting, {"target bits/param": lambda v: v if isinstance(v, str) else _f2(v),
                                "achieved tensor bits/param": _f3, "payload bits/param": _f3,
                                "rel. error": _f3, "params": lambda v: f"{int(v):,}"})

    page.h2("Failed and incomplete adapters", "statuses")
    stuck = con.execute("""
        SELECT adapter, status, message, run_id FROM current_adapters
        WHERE status IN ('failed', 'incomplete') ORDER BY status, adapter""").df()
    page.p("The latest state of every adapter that has one of these statuses; failed inputs need "
           "fixing and re-uploading, incomplete ones are retried by the next run.", "muted")
    page.table(stuck, empty="none: every adapter's latest run compressed or skipped it")

    page.h2("Bits vs error", "bits")
    if len(points):
        fig, axes = sp.bits_vs_error(points)
        page.figure(fig, "tensor bits per parameter vs relative error, one panel per setting",
                    "report_bits_vs_error")
        beyond = points[axes["x"].clipped_high(points["bits"])
                        | axes["y"].clipped_high(points["weighted_rel_error"])]
        if len(beyond):
            page.p("Drawn on the edge (beyond the axes): " + "; ".join(
                f"{r.adapter} ({r.bits:.3g} tensor bits per parameter, error "
                f"{r.weighted_rel_error:.3g}, {int(r.params):,} parameters)"
                for r in beyond.nlargest(8, "bits").itertuples()) + ".", "muted")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 3))
        sp.weighted_hist(ax, points["bits"], points["params"], sp.BITS_LABEL)
        ax.set_title("Tensor bits per parameter across the fleet (weighted by parameters)",
                     fontsize=10)
        fig.tight_layout()
        page.figure(fig, "tensor bits per parameter, weighted histogram", "report_bits_hist")
    else:
        page.p("no current outputs with statistics", "muted")

    page.h2("Worst layers", "layers")
    layers = con.execute("""
        SELECT adapter, module, module_kind, m, n, rank, k, h, params,
               effective_bits::DOUBLE / params AS tensor_bits_per_param, rel_error
        FROM current_layers WHERE status = 'compressed' AND params > 0""").df()
    if len(layers):
        worst = layers.nlargest(WORST_LAYERS, "rel_error")[
            ["adapter", "module", "m", "n", "rank", "h", "k", "tensor_bits_per_param",
             "rel_error"]]
        page.table(worst.rename(columns={"tensor_bits_per_param": "tensor bits/param"}),
                   {"tensor bits/param": _f2, "rel_error": _f3})
        import matplotlib.pyplot as plt
        fig, (a1, a2) = plt.subplots(2, 1, figsize=(11, 7.6))
        sp.weighted_boxes(layers, "module_kind", "rel_error", label="relative error", ax=a1,
                          title="relative error by module kind (weighted by parameters)")
        sp.weighted_boxes(layers, "module_kind", "tensor_bits_per_param", label=sp.BITS_LABEL,
                          ax=a2, title="tensor bits per parameter by module kind")
        fig.tight_layout()
        page.figure(fig, "relative error and tensor bits by module kind", "report_by_kind")
    else:
        page.p("no layer rows for the current outputs (partitions expired?)", "muted")

    page.h2("Night over night", "drift")
    per_night = sp.night_figures(con)
    per_night["run_date"] = [str(d)[:10] for d in per_night["run_date"]]
    page.figure(sp.drift(per_night), "error, bits and statuses per night", "report_drift")
    page.table(per_night.rename(columns={"rel_error": "rel. error", "bits": "tensor bits/param"}),
               {"rel. error": _f3, "tensor bits/param": _f3})
    return page.html()


def _setting_row(g, sp):
    import pandas as pd
    params = g["params"].sum()
    budget = g["budget_bits"].dropna() if "budget_bits" in g else pd.Series(dtype=float)
    return pd.Series({
        "adapters": len(g),
        "params": params,
        "target bits/param": budget.iloc[0] if len(budget) else "paper (no budget)",
        "achieved tensor bits/param": (g["bits"] * g["params"]).sum() / params,
        "payload bits/param": (g["payload_bits_per_param"] * g["params"]).sum() / params,
        "rel. error": (g["weighted_rel_error"] * g["params"]).sum() / params,
    })


def is_report(path):
    """True when path is a file this module wrote (it starts with the marker line)."""
    with open(path, "rb") as f:
        return f.read(len(HEAD)).decode("utf-8", "replace") == HEAD


def write_report(out, text):
    """Writes text to out through a temporary file in the same folder and a rename; refuses to
    replace anything but an earlier report."""
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a directory, not a report file")
    if out.exists() and not is_report(out):
        raise ValueError(f"{out} exists and is not a loraquant report; refusing to overwrite it "
                         "(choose another --out or delete it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file would be, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None):
    p = argparse.ArgumentParser(description="Write the nightly HTML report of a stats table.")
    p.add_argument("--stats", required=True, help="stats root (folder, file: or s3:// URL)")
    p.add_argument("--out", required=True, help="HTML file to write")
    args = p.parse_args(argv)
    gone = missing_packages()
    if gone:
        print(f"report: {sys.executable} lacks {', '.join(gone)} (run bin/python-env, or set "
              "PYTHON to an interpreter that has them)", file=sys.stderr)
        return 3
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import warnings
    warnings.filterwarnings("ignore")
    import stats_helpers
    stats = args.stats
    if stats.startswith("file:"):
        stats = "/" + stats[len("file:"):].lstrip("/")
    try:
        out = Path(args.out)
        if out.exists() and (out.is_dir() or not is_report(out)):
            write_report(out, "")  # raises the refusal before any work
        con = stats_helpers.connect(stats, verbose=False)
        write_report(out, build(con, stats))
    except Exception as e:  # one line: what failed, on which path
        print(f"report: {e}".splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
