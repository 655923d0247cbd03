"""Plots of the stats table that stay readable on any fleet (notebooks and the nightly report).

The rules (issue 22), each a function here so notebooks and report draw the same way:
- axes: a value axis is linear, clipped or logarithmic (axis_rule). Clipped: points beyond the
  robust range (quartiles +- 3 IQR) are drawn on the edge as open triangles and counted in the
  legend ("2 beyond 4.1 (max 750)"), so one tiny adapter cannot squash everyone else into a corner.
  Log: when the bulk itself spans more than a decade.
- labels: only the few worst points (label_worst), numbered beside the point inside its own panel
  and named in a key in the figure's right margin, so no line crosses another panel.
- small multiples: one panel per codec setting or budget (facet_label) instead of one overplotted
  scatter.
- fleet figures are weighted by parameters (weighted_quantiles): a 100-parameter layer counts for
  100 parameters, not for as much as a 10-million-parameter one.
- bits are tensor bits per parameter (docs/STATS.md, tensor_bits_per_param): the layer records,
  without the config and manifest every adapter carries whatever its size.
"""
import math
import textwrap
import warnings

import numpy as np
import pandas as pd

BITS = "tensor_bits_per_param"
BITS_LABEL = "tensor bits per parameter"
ERROR_LABEL = "relative error (weighted by parameters)"
#: fences of the robust range, in interquartile ranges beyond the quartiles
FENCE_IQR = 3.0
#: how many of the worst points get a label
WORST_LABELS = 3


def adapter_points(con):
    """Current outputs with their tensor bits per parameter: the column when present, else (older
    partitions) the same figure from the output's layer rows, else null. Plus their settings."""
    return con.execute("""
        SELECT o.*,
               coalesce(o.tensor_bits_per_param, t.tensor_bits::DOUBLE / nullif(o.params, 0))
                   AS bits
        FROM current_outputs o
        LEFT JOIN output_tensor_bits t ON t.adapter = o.adapter AND t.run_id = o.output_run_id
        WHERE o.params > 0 AND o.weighted_rel_error IS NOT NULL
        ORDER BY o.weighted_rel_error DESC
    """).df()


def has_budget(df):
    """True when the rows carry the budget mode's target (budget_bits) for at least one row."""
    return "budget_bits" in df.columns and df["budget_bits"].notna().any()


def facet_label(row):
    """The codec setting a row was compressed with: its budget, else the paper's settings."""
    budget = row.get("budget_bits") if hasattr(row, "get") else None
    if budget is not None and budget == budget:
        return f"budget {budget:g} bits"
    return (f"paper: rho {row['rho']:g}, {int(row['bits_high'])}-bit high, "
            f"group {int(row['group_size'])}")


def weighted_quantiles(values, weights, qs):
    """Quantiles of values where each value counts weights times (e.g. its parameters)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = np.isfinite(v) & np.isfinite(w) & (w > 0)
    v, w = v[keep], w[keep]
    if v.size == 0:
        return np.full(len(qs), np.nan)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = np.cumsum(w) / w.sum()
    # the smallest value below which at least q of the weight lies (no interpolation: a tiny
    # layer next to a big one must not drag the median towards itself)
    idx = np.searchsorted(cum, np.asarray(qs, dtype=float) - 1e-12, side="left")
    return v[np.minimum(idx, v.size - 1)]


def robust_range(values):
    """(lo, hi): lo the smallest value (bits and errors start near 0, and the low end is the good
    end: nothing is clipped there); hi the upper quartile plus FENCE_IQR interquartile ranges, cut
    to the data; values up to half as far again beyond the fence stay inside (a tail, not an
    outlier)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    q1, q3 = np.percentile(v, [25, 75])
    iqr = q3 - q1
    if iqr <= 0:
        iqr = max(abs(q3) * 0.1, 1e-12)
    fence_hi = q3 + FENCE_IQR * iqr
    tail_hi = fence_hi + 0.5 * (fence_hi - q1)
    hi = v[v <= tail_hi].max()
    return float(v.min()), float(hi)


def axis_rule(values):
    """'log' when the middle half (quartiles) of positive values spans more than a decade,
    'clip' when some values lie beyond the robust range, else 'linear'."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "linear"
    if (v > 0).all() and v.size >= 5:
        q1, q3 = np.percentile(v, [25, 75])
        if q3 / q1 > 10:
            return "log"
    lo, hi = robust_range(v)
    if (v < lo).any() or (v > hi).any():
        return "clip"
    return "linear"


class Axis:
    """How one value axis shows a set of values: its rule, limits and what falls outside."""

    def __init__(self, values, label, unit=""):
        self.values = np.asarray(values, dtype=float)
        self.label = label
        self.unit = unit + " " if unit else ""
        self.rule = axis_rule(self.values)
        finite = self.values[np.isfinite(self.values)]
        if self.rule == "clip":
            self.lo, self.hi = robust_range(finite)
        elif finite.size:
            self.lo, self.hi = float(finite.min()), float(finite.max())
        else:
            self.lo, self.hi = 0.0, 1.0

    def clipped_high(self, values):
        return np.asarray(values, dtype=float) > self.hi if self.rule == "clip" else \
            np.zeros(len(values), dtype=bool)

    def clipped_low(self, values):
        return np.asarray(values, dtype=float) < self.lo if self.rule == "clip" else \
            np.zeros(len(values), dtype=bool)

    def n_clipped(self):
        return int(self.clipped_high(self.values).sum() + self.clipped_low(self.values).sum())

    def limits(self):
        if self.rule == "log":
            return self.lo / 1.3, self.hi * 1.3
        span = self.hi - self.lo
        pad = span * 0.06 if span > 0 else max(abs(self.hi) * 0.1, 0.05)
        return self.lo - pad, self.hi + pad

    def edge_high(self):
        """Where a value beyond the upper limit is drawn: between the limit and the frame."""
        return self.hi + (self.limits()[1] - self.hi) * 0.5

    def placed(self, values):
        """Values moved onto the edge of the axis where they are beyond it."""
        v = np.asarray(values, dtype=float).copy()
        if self.rule == "clip":
            lo, hi = self.limits()
            edge_hi = self.edge_high()
            edge_lo = self.lo - (self.lo - lo) * 0.5
            v[v > self.hi] = edge_hi
            v[v < self.lo] = edge_lo
        return v

    def apply(self, ax, which):
        set_scale = ax.set_xscale if which == "x" else ax.set_yscale
        set_lim = ax.set_xlim if which == "x" else ax.set_ylim
        set_label = ax.set_xlabel if which == "x" else ax.set_ylabel
        if self.rule == "log":
            set_scale("log")
        set_lim(*self.limits())
        set_label(self.label + (" (log)" if self.rule == "log" else ""))

    def legend_text(self, name):
        """'2 adapters beyond 4.1 (max 750)' for the clipped values, None when none are; name is
        the plural noun, e.g. 'adapters'."""
        n = self.n_clipped()
        if n == 0:
            return None
        finite = self.values[np.isfinite(self.values)]
        high = int(self.clipped_high(self.values).sum())
        parts = []
        if high:
            parts.append(f"{high} {_noun(name, high)} beyond {self.hi:.3g} {self.unit}"
                         f"(max {finite.max():.3g}), drawn on the edge")
        low = n - high
        if low:
            parts.append(f"{low} {_noun(name, low)} below {self.lo:.3g} {self.unit}"
                         f"(min {finite.min():.3g}), drawn on the edge")
        return "; ".join(parts)


def _noun(plural, n):
    return plural[:-1] if n == 1 and plural.endswith("s") else plural


def worst_rows(df, column, n=WORST_LABELS):
    """The n rows with the largest value of column (the ones worth a label)."""
    return df.dropna(subset=[column]).nlargest(n, column)


def label_worst(ax, df, x, y, name, n=WORST_LABELS, placed_x=None, placed_y=None, first=1):
    """Numbers the n worst points (largest y) in their own panel: a small number beside each
    point, nothing drawn outside the axes (a line to a shared label column would cross the other
    panels). The caller lists number and name in a key (worst_key).

    first: the number of the first point, so that the numbers of one figure's panels run on.
    Returns [(number, name)] in the order numbered."""
    worst = worst_rows(df, y, n)
    px = placed_x if placed_x is not None else df[x]
    py = placed_y if placed_y is not None else df[y]
    keyed = []
    for number, (idx, row) in enumerate(worst.iterrows(), start=first):
        label = ax.annotate(str(number), (px.loc[idx], py.loc[idx]), xytext=(5, 4),
                            textcoords="offset points", fontsize=8, fontweight="bold",
                            color="tab:red", annotation_clip=True)
        label.set_in_layout(False)
        keyed.append((number, _short(str(row[name]))))
    return keyed


def worst_key(fig, keyed, left, top=0.84):
    """The key to label_worst's numbers: one line per point, "number  name", in the figure's
    right margin from figure fraction (left, top) down."""
    for i, (number, text) in enumerate(keyed):
        fig.text(left, top - 0.06 * i, f"{number}  {text}", fontsize=8, va="top", ha="left")


def _short(text, limit=34):
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def bits_vs_error(df, x="bits", y="weighted_rel_error", name="adapter", weight="params",
                  title="Tensor bits per parameter vs relative error", max_cols=3):
    """Small multiples, one panel per codec setting (facet_label), of bits against error, sharing
    both axes; axes clipped or log by the rules above, clipped points on the edge and counted in
    the legend, marker area by parameters, the few worst points labelled."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    df = df.dropna(subset=[x, y]).copy()
    df["facet"] = df.apply(facet_label, axis=1)
    facets = sorted(df["facet"].unique())
    cols = min(max_cols, max(len(facets), 1))
    rows = max(1, math.ceil(len(facets) / cols))
    panel_w = 4.6 if cols > 1 else 7.0  # one panel: as wide as a page column
    fig, axes = plt.subplots(rows, cols, figsize=(panel_w * cols + 1.8, 3.6 * rows + 1.0),
                             squeeze=False, sharex=True, sharey=True)
    xa, ya = Axis(df[x], BITS_LABEL, "bits"), Axis(df[y], "relative error")
    px, py = pd.Series(xa.placed(df[x]), index=df.index), pd.Series(ya.placed(df[y]), df.index)
    size = 12 + 160 * np.sqrt(df[weight] / df[weight].max())
    worst = set(worst_rows(df, y).index)
    label_x = 1 - 1.7 / (panel_w * cols + 1.8)  # the right margin kept free below
    keyed = []
    for i, facet in enumerate(facets):
        ax = axes[i // cols][i % cols]
        sel = df["facet"] == facet
        inside = sel & ~xa.clipped_high(df[x]) & ~ya.clipped_high(df[y]) \
            & ~xa.clipped_low(df[x]) & ~ya.clipped_low(df[y])
        outside = sel & ~inside
        ax.scatter(px[inside], py[inside], s=size[inside], alpha=0.6, color="tab:blue",
                   edgecolor="k", linewidth=0.3)
        if outside.any():
            ax.scatter(px[outside], py[outside], s=60, marker=">", facecolor="none",
                       edgecolor="tab:red", linewidth=1.2)
        n = int(sel.sum())
        ax.set_title(textwrap.fill(f"{facet} ({n} {_noun('adapters', n)})", 44), fontsize=9)
        xa.apply(ax, "x")
        ya.apply(ax, "y")
        ax.grid(alpha=0.3)
        mine = df[sel & df.index.isin(worst)]
        if len(mine):
            keyed += label_worst(ax, mine, x, y, name, n=len(mine), placed_x=px, placed_y=py,
                                 first=len(keyed) + 1)
    for j in range(len(facets), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    handles = [Line2D([], [], marker="o", ls="", color="tab:blue", alpha=0.6,
                      label="adapter (area: parameters)")]
    for text in (xa.legend_text("adapters"), ya.legend_text("adapters")):
        if text:
            handles.append(Line2D([], [], marker=">", ls="", markerfacecolor="none",
                                  markeredgecolor="tab:red", label=text))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8,
               frameon=False)
    if keyed:
        fig.text(label_x, 0.90, "highest error", fontsize=8, fontweight="bold", va="top")
        worst_key(fig, keyed, label_x)
    fig.suptitle(title)
    with warnings.catch_warnings():
        # tight_layout says so when long titles do not fit; the layout is still usable
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout(rect=(0, 0.06, label_x - 0.01 if worst else 1, 0.95))
    return fig, {"x": xa, "y": ya, "facets": facets, "labels": len(worst)}


#: at most this many boxes; the groups with the fewest parameters are pooled as "other"
MAX_GROUPS = 12


def pool_small_groups(df, by, weight="params", max_groups=MAX_GROUPS):
    """df with the groups beyond the max_groups largest (by parameters) renamed 'other (N)'."""
    sizes = df.groupby(by)[weight].sum().sort_values(ascending=False)
    if len(sizes) <= max_groups:
        return df
    keep = set(sizes.index[:max_groups - 1])
    other = f"other ({len(sizes) - len(keep)})"
    df = df.copy()
    df[by] = [g if g in keep else other for g in df[by]]
    return df


def weighted_boxes(df, by, value, weight="params", label=None, title=None, ax=None,
                   order=None):
    """One box per group of df[by]: the parameter-weighted 25-75 % box, median line and 10-90 %
    whiskers of df[value]; the value axis by the axis rules, groups with points beyond it
    marked with a triangle and the count in the legend. More than MAX_GROUPS groups: the
    smallest are pooled (pool_small_groups)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    df = df.dropna(subset=[value, weight])
    if order is None:
        df = pool_small_groups(df, by, weight)
    groups = order if order is not None else sorted(
        df[by].dropna().unique(), key=lambda g: (str(g).startswith("other ("), str(g)))
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(max(5, 0.75 * len(groups) + 2), 3.6))
    else:
        fig = ax.figure
    # the axis follows the whiskers (what the boxes show), so limits come from them
    stats = {g: weighted_quantiles(df.loc[df[by] == g, value], df.loc[df[by] == g, weight],
                                   [0.10, 0.25, 0.5, 0.75, 0.90]) for g in groups}
    axis = Axis(df[value], label or value)
    for i, g in enumerate(groups):
        q10, q25, q50, q75, q90 = stats[g]
        if not np.isfinite(q50):
            continue
        lo, hi = axis.limits()
        c = lambda v: min(max(v, lo), hi)  # noqa: E731
        ax.add_patch(plt.Rectangle((i - 0.3, c(q25)), 0.6, c(q75) - c(q25), facecolor="tab:blue",
                                   alpha=0.35, edgecolor="tab:blue"))
        ax.plot([i - 0.3, i + 0.3], [c(q50), c(q50)], color="k", lw=1.5)
        ax.plot([i, i], [c(q10), c(q25)], color="tab:blue", lw=1)
        ax.plot([i, i], [c(q75), c(q90)], color="tab:blue", lw=1)
        beyond = int(axis.clipped_high(df.loc[df[by] == g, value]).sum())
        if beyond:
            ax.plot([i], [axis.edge_high()], marker="^", color="tab:red",
                    markerfacecolor="none")
            ax.annotate(str(beyond), (i, axis.edge_high()),
                        xytext=(5, -3), textcoords="offset points", fontsize=7, color="tab:red")
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xticks(range(len(groups)), [str(g) for g in groups], rotation=30, ha="right")
    axis.apply(ax, "y")
    ax.set_xlabel(by)
    ax.grid(axis="y", alpha=0.3)
    handles = [Line2D([], [], color="tab:blue", lw=6, alpha=0.35,
                      label="25-75 % of parameters, line: median, whiskers 10-90 %")]
    text = axis.legend_text("layers")
    if text:
        handles.append(Line2D([], [], marker="^", ls="", color="tab:red",
                              markerfacecolor="none", label=text))
    ax.legend(handles=handles, fontsize=7, loc="best")
    if title:
        ax.set_title(title, fontsize=10)
    return fig, axis


def weighted_hist(ax, values, weights, label, bins=30, unit="bits", noun="adapters"):
    """Histogram of values weighted by parameters (share of the fleet's parameters per bin), on
    the axis rules; clipped values piled in a marked last bin counted in the legend."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    axis = Axis(v, label, unit)
    keep = np.isfinite(v) & np.isfinite(w)
    v, w = v[keep], w[keep]
    placed = axis.placed(v)
    lo, hi = axis.limits()
    edges = np.geomspace(lo, hi, bins + 1) if axis.rule == "log" else np.linspace(lo, hi, bins + 1)
    ax.hist(placed, bins=edges, weights=w / w.sum() if w.sum() > 0 else None, color="tab:blue",
            alpha=0.7, label="share of parameters")
    axis.apply(ax, "x")
    ax.set_ylabel("share of parameters")
    text = axis.legend_text(noun)
    if text:
        ax.plot([], [], marker=">", ls="", color="tab:red", label=text)
        ax.axvline(axis.hi, color="tab:red", lw=0.8, ls=":")
    ax.legend(fontsize=7)
    return axis


def drift(nights):
    """Night over night: params-weighted error and tensor bits per parameter of the adapters
    compressed each night, and the status counts. nights: a frame from night_figures()."""
    import matplotlib.pyplot as plt
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 3.4))
    x = [str(d)[:10] for d in nights["run_date"]]  # one tick per night, no times of day
    a1.plot(x, nights["rel_error"], marker="o")
    a1.set_title("relative error (weighted by parameters)", fontsize=10)
    a2.plot(x, nights["bits"], marker="o", color="tab:green")
    a2.set_title(BITS_LABEL, fontsize=10)
    bottom = np.zeros(len(nights))
    colors = {"compressed": "tab:green", "skipped": "tab:gray", "incomplete": "tab:orange",
              "failed": "tab:red"}
    for status, color in colors.items():
        if status in nights:
            a3.bar(x, nights[status], bottom=bottom, color=color, label=status, width=0.6)
            bottom += nights[status].to_numpy()
    a3.set_title("adapters per night", fontsize=10)
    # beside the bars, not on them: the first night's bar is often the tallest
    a3.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    for a in (a1, a2, a3):
        a.grid(alpha=0.3)
        a.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    return fig


def night_figures(con):
    """Per run date: status counts of every row, and the parameter-weighted error and tensor bits
    per parameter of the adapters compressed that night (tensor bits from the layer rows where
    the column is null)."""
    return con.execute("""
        WITH c AS (SELECT a.run_date, a.params, a.weighted_rel_error,
                          coalesce(a.tensor_bits, t.tensor_bits)::DOUBLE AS tensor_bits
                   FROM adapters a
                   LEFT JOIN output_tensor_bits t
                     ON t.run_id = a.output_run_id AND t.adapter = a.adapter
                   WHERE a.status = 'compressed' AND a.params > 0)
        SELECT d.run_date,
               count(*) FILTER (WHERE status = 'compressed') AS compressed,
               count(*) FILTER (WHERE status = 'skipped') AS skipped,
               count(*) FILTER (WHERE status = 'incomplete') AS incomplete,
               count(*) FILTER (WHERE status = 'failed') AS failed,
               any_value(e.rel_error) AS rel_error, any_value(e.bits) AS bits
        FROM adapters d
        LEFT JOIN (SELECT run_date, sum(weighted_rel_error * params) / sum(params) AS rel_error,
                          sum(tensor_bits) / sum(params) AS bits
                   FROM c GROUP BY ALL) e USING (run_date)
        GROUP BY d.run_date ORDER BY d.run_date
    """).df()


# ---------------------------------------------------------------------------------------------
# Budget runs (issues 18 and 20): per run, the target, what was achieved, where the bits went.

def budget_runs(con):
    """One row per run in the budget mode (a run with budget_bits): its settings (budget_bits,
    budget_scope, budget_weight, the fleet multiplier budget_lambda), its adapters by status,
    and what the outputs it describes store: the compressed ones and the skipped ones (in scope
    fleet the stored bits of skipped adapters count against the budget as they are), so
    achieved_bits = their tensor bits over their parameters, the figure budget_bits bounds over
    the whole run in scope fleet. headroom = 1 - achieved_bits / budget_bits (negative: over).
    bits_min / bits_max: the adapters' own tensor bits per parameter (in scope adapter each is
    at most the budget; in scope fleet they spread). rel_error: weighted by parameters."""
    return con.execute("""
        WITH r AS (
            SELECT a.*, coalesce(a.tensor_bits, t.tensor_bits) AS bits,
                   a.status IN ('compressed', 'skipped') AND a.params > 0 AS stored
            FROM adapters a
            LEFT JOIN output_tensor_bits t ON t.adapter = a.adapter AND t.run_id = a.output_run_id
            WHERE a.budget_bits IS NOT NULL)
        SELECT run_id, min(run_date) AS run_date, any_value(budget_scope) AS budget_scope,
               any_value(budget_weight) AS budget_weight, any_value(budget_bits) AS budget_bits,
               max(budget_lambda) AS budget_lambda,
               count(*) FILTER (WHERE status = 'compressed') AS compressed,
               count(*) FILTER (WHERE status = 'skipped') AS skipped,
               count(*) FILTER (WHERE status IN ('failed', 'incomplete')) AS not_written,
               sum(params) FILTER (WHERE stored) AS params,
               sum(bits) FILTER (WHERE stored) AS tensor_bits,
               sum(bits) FILTER (WHERE stored)::DOUBLE
                   / nullif(sum(params) FILTER (WHERE stored), 0) AS achieved_bits,
               1 - achieved_bits / any_value(budget_bits) AS headroom,
               min(bits::DOUBLE / params) FILTER (WHERE stored) AS bits_min,
               max(bits::DOUBLE / params) FILTER (WHERE stored) AS bits_max,
               sum(weighted_rel_error * params) FILTER (WHERE stored)
                   / nullif(sum(params) FILTER (WHERE stored), 0) AS rel_error
        FROM r GROUP BY run_id ORDER BY run_id
    """).df()


def budget_spread(con, run_id):
    """How the bits of one run's outputs were spread: (by_kind, by_adapter).

    by_adapter: each adapter the run compressed or skipped, with its output's params, tensor
    bits, bits per parameter, share of the run's bits and of its parameters, error.
    by_kind: per module kind over the layer rows of those outputs (a skipped adapter's rows are
    those of the run that wrote its output, absent if that partition has been expired: the
    column adapters says how many adapters the kind's figures cover): params, tensor bits
    (sum of layers.effective_bits), bits per parameter, share of bits, the mean width of the
    kept components and the share of components dropped (width 0), error weighted by
    parameters."""
    by_adapter = con.execute("""
        SELECT a.adapter, a.status, a.params,
               coalesce(a.tensor_bits, t.tensor_bits) AS tensor_bits,
               coalesce(a.tensor_bits, t.tensor_bits)::DOUBLE / a.params AS bits_per_param,
               a.weighted_rel_error AS rel_error, a.output_run_id
        FROM adapters a
        LEFT JOIN output_tensor_bits t ON t.adapter = a.adapter AND t.run_id = a.output_run_id
        WHERE a.run_id = ? AND a.status IN ('compressed', 'skipped') AND a.params > 0
        ORDER BY bits_per_param DESC, a.adapter
    """, [run_id]).df()
    total_bits, total_params = by_adapter.tensor_bits.sum(), by_adapter.params.sum()
    by_adapter["share_of_bits"] = by_adapter.tensor_bits / total_bits if total_bits else np.nan
    by_adapter["share_of_params"] = by_adapter.params / total_params if total_params else np.nan
    by_kind = con.execute("""
        WITH o AS (SELECT adapter, output_run_id FROM adapters
                   WHERE run_id = ? AND status IN ('compressed', 'skipped') AND params > 0),
        l AS (SELECT l.* FROM layers l
              JOIN o ON l.adapter = o.adapter AND l.run_id = o.output_run_id),
        w AS (SELECT module_kind, unnest(bits_per_component) AS width FROM l)
        SELECT module_kind, count(DISTINCT adapter) AS adapters, count(*) AS layers,
               sum(params) AS params, sum(effective_bits) AS tensor_bits,
               sum(effective_bits)::DOUBLE / nullif(sum(params), 0) AS bits_per_param,
               sum(effective_bits)::DOUBLE / nullif(sum(sum(effective_bits)) OVER (), 0)
                   AS share_of_bits,
               any_value(wk.mean_width) AS mean_kept_width,
               any_value(wk.dropped) AS dropped_share,
               sum(rel_error * params) / nullif(sum(params), 0) AS rel_error
        FROM l
        LEFT JOIN (SELECT module_kind, avg(width) FILTER (WHERE width > 0) AS mean_width,
                          avg((width = 0)::INT) AS dropped
                   FROM w GROUP BY ALL) wk USING (module_kind)
        GROUP BY module_kind ORDER BY tensor_bits DESC
    """, [run_id]).df()
    return by_kind, by_adapter


def budget_title(run):
    """'scope fleet, weight energy: 1.3981 of 1.4 bits per parameter, lambda 1.2e-06' for a row
    of budget_runs."""
    weight = run.get("budget_weight")
    scope = f"scope {run['budget_scope']}" + (f", weight {weight}" if isinstance(weight, str)
                                               else "")
    text = (f"{scope}: {run['achieved_bits']:.4f} of {run['budget_bits']:g} bits per parameter"
            if run["achieved_bits"] == run["achieved_bits"] else
            f"{scope}: budget {run['budget_bits']:g} bits per parameter, nothing stored")
    lam = run.get("budget_lambda")
    if lam is not None and lam == lam:
        text += f", lambda {lam:.3g}"
    return text


def budget_spread_figure(run, by_kind, by_adapter):
    """Two panels for one budget run (a row of budget_runs and the frames of budget_spread):
    tensor bits per parameter by module kind (bars; the label on each: its share of the bits),
    and per adapter against its parameters (log), compressed and skipped apart; both with the
    budget (dashed) and what the run achieved (solid). The adapters' axis follows the axis
    rules, so one tiny adapter does not flatten the others."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    fig, (ak, aa) = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [1, 1.2]})
    budget, achieved = run["budget_bits"], run["achieved_bits"]

    def levels(ax):
        ax.axhline(budget, color="tab:red", ls="--", lw=1.2)
        if achieved == achieved:
            ax.axhline(achieved, color="tab:green", lw=1.2)
    kinds = by_kind.dropna(subset=["bits_per_param"])
    x = np.arange(len(kinds))
    bars = ak.bar(x, kinds.bits_per_param, color="tab:blue", alpha=0.7)
    ak.bar_label(bars, labels=[f"{s:.0%}" for s in kinds.share_of_bits], fontsize=7)
    ak.set_xticks(x, kinds.module_kind, rotation=30, ha="right")
    ak.set_xlabel("module kind (label: share of the run's bits)")
    ak.set_ylabel(BITS_LABEL)
    ak.set_title("by module kind", fontsize=10)
    ak.margins(y=0.15)
    levels(ak)
    ak.grid(axis="y", alpha=0.3)
    pts = by_adapter.dropna(subset=["bits_per_param"])
    ya = Axis(pts.bits_per_param, BITS_LABEL, "bits")
    placed = pd.Series(ya.placed(pts.bits_per_param), index=pts.index)
    for status, color in (("compressed", "tab:blue"), ("skipped", "tab:gray")):
        sel = pts.status == status
        if sel.any():
            aa.scatter(pts.params[sel], placed[sel], s=30, alpha=0.7, color=color,
                       edgecolor="k", linewidth=0.3, label=f"{status} ({int(sel.sum())})")
    aa.set_xscale("log")
    aa.set_xlabel("parameters of the adapter (log)")
    ya.apply(aa, "y")
    if ya.rule == "log":
        from matplotlib.ticker import ScalarFormatter
        aa.yaxis.set_major_formatter(ScalarFormatter())
    # the budget and achieved lines stay on the axis even when every adapter is far from them
    lo, hi = aa.get_ylim()
    aa.set_ylim(min(lo, budget * 0.95), max(hi, budget * 1.05))
    levels(aa)
    aa.set_title("by adapter", fontsize=10)
    aa.grid(alpha=0.3)
    handles, _ = aa.get_legend_handles_labels()
    handles += [Line2D([], [], color="tab:red", ls="--", label=f"budget {budget:g}")]
    if achieved == achieved:
        handles.append(Line2D([], [], color="tab:green", label=f"achieved {achieved:.4f}"))
    text = ya.legend_text("adapters")
    if text:
        handles.append(Line2D([], [], marker=">", ls="", markerfacecolor="none",
                              markeredgecolor="tab:red", label=text))
    aa.legend(handles=handles, fontsize=7, loc="best")
    fig.suptitle(f"Budget run {run['run_id']}: " + budget_title(run), fontsize=10)
    fig.tight_layout()
    return fig
