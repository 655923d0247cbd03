#!/usr/bin/env python3
"""Fast checks of the notebooks against synthetic stats (make_fake_stats.py, a test fixture):

- the DuckDB views of stats_helpers (current = latest compressed run per adapter, empty views on
  a stats table without files, s3a:// spelling, relative paths);
- the committed notebooks are cleared (check_clean.py);
- every notebook executes headless (run_notebooks.sh) on a multi-night fleet and on a single
  night where every adapter was skipped. Set LORAQUANT_SKIP_NOTEBOOK_RUN=1 to skip this part.

Run with the project's venv:  .venv/bin/python notebooks/tests/test_notebooks.py
(plain unittest; pytest also collects it).
"""
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent
sys.path.insert(0, str(NOTEBOOKS))
sys.path.insert(0, str(HERE))

import make_fake_stats  # noqa: E402
import stats_helpers  # noqa: E402


class StatsHelpersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.fleet = make_fake_stats.generate(Path(cls.tmp.name) / "fleet", n_adapters=12,
                                             nights=4, seed=5)
        cls.empty = make_fake_stats.generate(Path(cls.tmp.name) / "empty", scenario="empty")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_views_and_current(self):
        con = stats_helpers.connect(str(self.fleet), verbose=False)
        dates = stats_helpers.run_dates(con)
        self.assertEqual(len(dates), 4)
        self.assertEqual(type(dates[0]).__name__, "date")
        statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM adapters").fetchall()}
        self.assertEqual(statuses, {"compressed", "skipped", "incomplete", "failed"})
        # current_adapters: exactly the latest compressed run of each adapter ever compressed
        expected = con.execute("""
            SELECT adapter, max(run_date) FROM adapters WHERE status = 'compressed'
            GROUP BY adapter ORDER BY adapter""").fetchall()
        got = con.execute(
            "SELECT adapter, run_date FROM current_adapters ORDER BY adapter").fetchall()
        self.assertEqual(got, expected)
        # current_layers: the layer rows of exactly those runs
        mismatched = con.execute("""
            SELECT count(*) FROM current_layers l ANTI JOIN current_adapters c
            ON l.adapter = c.adapter AND l.run_id = c.run_id""").fetchone()[0]
        self.assertEqual(mismatched, 0)
        per_adapter = con.execute("""
            SELECT c.adapter, c.layers, count(l.module) FROM current_adapters c
            LEFT JOIN current_layers l ON l.adapter = c.adapter AND l.run_id = c.run_id
            GROUP BY ALL""").fetchall()
        for adapter, layers, rows in per_adapter:
            self.assertEqual(layers, rows, adapter)
        self.assertGreater(con.execute(
            "SELECT count(*) FROM layers WHERE layer_index IS NULL").fetchone()[0], 0)
        types = dict(con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'layers'").fetchall())
        self.assertEqual(types["singular_values"], "FLOAT[]")
        self.assertEqual(types["run_date"], "DATE")
        # a local path never needs the network: no httpfs
        self.assertFalse(con.execute("SELECT loaded FROM duckdb_extensions() "
                                     "WHERE extension_name = 'httpfs'").fetchone()[0])

    def test_empty_stats_give_empty_views(self):
        con = stats_helpers.connect(str(self.empty), verbose=False)
        for view in ("layers", "adapters", "current_adapters", "current_layers"):
            self.assertEqual(con.execute(f"SELECT count(*) FROM {view}").fetchone()[0], 0, view)
        cols = [r[0] for r in con.execute("DESCRIBE layers").fetchall()]
        self.assertEqual(cols, [c for c, _ in stats_helpers.LAYER_COLUMNS])

    def test_missing_folder_is_an_error(self):
        with self.assertRaises(FileNotFoundError):
            stats_helpers.connect(str(Path(self.tmp.name) / "nope"), verbose=False)

    def test_location(self):
        env = dict(os.environ)
        try:
            os.environ.pop("LORAQUANT_STATS", None)
            self.assertEqual(stats_helpers.stats_location(),
                             str(NOTEBOOKS.parent / "demo" / "stats"))
            os.environ["LORAQUANT_STATS"] = "s3a://bucket/stats/"
            self.assertEqual(stats_helpers.stats_location(), "s3://bucket/stats")
            os.environ["LORAQUANT_STATS"] = "../demo/stats"
            self.assertEqual(stats_helpers.stats_location(),
                             str((NOTEBOOKS / "../demo/stats").resolve()))
        finally:
            os.environ.clear()
            os.environ.update(env)


class CleanTest(unittest.TestCase):
    def test_committed_notebooks_are_clean(self):
        r = subprocess.run([sys.executable, str(NOTEBOOKS / "check_clean.py")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)


@unittest.skipIf(os.environ.get("LORAQUANT_SKIP_NOTEBOOK_RUN"), "LORAQUANT_SKIP_NOTEBOOK_RUN set")
class ExecuteTest(unittest.TestCase):
    def run_all(self, scenario, **kw):
        with tempfile.TemporaryDirectory() as tmp:
            stats = make_fake_stats.generate(Path(tmp) / "stats", scenario=scenario, **kw)
            env = dict(os.environ, PYTHON=sys.executable, NOTEBOOK_OUT=str(Path(tmp) / "out"))
            r = subprocess.run([str(NOTEBOOKS / "run_notebooks.sh"), str(stats)], env=env,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            executed = sorted(p.name for p in (Path(tmp) / "out").glob("*.ipynb"))
            self.assertEqual(executed, sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))

    def test_fleet_several_nights(self):
        self.run_all("fleet", n_adapters=12, nights=4, seed=2)

    def test_single_night_all_skipped(self):
        self.run_all("only-skipped", n_adapters=6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
