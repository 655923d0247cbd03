#!/usr/bin/env python3
"""Fast checks of the notebooks against synthetic stats (make_fake_stats.py, a test fixture):

- the fixture and stats_helpers against the contract: the column tables of docs/STATS.md are
  parsed (as StatsSchemaTest does) and make_fake_stats.py must write exactly those columns, in
  order, with the documented Parquet types, nullability and run_date partition folders;
- the DuckDB views of stats_helpers (current rows as docs/STATS.md defines them: the latest
  adapters row, its output_run_id selecting the layer rows; empty views on a stats table without
  files, s3a:// spelling, relative paths);
- the committed notebooks are cleared (check_clean.py);
- every notebook executes headless (run_notebooks.sh) on a multi-night fleet (with budget-mode
  nights: scope adapter, scope fleet and a rerun) and on a single night where every adapter was
  skipped. Set LORAQUANT_SKIP_NOTEBOOK_RUN=1 to skip this part.

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
        self.assertEqual(statuses, set(stats_helpers.ADAPTER_STATUSES))
        layer_statuses = {r[0] for r in con.execute(
            "SELECT DISTINCT status FROM layers").fetchall()}
        self.assertEqual(layer_statuses, set(stats_helpers.LAYER_STATUSES))
        self.assertEqual({r[0] for r in con.execute(
            "SELECT DISTINCT recorded_from FROM adapters").fetchall()}, {"run", "sidecar"})
        # current_adapters: the latest row of every adapter (docs/STATS.md), whatever its status
        expected = con.execute("""
            SELECT adapter, max(run_id) FROM adapters GROUP BY adapter ORDER BY adapter""").fetchall()
        got = con.execute(
            "SELECT adapter, run_id FROM current_adapters ORDER BY adapter").fetchall()
        self.assertEqual(got, expected)
        self.assertEqual(con.execute("SELECT count(*) FROM current_adapters").fetchone()[0],
                         con.execute("SELECT count(DISTINCT adapter) FROM adapters").fetchone()[0])
        # current_layers: exactly the layer rows of the runs named by output_run_id
        mismatched = con.execute("""
            SELECT count(*) FROM current_layers l ANTI JOIN current_adapters c
            ON l.adapter = c.adapter AND l.run_id = c.output_run_id""").fetchone()[0]
        self.assertEqual(mismatched, 0)
        # current_outputs: one row per adapter with an output, whose totals match its layers
        self.assertEqual(
            con.execute("SELECT count(*) FROM current_outputs").fetchone()[0],
            con.execute("SELECT count(*) FROM current_adapters "
                        "WHERE output_run_id IS NOT NULL").fetchone()[0])
        per_adapter = con.execute("""
            SELECT o.adapter, o.layers, o.params, count(l.module), sum(l.params)
            FROM current_outputs o
            LEFT JOIN current_layers l ON l.adapter = o.adapter AND l.run_id = o.output_run_id
            GROUP BY ALL""").fetchall()
        self.assertTrue(per_adapter)
        for adapter, layers, params, rows, layer_params in per_adapter:
            self.assertEqual((layers, params), (rows, layer_params), adapter)
        # a failed recompression keeps the earlier output current
        stale = con.execute("""SELECT count(*) FROM current_outputs
                               WHERE latest_status IN ('failed', 'incomplete')""").fetchone()[0]
        self.assertGreater(stale, 0)
        # the sidecar-reconciled rows of the killed run are current for their adapters
        self.assertGreater(con.execute("""
            SELECT count(*) FROM current_outputs o JOIN adapters a
              ON a.adapter = o.adapter AND a.run_id = o.output_run_id
            WHERE a.recorded_from = 'sidecar'""").fetchone()[0], 0)
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

    def test_expired_output_partition(self):
        # every adapter skipped, the compressing run's partition gone: outputs with totals, no
        # layer rows
        only = make_fake_stats.generate(Path(self.tmp.name) / "only", n_adapters=6,
                                        scenario="only-skipped")
        con = stats_helpers.connect(str(only), verbose=False)
        self.assertEqual(con.execute("SELECT count(*) FROM current_outputs").fetchone()[0], 6)
        self.assertEqual(con.execute("SELECT count(*) FROM current_layers").fetchone()[0], 0)
        self.assertEqual(con.execute(
            "SELECT count(*) FROM current_outputs WHERE params IS NULL").fetchone()[0], 0)

    def test_empty_stats_give_empty_views(self):
        con = stats_helpers.connect(str(self.empty), verbose=False)
        for view in ("layers", "adapters", "current_adapters", "current_layers"):
            self.assertEqual(con.execute(f"SELECT count(*) FROM {view}").fetchone()[0], 0, view)
        for view, columns in (("layers", stats_helpers.LAYER_COLUMNS),
                              ("adapters", stats_helpers.ADAPTER_COLUMNS)):
            cols = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {view}").fetchall()]
            self.assertEqual(cols, [(c, DUCKDB_TYPE_NAMES.get(t, t)) for c, t in columns], view)

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



# ---------------------------------------------------------------------------------------------
# The contract: the column tables of docs/STATS.md (parsed the way StatsSchemaTest parses them)

STATS_MD = NOTEBOOKS.parent / "docs" / "STATS.md"
TABLES = ("layers", "adapters")
PARTITION_COLUMN = "run_date"
DOC_TYPES = {"string", "int", "bigint", "float", "double", "boolean", "date", "timestamp",
             "array<float>", "array<int>"}
DUCKDB_TYPE_NAMES = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
DOC_TO_DUCKDB = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "float": "FLOAT",
                 "double": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE",
                 "timestamp": "TIMESTAMPTZ", "array<float>": "FLOAT[]", "array<int>": "INTEGER[]"}


def documented_columns(table, path=STATS_MD):
    """[(name, type, nullable)] from the table under '## Table `TABLE`' in docs/STATS.md: rows
    like '| `name` | type | nullable | meaning |', as StatsSchemaTest.documentedColumns reads."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    heading = lines.index(f"## Table `{table}`")  # ValueError if the heading is gone
    columns, in_table = [], False
    for line in lines[heading + 1:]:
        if line.startswith("| `"):
            in_table = True
            cells = line.split("|")
            name = cells[1].strip().replace("`", "")
            typ, nullable = cells[2].strip(), cells[3].strip()
            if nullable not in ("yes", "no"):
                raise ValueError(f"{path}: column {name}: nullable must be yes/no: {nullable!r}")
            columns.append((name, typ, nullable == "yes"))
        elif in_table and not line.startswith("|"):
            break
        elif line.startswith("## "):
            break
    return columns


def arrow_type(doc_type):
    import pyarrow as pa
    return {
        "string": pa.string(), "int": pa.int32(), "bigint": pa.int64(), "float": pa.float32(),
        "double": pa.float64(), "boolean": pa.bool_(), "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        # Spark writes array<float> (containsNull = false) as the standard three-level LIST
        "array<float>": pa.list_(pa.field("element", pa.float32(), nullable=False)),
        "array<int>": pa.list_(pa.field("element", pa.int32(), nullable=False)),
    }[doc_type]


class StatsContractTest(unittest.TestCase):
    """make_fake_stats.py and stats_helpers follow docs/STATS.md column by column."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.stats = make_fake_stats.generate(Path(cls.tmp.name) / "stats", n_adapters=12,
                                             nights=4, seed=3)
        cls.doc = {t: documented_columns(t) for t in TABLES}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_doc_tables_parse(self):
        for table, cols in self.doc.items():
            self.assertGreater(len(cols), 10, table)
            names = [c for c, _, _ in cols]
            self.assertEqual(len(names), len(set(names)), f"{table}: duplicate columns")
            self.assertIn((PARTITION_COLUMN, "date", False), cols, table)
            for name, typ, _ in cols:
                self.assertIn(typ, DOC_TYPES, f"{table}.{name}: undocumented type {typ}")

    def test_fixture_files_have_exactly_the_documented_columns(self):
        import pyarrow.parquet as pq
        for table in TABLES:
            expected = [(c, arrow_type(t), n) for c, t, n in self.doc[table]
                        if c != PARTITION_COLUMN]
            files = sorted((self.stats / table).glob("*/*.parquet"))
            self.assertTrue(files, table)
            for f in files:
                schema = pq.read_schema(f)
                got = [(fld.name, fld.type, fld.nullable) for fld in schema]
                self.assertEqual([c for c, _, _ in got], [c for c, _, _ in expected],
                                 f"{f}: column names/order")
                for (name, gtype, gnull), (_, etype, enull) in zip(got, expected):
                    self.assertEqual(gtype, etype, f"{f}: {name} type")
                    self.assertEqual(gnull, enull, f"{f}: {name} nullable")

    def test_fixture_parquet_physical_types(self):
        import pyarrow.parquet as pq
        for table in TABLES:
            docs = {c: t for c, t, _ in self.doc[table]}
            f = sorted((self.stats / table).glob("*/*.parquet"))[0]
            pschema = pq.ParquetFile(f).schema
            for i in range(len(pschema)):
                col = pschema.column(i)
                name = col.path.split(".")[0]
                self.assertIn(name, docs, f"{f}: column not in docs/STATS.md")
                if docs[name] == "timestamp":
                    # INT64 TIMESTAMP(MICROS, UTC), never the legacy INT96
                    self.assertEqual(col.physical_type, "INT64", name)
                    lt = str(col.logical_type)
                    self.assertIn("isAdjustedToUTC=true", lt, name)
                    self.assertIn("timeUnit=microseconds", lt, name)
                if docs[name] == "array<float>":
                    self.assertEqual(col.path, f"{name}.list.element", name)  # three-level LIST
                    self.assertEqual(col.physical_type, "FLOAT", name)
                if docs[name] == "array<int>":
                    self.assertEqual(col.path, f"{name}.list.element", name)
                    self.assertEqual(col.physical_type, "INT32", name)
                if docs[name] == "int":
                    self.assertEqual(col.physical_type, "INT32", name)

    def test_partition_folders_and_hive_read(self):
        import re
        import duckdb
        for table in TABLES:
            folders = [p.name for p in (self.stats / table).iterdir() if p.is_dir()]
            self.assertTrue(folders, table)
            for name in folders:
                self.assertRegex(name, re.compile(r"^run_date=\d{4}-\d{2}-\d{2}$"))
            con = duckdb.connect()
            got = dict((r[0], r[1]) for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet('{self.stats}/{table}/run_date=*/*.parquet', "
                f"hive_partitioning = true)").fetchall())
            expected = {c: DUCKDB_TYPE_NAMES.get(DOC_TO_DUCKDB[t], DOC_TO_DUCKDB[t])
                        for c, t, _ in self.doc[table]}
            self.assertEqual(got, expected, table)
            # non-nullable columns hold no nulls
            for c, _, nullable in self.doc[table]:
                if not nullable:
                    nulls = con.execute(
                        f"SELECT count(*) FROM read_parquet('{self.stats}/{table}/run_date=*/*.parquet', "
                        f"hive_partitioning = true) WHERE \"{c}\" IS NULL").fetchone()[0]
                    self.assertEqual(nulls, 0, f"{table}.{c}")

    def test_statuses(self):
        import duckdb
        con = duckdb.connect()
        for table, allowed in (("layers", stats_helpers.LAYER_STATUSES),
                               ("adapters", stats_helpers.ADAPTER_STATUSES)):
            got = {r[0] for r in con.execute(
                f"SELECT DISTINCT status FROM read_parquet('{self.stats}/{table}/run_date=*/*.parquet')"
            ).fetchall()}
            self.assertEqual(got, set(allowed), table)
            self.assertIn(f"`{allowed[-1]}`", STATS_MD.read_text(encoding="utf-8"))

    def test_helper_column_lists_match_doc(self):
        for table, cols in (("layers", stats_helpers.LAYER_COLUMNS),
                            ("adapters", stats_helpers.ADAPTER_COLUMNS)):
            self.assertEqual(cols, [(c, DOC_TO_DUCKDB[t]) for c, t, _ in self.doc[table]], table)

    def test_parser_on_a_drifted_doc(self):
        # the parser really reads the table: a renamed column shows up
        with tempfile.TemporaryDirectory() as tmp:
            text = STATS_MD.read_text(encoding="utf-8").replace("| `worst_layer` |",
                                                                "| `worst_module` |")
            drifted = Path(tmp) / "STATS.md"
            drifted.write_text(text, encoding="utf-8")
            names = [c for c, _, _ in documented_columns("adapters", drifted)]
            self.assertIn("worst_module", names)
            self.assertNotIn("worst_layer", names)


class CleanTest(unittest.TestCase):
    def test_committed_notebooks_are_clean(self):
        r = subprocess.run([sys.executable, str(NOTEBOOKS / "check_clean.py")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)


@unittest.skipIf(os.environ.get("LORAQUANT_SKIP_NOTEBOOK_RUN"), "LORAQUANT_SKIP_NOTEBOOK_RUN set")
class ExecuteTest(unittest.TestCase):
    def run_all(self, scenario, **kw):
        """Executes every notebook; returns the text outputs of each executed notebook."""
        with tempfile.TemporaryDirectory() as tmp:
            stats = make_fake_stats.generate(Path(tmp) / "stats", scenario=scenario, **kw)
            env = dict(os.environ, PYTHON=sys.executable, NOTEBOOK_OUT=str(Path(tmp) / "out"))
            r = subprocess.run([str(NOTEBOOKS / "run_notebooks.sh"), str(stats)], env=env,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            executed = sorted(p.name for p in (Path(tmp) / "out").glob("*.ipynb"))
            self.assertEqual(executed, sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
            import json
            texts = {}
            for name in executed:
                cells = json.loads((Path(tmp) / "out" / name).read_text())["cells"]
                texts[name] = "".join(
                    "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                    for c in cells for o in c.get("outputs", []))
            return texts

    def test_fleet_several_nights(self):
        # with the tiny-adapter outlier: the overview lists it as drawn beyond the axes; with
        # the budget nights: night over night shows the latest fleet-scope run in detail
        texts = self.run_all("fleet", n_adapters=12, nights=4, seed=2, tiny_outlier=True,
                             budget_runs=True)
        overview = texts["01_fleet_overview.ipynb"]
        self.assertIn("drawn on the edge (beyond the axes):", overview)
        self.assertIn("tiny/adapter-tiny", overview.split("drawn on the edge")[1])
        nights = texts["03_night_over_night.ipynb"]
        self.assertRegex(nights, r"scope fleet, weight energy: 1\.\d{4} of 1\.4 bits per "
                                 r"parameter, lambda \d")
        self.assertIn("mean_kept_width", nights)

    def test_single_night_all_skipped(self):
        texts = self.run_all("only-skipped", n_adapters=6)
        self.assertIn("no runs in the budget mode", texts["03_night_over_night.ipynb"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
