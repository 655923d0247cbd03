"""Shared helpers for the loraquant-spark analyst notebooks.

- stats_location(): where the stats table is: $LORAQUANT_STATS, or ../demo/stats (relative to this
  folder, where bin/demo writes it). s3a:// and s3n:// URLs (as Spark spells them) become s3://.
- connect(): an in-memory DuckDB connection with the views
    layers            every layer row of every run (run_date from the hive partition, as DATE)
    adapters          every adapter row of every run
    current_adapters  per adapter, its latest row (by run_id, then finished_at), whatever its
                      status: the adapter's state (docs/STATS.md, "current rows")
    current_layers    the layer rows of the outputs that exist now (layers.run_id =
                      current_adapters.output_run_id)
    current_outputs   per adapter with an output now, the latest compressed/skipped row of that
                      output (its totals), plus latest_status / latest_run_id
    output_tensor_bits  per (adapter, run_id) of the layer rows: sum(effective_bits), the
                      adapters table's tensor_bits for rows written before that column existed
                      (join on output_run_id)
  Missing folders or a table without any parquet file yet give empty views with the documented
  columns, so notebooks run on a fresh or partial stats table. For s3:// locations (only then)
  the httpfs and aws extensions are installed and loaded and an S3 secret is created from the
  AWS credential chain (environment, ~/.aws, instance role); see notebooks/README.md.
- show(fig, name): display a figure inline and, if $LORAQUANT_FIGURES is set, save it there as PNG.

Outside a Jupyter kernel with no display (scripts, CI) matplotlib is switched to Agg.
"""
import io
import os
import sys
from pathlib import Path

import duckdb

NOTEBOOK_DIR = Path(__file__).resolve().parent
DEFAULT_STATS = NOTEBOOK_DIR.parent / "demo" / "stats"

# Every column of the two tables, in order, as docs/STATS.md and StatsSchema define them (DuckDB
# types). run_date is the hive partition (a folder, not a column in the files).
LAYER_COLUMNS = [
    ("run_id", "VARCHAR"), ("run_date", "DATE"), ("adapter", "VARCHAR"),
    ("input_fingerprint", "VARCHAR"), ("module", "VARCHAR"), ("module_kind", "VARCHAR"),
    ("layer_index", "INTEGER"), ("m", "INTEGER"), ("n", "INTEGER"), ("rank", "INTEGER"),
    ("k", "INTEGER"), ("h", "INTEGER"), ("rho", "DOUBLE"), ("bits_high", "INTEGER"),
    ("group_size", "INTEGER"), ("split_rule", "VARCHAR"), ("refine", "VARCHAR"),
    ("singular_values", "FLOAT[]"), ("energy_high", "DOUBLE"), ("payload_bits", "BIGINT"),
    ("effective_bits", "BIGINT"), ("params", "BIGINT"), ("bytes_in", "BIGINT"),
    ("bytes_out", "BIGINT"), ("rel_error", "DOUBLE"), ("error_high", "DOUBLE"),
    ("error_low", "DOUBLE"), ("seconds", "DOUBLE"), ("status", "VARCHAR"), ("message", "VARCHAR"),
    # issue 18 (budget mode)
    ("mode", "VARCHAR"), ("budget_bits", "DOUBLE"), ("budget_scope", "VARCHAR"),
    ("levels", "VARCHAR"), ("refit", "INTEGER"), ("bits_per_component", "INTEGER[]"),
    ("components_kept", "INTEGER"),
    # issue 20 (fleet budget)
    ("budget_weight", "VARCHAR"),
]
ADAPTER_COLUMNS = [
    ("run_id", "VARCHAR"), ("run_date", "DATE"), ("adapter", "VARCHAR"),
    ("input_fingerprint", "VARCHAR"), ("status", "VARCHAR"), ("message", "VARCHAR"),
    ("output_run_id", "VARCHAR"), ("rho", "DOUBLE"), ("bits_high", "INTEGER"),
    ("group_size", "INTEGER"), ("split_rule", "VARCHAR"), ("refine", "VARCHAR"),
    ("layers", "INTEGER"), ("params", "BIGINT"), ("bytes_in", "BIGINT"), ("bytes_out", "BIGINT"),
    ("compression_ratio", "DOUBLE"), ("payload_bits", "BIGINT"), ("effective_bits", "BIGINT"),
    ("payload_bits_per_param", "DOUBLE"), ("effective_bits_per_param", "DOUBLE"),
    ("weighted_rel_error", "DOUBLE"), ("worst_layer", "VARCHAR"), ("worst_rel_error", "DOUBLE"),
    ("seconds", "DOUBLE"), ("recorded_from", "VARCHAR"), ("finished_at", "TIMESTAMPTZ"),
    ("requests", "BIGINT"), ("bytes_read", "BIGINT"),
    # issue 18 (budget mode)
    ("mode", "VARCHAR"), ("budget_bits", "DOUBLE"), ("budget_scope", "VARCHAR"),
    ("levels", "VARCHAR"), ("refit", "INTEGER"),
    # issue 22
    ("tensor_bits", "BIGINT"), ("tensor_bits_per_param", "DOUBLE"), ("overhead_bytes", "BIGINT"),
    ("fixed_file_bytes", "BIGINT"),
    # issue 20 (fleet budget)
    ("budget_weight", "VARCHAR"), ("budget_lambda", "DOUBLE"),
]
LAYER_STATUSES = ["compressed", "zero_update"]
ADAPTER_STATUSES = ["compressed", "skipped", "incomplete", "failed"]


def _in_kernel():
    try:
        from IPython import get_ipython
        ip = get_ipython()
        return ip is not None and "IPKernelApp" in ip.config
    except Exception:
        return False


def _headless_matplotlib():
    """Agg when nothing could show a window: no Jupyter kernel, no DISPLAY, no MPLBACKEND set."""
    if os.environ.get("MPLBACKEND") or _in_kernel():
        return
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") \
            and not os.environ.get("WAYLAND_DISPLAY"):
        import matplotlib
        matplotlib.use("Agg")


_headless_matplotlib()


def is_remote(location):
    return str(location).startswith("s3://")


def stats_location():
    """The stats table's root: $LORAQUANT_STATS or ../demo/stats; relative paths are resolved
    against this notebooks folder (the working directory of a notebook kernel)."""
    raw = os.environ.get("LORAQUANT_STATS", "").strip()
    if not raw:
        return str(DEFAULT_STATS)
    for prefix in ("s3a://", "s3n://"):
        if raw.startswith(prefix):
            raw = "s3://" + raw[len(prefix):]
    if is_remote(raw):
        return raw.rstrip("/")
    if raw.startswith("file://"):
        raw = raw[len("file://"):]
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = NOTEBOOK_DIR / path
    return str(path.resolve())


def _sql_str(s):
    return "'" + str(s).replace("'", "''") + "'"


def configure_s3(con):
    """httpfs + an S3 secret from the AWS credential chain. Optional environment:
    AWS_REGION / AWS_DEFAULT_REGION, and LORAQUANT_S3_ENDPOINT (e.g. http://localhost:9000 for
    MinIO / S3Proxy: path-style URLs, TLS only for https://)."""
    try:
        con.execute("INSTALL httpfs; LOAD httpfs;")
    except duckdb.Error as e:
        raise RuntimeError(
            "reading s3:// needs DuckDB's httpfs extension, which could not be installed "
            "(no network to extensions.duckdb.org?). Install it once where there is network: "
            "python -c \"import duckdb; duckdb.sql('INSTALL httpfs; INSTALL aws')\" "
            f"(it is cached in ~/.duckdb/extensions), or copy the stats locally. Cause: {e}"
        ) from e
    opts = ["TYPE s3"]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        opts.append(f"REGION {_sql_str(region)}")
    endpoint = os.environ.get("LORAQUANT_S3_ENDPOINT", "").strip()
    if endpoint:
        use_ssl = not endpoint.startswith("http://")
        host = endpoint.split("://", 1)[-1].rstrip("/")
        opts += [f"ENDPOINT {_sql_str(host)}", "URL_STYLE 'path'",
                 f"USE_SSL {'true' if use_ssl else 'false'}"]
    try:
        con.execute("INSTALL aws; LOAD aws;")
        con.execute("CREATE OR REPLACE SECRET loraquant_s3 ("
                    + ", ".join(opts + ["PROVIDER credential_chain"]) + ")")
    except duckdb.Error as e:
        # No credentials found (or no aws extension): fall back to explicit keys from the
        # environment, else anonymous access (public buckets).
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if key and secret:
            opts += [f"KEY_ID {_sql_str(key)}", f"SECRET {_sql_str(secret)}"]
            if os.environ.get("AWS_SESSION_TOKEN"):
                opts.append(f"SESSION_TOKEN {_sql_str(os.environ['AWS_SESSION_TOKEN'])}")
        else:
            print(f"warning: no AWS credentials from the credential chain ({e}); "
                  "trying anonymous access", file=sys.stderr)
        con.execute("CREATE OR REPLACE SECRET loraquant_s3 (" + ", ".join(opts) + ")")


def _create_table_view(con, view, folder, columns):
    pattern = f"{folder}/run_date=*/*.parquet"
    n_files = con.execute("SELECT count(*) FROM glob(?)", [pattern]).fetchone()[0]
    if n_files == 0:
        cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in columns)
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {cols} WHERE false")
        return 0
    source = (f"read_parquet({_sql_str(pattern)}, hive_partitioning = true, "
              f"union_by_name = true)")
    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    select = [f"CAST({c} AS {t}) AS {c}" if c in present else f"CAST(NULL AS {t}) AS {c}"
              for c, t in columns]
    known = {c for c, _ in columns}
    select += [f'"{c}"' for c in sorted(present - known) if c != "filename"]
    con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {', '.join(select)} FROM {source}")
    return n_files


def connect(location=None, verbose=True):
    """A DuckDB connection with the views layers, adapters, current_adapters, current_layers,
    current_outputs."""
    location = location or stats_location()
    con = duckdb.connect()
    if is_remote(location):
        configure_s3(con)
    elif not Path(location).is_dir():
        raise FileNotFoundError(
            f"no stats table at {location}: run bin/demo (twice, to see skipped adapters) or set "
            "LORAQUANT_STATS to the job's --stats location")
    n_layer_files = _create_table_view(con, "layers", f"{location}/layers", LAYER_COLUMNS)
    n_adapter_files = _create_table_view(con, "adapters", f"{location}/adapters",
                                         ADAPTER_COLUMNS)
    # docs/STATS.md, "Querying the current state": the latest adapters row of an adapter tells
    # its state; its output_run_id selects the layer rows of the output that exists now.
    con.execute("""
        CREATE OR REPLACE VIEW current_adapters AS
        SELECT * FROM adapters
        QUALIFY row_number() OVER (PARTITION BY adapter ORDER BY run_id DESC, finished_at DESC) = 1
    """)
    con.execute("""
        CREATE OR REPLACE VIEW current_layers AS
        SELECT l.* FROM layers l
        JOIN current_adapters c ON l.adapter = c.adapter AND l.run_id = c.output_run_id
    """)
    # The outputs that exist now, one row each with their totals: the latest 'compressed' or
    # 'skipped' row describing the current output_run_id (skipped rows carry the output's totals
    # from its sidecar, so this works after the compressing run's partition has been expired).
    # latest_status / latest_run_id: the adapter's latest row (e.g. 'failed' after a failed
    # recompression, whose earlier output stays current).
    con.execute("""
        CREATE OR REPLACE VIEW current_outputs AS
        SELECT a.*, c.status AS latest_status, c.run_id AS latest_run_id
        FROM adapters a
        JOIN current_adapters c ON a.adapter = c.adapter AND a.output_run_id = c.output_run_id
        WHERE a.status IN ('compressed', 'skipped')
        QUALIFY row_number() OVER (PARTITION BY a.adapter
                                   ORDER BY a.run_id DESC, a.finished_at DESC) = 1
    """)
    # tensor_bits of rows written before the column existed (docs/STATS.md): the same sum
    con.execute("""
        CREATE OR REPLACE VIEW output_tensor_bits AS
        SELECT adapter, run_id, sum(effective_bits) AS tensor_bits FROM layers GROUP BY ALL
    """)
    if verbose:
        print(f"stats location: {location}")
        print(f"  parquet files: {n_layer_files} layer, {n_adapter_files} adapter")
    return con


def q(con, sql, params=None):
    """Run SQL, return a pandas DataFrame."""
    return con.execute(sql, params or []).df()


def run_dates(con):
    """Sorted list of run dates (datetime.date) present in the adapters table."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT run_date FROM adapters WHERE run_date IS NOT NULL ORDER BY 1").fetchall()]


def show(fig, name):
    """Show a figure in the notebook and save it to $LORAQUANT_FIGURES/<name>.png if set."""
    import matplotlib
    import matplotlib.pyplot as plt
    fig.tight_layout()
    out = os.environ.get("LORAQUANT_FIGURES")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(out) / f"{name}.png", dpi=100)
    backend = matplotlib.get_backend().lower()
    if "inline" in backend:
        plt.show()
        return
    if _in_kernel():
        # a non-inline backend (e.g. MPLBACKEND=Agg) inside a kernel: embed a PNG ourselves
        from IPython.display import Image, display
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        display(Image(buf.getvalue()))
    elif backend != "agg":
        plt.show()
    plt.close(fig)


def human_bytes(n):
    if n is None or n != n:
        return "n/a"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.1f} {unit}"
        n /= 1024
