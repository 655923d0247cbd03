#!/usr/bin/env python3
"""The plot rules (stats_plots) and the nightly report (stats_report), on the fake stats fixture
with a tiny-adapter outlier (make_fake_stats.py --tiny-outlier: 64 parameters, about 700
effective and 22 tensor bits per parameter):

- AxisRulesTest: the outlier is clipped (not squashing the axes), counted in the legend, and
  named in the report; only the few worst points get labels; one panel per setting; fleet
  figures weighted by parameters;
- BudgetRunsTest: the budget runs' view (per run: the budget, the bits achieved, the spread by
  module kind and by adapter) on the fixture's budget nights (scope adapter, scope fleet, and a
  rerun that skips), checked against the files as written;
- ReportTest: the page is one self-contained file (PNG data: URLs, no script, no network); the
  write replaces only an earlier report, through a temporary file; budget columns are shown when
  present;
- BrowserTest: the page opened in headless Chromium as a person would: screenshot taken, no load
  errors, every image decoded with a non-zero size. Skipped (with the reason) where no Chromium
  is installed, unless LORAQUANT_REQUIRE_CHROMIUM=1 (run_all.sh sets it where bin/chromium-env
  could install one), which makes a missing browser a failure. LORAQUANT_SCREENSHOTS=DIR keeps
  the screenshots.
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent
sys.path.insert(0, str(NOTEBOOKS))
sys.path.insert(0, str(HERE))
os.environ.setdefault("MPLBACKEND", "Agg")

import make_fake_stats  # noqa: E402
import stats_helpers  # noqa: E402
import stats_plots  # noqa: E402
import stats_report  # noqa: E402

TINY = "tiny/adapter-tiny"


def fleet(root, **kw):
    return make_fake_stats.generate(Path(root) / "stats", n_adapters=12, nights=4, seed=2,
                                    tiny_outlier=True, **kw)


class AxisRulesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.con = stats_helpers.connect(str(fleet(cls.tmp.name)), verbose=False)
        cls.points = stats_plots.adapter_points(cls.con)

    @classmethod
    def tearDownClass(cls):
        import matplotlib.pyplot as plt
        plt.close("all")
        cls.tmp.cleanup()

    def test_fixture_has_the_outlier(self):
        tiny = self.points[self.points.adapter == TINY].iloc[0]
        self.assertGreater(tiny.effective_bits_per_param, 500)
        self.assertGreater(tiny.bits, 15)
        self.assertLess(self.points[self.points.adapter != TINY].bits.max(), 5)

    def test_outlier_is_clipped_and_counted(self):
        fig, axes = stats_plots.bits_vs_error(self.points)
        xa = axes["x"]
        self.assertEqual(xa.rule, "clip")
        self.assertEqual(xa.n_clipped(), 1)
        for ax in fig.axes:
            if ax.get_visible():
                self.assertLess(ax.get_xlim()[1], 6, "the x axis follows the fleet, not the outlier")
        legend = " ".join(t.get_text() for leg in fig.legends for t in leg.get_texts())
        self.assertIn("1 adapter beyond", legend)
        self.assertIn("max 22", legend)

    def test_only_the_worst_are_labelled(self):
        fig, axes = stats_plots.bits_vs_error(self.points)
        numbers = [t.get_text() for ax in fig.axes for t in ax.texts]
        worst = list(self.points.nlargest(stats_plots.WORST_LABELS, "weighted_rel_error").adapter)
        self.assertEqual(sorted(numbers), [str(i) for i in range(1, len(worst) + 1)])
        key = [t.get_text() for t in fig.texts if t.get_text()[:1].isdigit()]
        self.assertEqual(sorted(k.split("  ", 1)[1] for k in key),
                         sorted(stats_plots._short(a) for a in worst))

    def test_labels_stay_in_their_own_panel(self):
        # the worst points in the left panel: nothing of theirs may reach into the right one
        points = self.points.copy()
        left = points.apply(stats_plots.facet_label, axis=1) == stats_plots.facet_label(
            points.iloc[0])
        self.assertTrue(left.any() and not left.all(), "precondition: two settings")
        points.loc[left, "weighted_rel_error"] += 1.0
        fig, axes = stats_plots.bits_vs_error(points)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        drawn = 0
        for ax in fig.axes:
            panel = ax.get_window_extent(renderer)
            for label in ax.texts:
                box = label.get_window_extent(renderer)
                self.assertTrue(panel.x0 - 1 <= box.x0 and box.x1 <= panel.x1 + 12
                                and panel.y0 - 1 <= box.y0 and box.y1 <= panel.y1 + 12,
                                f"label {label.get_text()} leaves its panel")
                self.assertIsNone(label.arrow_patch, "no line out of the panel")
                drawn += 1
        self.assertEqual(drawn, min(stats_plots.WORST_LABELS, int(left.sum())))

    def test_one_panel_per_setting(self):
        fig, axes = stats_plots.bits_vs_error(self.points)
        settings = {stats_plots.facet_label(r) for _, r in self.points.iterrows()}
        self.assertGreater(len(settings), 1, "precondition: the fixture changes settings")
        self.assertEqual(len(axes["facets"]), len(settings))
        titled = [ax.get_title() for ax in fig.axes if ax.get_visible()]
        self.assertEqual(len(titled), len(settings))

    def test_drift_legend_hides_no_bar(self):
        fig = stats_plots.drift(stats_plots.night_figures(self.con))
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        bars = fig.axes[2]
        legend = bars.get_legend().get_window_extent(renderer)
        for bar in bars.patches:
            self.assertFalse(legend.overlaps(bar.get_window_extent(renderer)),
                             "the status legend covers a bar")

    def test_small_layers_do_not_flatten_the_boxes(self):
        layers = self.con.execute("""
            SELECT module_kind, params, effective_bits::DOUBLE / params AS bits
            FROM current_layers WHERE status = 'compressed'""").df()
        self.assertGreater(layers.bits.max(), 15, "precondition: the tiny layers")
        fig, axis = stats_plots.weighted_boxes(layers, "module_kind", "bits")
        self.assertLess(fig.axes[0].get_ylim()[1], 6)
        self.assertEqual(axis.n_clipped(), int((layers.bits > axis.hi).sum()))
        self.assertGreater(axis.n_clipped(), 0)
        legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
        self.assertIn(f"{axis.n_clipped()} layer", legend)

    def test_weighted_by_parameters(self):
        q = stats_plots.weighted_quantiles([1.0, 100.0], [999, 1], [0.5])
        self.assertEqual(q[0], 1.0)
        q = stats_plots.weighted_quantiles([1.0, 2.0, 3.0], [1, 1, 1], [0.5])
        self.assertEqual(q[0], 2.0)
        import numpy as np
        self.assertTrue(np.isnan(stats_plots.weighted_quantiles([], [], [0.5])[0]))

    def test_axis_rules(self):
        self.assertEqual(stats_plots.axis_rule([1.2, 1.4, 1.5, 1.6, 1.8, 2.0]), "linear")
        self.assertEqual(stats_plots.axis_rule([1.2, 1.4, 1.5, 1.6, 1.8, 750]), "clip")
        self.assertEqual(stats_plots.axis_rule([0.001, 0.01, 0.1, 1, 10, 100]), "log")
        # a tail just beyond the fence is kept, not clipped
        self.assertEqual(stats_plots.axis_rule([1.3, 1.4, 1.5, 1.5, 1.6, 1.8, 2.7]), "linear")

    def test_old_partitions_without_the_column(self):
        # rows written before tensor_bits existed: the figure comes from the layer rows
        import pyarrow.parquet as pq
        stats = fleet(Path(self.tmp.name) / "old")
        for f in (stats / "adapters").glob("*/*.parquet"):
            t = pq.read_table(f)
            pq.write_table(t.drop_columns(["tensor_bits", "tensor_bits_per_param",
                                           "overhead_bytes", "fixed_file_bytes"]), f)
        con = stats_helpers.connect(str(stats), verbose=False)
        self.assertEqual(con.execute("SELECT count(tensor_bits_per_param) FROM adapters")
                         .fetchone()[0], 0, "precondition: old partitions read the column as null")
        old = stats_plots.adapter_points(con).set_index("adapter").bits
        new = self.points.set_index("adapter").bits
        for adapter in new.index:
            self.assertAlmostEqual(old[adapter], new[adapter], places=9, msg=adapter)


class BudgetRunsTest(unittest.TestCase):
    """The budget runs' view (03_night_over_night, section 7) on the fixture's budget nights:
    scope adapter, scope fleet, and a rerun of the fleet run that skips everything."""

    @classmethod
    def setUpClass(cls):
        import pyarrow.parquet as pq
        cls.tmp = tempfile.TemporaryDirectory()
        cls.stats = make_fake_stats.generate(Path(cls.tmp.name) / "stats", n_adapters=12,
                                             nights=2, seed=4, budget_runs=True)
        cls.con = stats_helpers.connect(str(cls.stats), verbose=False)
        cls.runs = stats_plots.budget_runs(cls.con).set_index("budget_scope", drop=False)
        # the files as written, read without the views
        cls.rows = {t: pq.read_table(cls.stats / t).to_pandas() for t in ("adapters", "layers")}

    @classmethod
    def tearDownClass(cls):
        import matplotlib.pyplot as plt
        plt.close("all")
        cls.tmp.cleanup()

    def run_row(self, scope, compressed=True):
        runs = self.runs[self.runs.budget_scope == scope]
        return runs[(runs.compressed > 0) == compressed].iloc[0]

    def test_one_row_per_budget_run(self):
        a = self.rows["adapters"]
        self.assertEqual(sorted(self.runs.run_id), sorted(a[a.budget_bits.notna()].run_id.unique()))
        self.assertEqual(len(self.runs), 3, "paper-mode runs are not budget runs")
        fleet, rerun, adapter = (self.run_row("fleet"), self.run_row("fleet", False),
                                 self.run_row("adapter"))
        self.assertEqual((fleet.compressed, fleet.skipped), (12, 0))
        self.assertEqual((rerun.compressed, rerun.skipped), (0, 12))
        self.assertEqual(fleet.budget_weight, "energy")
        self.assertTrue(pd_isnull(adapter.budget_weight) and pd_isnull(adapter.budget_lambda))
        self.assertGreater(fleet.budget_lambda, 0)
        self.assertTrue(pd_isnull(rerun.budget_lambda), "a rerun that skipped allocated nothing")

    def test_achieved_bits_are_the_stored_bits_over_the_parameters(self):
        a = self.rows["adapters"]
        for run in self.runs.itertuples():
            mine = a[(a.run_id == run.run_id) & a.status.isin(["compressed", "skipped"])]
            self.assertAlmostEqual(run.achieved_bits,
                                   mine.tensor_bits.sum() / mine.params.sum(), places=12)
            self.assertLessEqual(run.achieved_bits, run.budget_bits)
            self.assertAlmostEqual(run.headroom, 1 - run.achieved_bits / run.budget_bits,
                                   places=12)
        # the rerun describes the same outputs as the run that wrote them
        self.assertEqual(self.run_row("fleet", False).achieved_bits,
                         self.run_row("fleet").achieved_bits)
        # scope adapter: every adapter within the budget; scope fleet: the bits move
        adapter, fleet = self.run_row("adapter"), self.run_row("fleet")
        self.assertLessEqual(adapter.bits_max, adapter.budget_bits)
        self.assertLess(fleet.bits_min, fleet.budget_bits)
        self.assertGreater(fleet.bits_max, fleet.budget_bits)

    def test_spread_by_adapter_and_by_module_kind(self):
        fleet = self.run_row("fleet")
        layers = self.rows["layers"]
        layers = layers[layers.run_id == fleet.run_id]
        for run in (fleet, self.run_row("fleet", False)):
            by_kind, by_adapter = stats_plots.budget_spread(self.con, run.run_id)
            self.assertEqual(len(by_adapter), 12)
            self.assertEqual(by_adapter.tensor_bits.sum(), run.tensor_bits)
            self.assertAlmostEqual(by_adapter.share_of_bits.sum(), 1.0, places=12)
            self.assertAlmostEqual(by_adapter.share_of_params.sum(), 1.0, places=12)
            self.assertEqual(sorted(by_kind.module_kind), sorted(layers.module_kind.unique()))
            self.assertEqual(by_kind.tensor_bits.sum(), layers.effective_bits.sum())
            self.assertAlmostEqual(by_kind.share_of_bits.sum(), 1.0, places=12)
            for kind in by_kind.itertuples():
                mine = layers[layers.module_kind == kind.module_kind]
                widths = [w for ws in mine.bits_per_component for w in ws]
                kept = [w for w in widths if w > 0]
                self.assertEqual(kind.layers, len(mine))
                self.assertAlmostEqual(kind.bits_per_param,
                                       mine.effective_bits.sum() / mine.params.sum(), places=12)
                self.assertAlmostEqual(kind.mean_kept_width, sum(kept) / len(kept), places=12)
                self.assertAlmostEqual(kind.dropped_share, 1 - len(kept) / len(widths),
                                       places=12)

    def test_figure_shows_budget_achieved_and_every_adapter(self):
        for run in (self.run_row("fleet"), self.run_row("adapter")):
            by_kind, by_adapter = stats_plots.budget_spread(self.con, run.run_id)
            fig = stats_plots.budget_spread_figure(run, by_kind, by_adapter)
            kinds, adapters = fig.axes
            self.assertEqual(len(kinds.patches), len(by_kind))
            self.assertEqual(sum(len(c.get_offsets()) for c in adapters.collections), 12)
            for ax in (kinds, adapters):
                levels = sorted(line.get_ydata()[0] for line in ax.get_lines())
                self.assertEqual(levels, sorted([run.budget_bits, run.achieved_bits]))
                lo, hi = ax.get_ylim()
                self.assertTrue(lo < run.budget_bits < hi)
            title = fig._suptitle.get_text()
            self.assertIn(f"scope {run.budget_scope}", title)
            self.assertIn(f"{run.achieved_bits:.4f} of 1.4 bits per parameter", title)
            self.assertEqual("lambda" in title, run.budget_scope == "fleet")

    def test_expired_layer_partition(self):
        # the rerun's outputs were written the night before; that night's layer rows expired
        with tempfile.TemporaryDirectory() as tmp:
            stats = Path(tmp) / "stats"
            shutil.copytree(self.stats, stats)
            rerun = self.run_row("fleet", False)
            shutil.rmtree(stats / "layers" / f"run_date={rerun.run_date:%Y-%m-%d}")
            con = stats_helpers.connect(str(stats), verbose=False)
            by_kind, by_adapter = stats_plots.budget_spread(con, rerun.run_id)
            self.assertTrue(by_kind.empty)
            self.assertEqual(len(by_adapter), 12)
            fig = stats_plots.budget_spread_figure(rerun, by_kind, by_adapter)
            self.assertEqual(len(fig.axes[0].patches), 0)


def pd_isnull(value):
    return value is None or value != value


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.stats = fleet(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def report(self, out, stats=None):
        env = dict(os.environ, MPLBACKEND="Agg")
        return subprocess.run([sys.executable, str(NOTEBOOKS / "stats_report.py"), "--stats",
                               str(stats or self.stats), "--out", str(out)],
                              capture_output=True, text=True, env=env, timeout=300)

    def test_self_contained_page(self):
        out = Path(self.tmp.name) / "site" / "report.html"
        r = self.report(out)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = out.read_text(encoding="utf-8")
        self.assertTrue(text.startswith(stats_report.HEAD))
        self.assertEqual(len(re.findall(r'<img [^>]*src="data:image/png;base64,', text)), 4)
        self.assertNotIn("<script", text)
        self.assertIsNone(re.search(r'(src|href)="(https?:)?//', text), "nothing fetched")
        for section in ("Summary of the latest night", "Failed and incomplete adapters",
                        "Bits vs error", "Worst layers", "Night over night"):
            self.assertIn(section, text)
        self.assertIn("non-finite value (NaN)", text)  # a failed adapter's message
        self.assertIn(f"Drawn on the edge (beyond the axes): {TINY}", text)
        self.assertEqual(sorted(p.name for p in out.parent.iterdir()), ["report.html"])

    def test_replaces_only_a_report(self):
        out = Path(self.tmp.name) / "report.html"
        out.write_text(stats_report.HEAD + "<html>last night</html>", encoding="utf-8")
        self.assertEqual(self.report(out).returncode, 0)
        self.assertNotIn("last night", out.read_text(encoding="utf-8"))
        notes = Path(self.tmp.name) / "notes.html"
        notes.write_text("<html>my notes</html>", encoding="utf-8")
        r = self.report(notes)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip().count("\n"), 0, r.stderr)
        self.assertIn("is not a loraquant report; refusing to overwrite it", r.stderr)
        self.assertEqual(notes.read_text(encoding="utf-8"), "<html>my notes</html>")
        r = self.report(Path(self.tmp.name))
        self.assertEqual(r.returncode, 1)
        self.assertIn("is a directory", r.stderr)

    def test_empty_stats(self):
        empty = make_fake_stats.generate(Path(self.tmp.name) / "empty", scenario="empty")
        out = Path(self.tmp.name) / "empty.html"
        r = self.report(out, empty)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no runs yet", out.read_text(encoding="utf-8"))

    def test_budget_columns_are_shown_when_present(self):
        import pyarrow as pa
        import pyarrow.parquet as pq
        for f in (self.stats / "adapters").glob("*/*.parquet"):
            t = pq.read_table(f)
            budget = [1.4 if i % 2 else None for i in range(t.num_rows)]
            column = pa.array(budget, pa.float64())
            i = t.schema.get_field_index("budget_bits")  # the fixture may carry it, all null
            t = t.set_column(i, "budget_bits", column) if i >= 0 else t.append_column("budget_bits", column)
            pq.write_table(t, f)
        con = stats_helpers.connect(str(self.stats), verbose=False)
        points = stats_plots.adapter_points(con)
        self.assertTrue(stats_plots.has_budget(points))
        page = stats_report.build(con, str(self.stats))
        self.assertIn("budget mode: the target is the budget", page)
        self.assertIn("<td>budget 1.4 bits</td>", page)
        self.assertIn("paper (no budget)", page)  # rows without a budget keep the paper label


def find_browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


# Written into a copy of the page, first thing in <head>: it records load errors (images that do
# not decode, script errors) and, once everything has loaded, every image's decoded and drawn
# size, into a <pre id="probe"> that --dump-dom prints.
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  window.__errors.push(String(e.message || (e.target && (e.target.alt || e.target.tagName)) || "error"));
}, true);
window.addEventListener("load", function () {
  var imgs = Array.prototype.map.call(document.images, function (i) {
    var r = i.getBoundingClientRect();
    return {alt: i.alt, complete: i.complete, natural: [i.naturalWidth, i.naturalHeight],
            drawn: [r.width, r.height]};
  });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({imgs: imgs, errors: window.__errors, title: document.title});
  document.body.appendChild(pre);
});
</script>"""


class BrowserTest(unittest.TestCase):
    """The report as a person sees it, in headless Chromium."""

    @classmethod
    def setUpClass(cls):
        cls.browser = find_browser()
        if cls.browser is None:
            reason = ("no chromium on the PATH (bin/chromium-env installs Debian's chromium as "
                      "root on Debian/Ubuntu)")
            if os.environ.get("LORAQUANT_REQUIRE_CHROMIUM") == "1":
                raise AssertionError(reason + "; LORAQUANT_REQUIRE_CHROMIUM=1, so this fails")
            raise unittest.SkipTest(reason)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.page = Path(cls.tmp.name) / "report.html"
        stats_report.write_report(cls.page, stats_report.build(
            stats_helpers.connect(str(fleet(cls.tmp.name)), verbose=False), "fixture"))

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "tmp", None):
            cls.tmp.cleanup()

    def chromium(self, *args):
        profile = tempfile.mkdtemp(dir=self.tmp.name)
        cmd = [self.browser, "--headless", "--disable-gpu", "--no-first-run",
               "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=10000"]
        if os.geteuid() == 0:
            cmd.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
        return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=180)

    def test_screenshot(self):
        shots = Path(os.environ.get("LORAQUANT_SCREENSHOTS") or self.tmp.name)
        shots.mkdir(parents=True, exist_ok=True)
        shot = shots / "report.png"
        if shot.exists():
            shot.unlink()
        r = self.chromium("--window-size=1280,4200", f"--screenshot={shot}",
                          self.page.as_uri())
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertTrue(shot.exists(), r.stderr[-2000:])
        with open(shot, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        self.assertEqual((width, height), (1280, 4200))
        self.assertGreater(shot.stat().st_size, 50_000, "a blank page compresses to almost nothing")

    def test_page_loads_without_errors_and_draws_every_plot(self):
        probed = Path(self.tmp.name) / "probed.html"
        text = self.page.read_text(encoding="utf-8")
        probed.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
        r = self.chromium("--window-size=1280,1000", "--dump-dom", probed.as_uri())
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        m = re.search(r'<pre id="probe">(.*?)</pre>', r.stdout, re.S)
        self.assertIsNotNone(m, "the page did not finish loading: " + r.stdout[-500:])
        probe = json.loads(html.unescape(m.group(1)))
        self.assertEqual(probe["errors"], [])
        self.assertEqual(probe["title"], "LoRAQuant nightly report")
        self.assertEqual(len(probe["imgs"]), text.count("<img "))
        self.assertGreaterEqual(len(probe["imgs"]), 4)
        for img in probe["imgs"]:
            self.assertTrue(img["complete"], img)
            self.assertTrue(min(img["natural"]) > 0 and min(img["drawn"]) > 0, img)
        self.assertNotIn("Uncaught", r.stderr)

    def test_probe_sees_a_broken_image(self):
        # the check itself can fail: a page whose image does not decode is caught
        broken = Path(self.tmp.name) / "broken.html"
        broken.write_text(stats_report.HEAD + "<html><head><title>t</title></head><body>"
                          '<img alt="plot" src="data:image/png;base64,AAAA"></body></html>',
                          encoding="utf-8")
        text = broken.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1)
        broken.write_text(text, encoding="utf-8")
        r = self.chromium("--dump-dom", broken.as_uri())
        probe = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', r.stdout,
                                                   re.S).group(1)))
        self.assertTrue(probe["errors"] or probe["imgs"][0]["natural"][0] == 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
