#!/usr/bin/env python3
"""TEST FIXTURE: writes a *synthetic* LoRAQuant stats table for notebook development and tests.

Nothing here is produced by the real job and none of the numbers mean anything; the point is the
exact on-disk layout and schema the Spark job writes (docs/STATS.md):

    OUT/layers/run_date=YYYY-MM-DD/part-00000.parquet    one row per LoRA layer per compression
    OUT/adapters/run_date=YYYY-MM-DD/part-00000.parquet  one row per adapter per run

run_date is a hive partition (a folder name, not a column in the files), as Spark writes it.

The fake fleet exercises the awkward cases: several run dates, every adapter status (compressed,
skipped, incomplete, failed), a night on which every adapter is skipped (no layer rows at all that
night), two runs on one night where the first was killed and its rows were reconciled from the
output sidecars (recorded_from = 'sidecar'), modules without a layer index (layer_index null),
all-zero updates (layer status zero_update), failed adapters (no layer rows, the earlier output
stays current via output_run_id), re-compressions with a changed input fingerprint and changed
codec settings (rho, bits_high, group_size, refine: error drift). The only-skipped scenario has
output_run_ids pointing at an expired partition (no layer rows to join).

With budget_runs (--budget-runs) two more nights follow in the budget mode (issue 18/20), at
BUDGET bits per parameter: one run in scope adapter, then one in scope fleet (weight energy,
with its lambda) and a rerun the same night that skips everything, as the job does. Widths come
from a toy allocation (one multiplier per adapter or for the whole fleet, widths from the
singular values), so the fleet run spends close to, never above, its budget and gives the
adapters with more energy more bits.

Usage:
    make_fake_stats.py OUT [--adapters 24] [--nights 4] [--seed 1] [--budget-runs]
    make_fake_stats.py OUT --scenario only-skipped   # a single night, every adapter skipped
    make_fake_stats.py OUT --scenario empty          # folders exist, no parquet files
"""
import argparse
import datetime as dt
import hashlib
import math
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

def _f(name, type_, nullable):
    return pa.field(name, type_, nullable=nullable)


# Exactly StatsSchema.LAYERS / .ADAPTERS (docs/STATS.md) minus run_date, which is the hive
# partition folder, not a column in the files. tests/test_notebooks.py checks these against the
# column tables of docs/STATS.md.
FLOAT_ARRAY = pa.list_(pa.field("element", pa.float32(), nullable=False))
INT_ARRAY = pa.list_(pa.field("element", pa.int32(), nullable=False))
TIMESTAMP = pa.timestamp("us", tz="UTC")

LAYER_SCHEMA = pa.schema([
    _f("run_id", pa.string(), False),
    _f("adapter", pa.string(), False),
    _f("input_fingerprint", pa.string(), False),
    _f("module", pa.string(), False),
    _f("module_kind", pa.string(), False),
    _f("layer_index", pa.int32(), True),
    _f("m", pa.int32(), False),
    _f("n", pa.int32(), False),
    _f("rank", pa.int32(), False),
    _f("k", pa.int32(), False),
    _f("h", pa.int32(), True),
    _f("rho", pa.float64(), True),
    _f("bits_high", pa.int32(), True),
    _f("group_size", pa.int32(), False),
    _f("split_rule", pa.string(), True),
    _f("refine", pa.string(), True),
    _f("singular_values", FLOAT_ARRAY, True),
    _f("energy_high", pa.float64(), True),
    _f("payload_bits", pa.int64(), False),
    _f("effective_bits", pa.int64(), False),
    _f("params", pa.int64(), False),
    _f("bytes_in", pa.int64(), False),
    _f("bytes_out", pa.int64(), False),
    _f("rel_error", pa.float64(), False),
    _f("error_high", pa.float64(), True),
    _f("error_low", pa.float64(), True),
    _f("seconds", pa.float64(), False),
    _f("status", pa.string(), False),
    _f("message", pa.string(), True),
    # issue 18 (budget mode): null in the paper-mode nights, set by --budget-runs
    _f("mode", pa.string(), True),
    _f("budget_bits", pa.float64(), True),
    _f("budget_scope", pa.string(), True),
    _f("levels", pa.string(), True),
    _f("refit", pa.int32(), True),
    _f("bits_per_component", INT_ARRAY, True),
    _f("components_kept", pa.int32(), True),
    # issue 20 (fleet budget)
    _f("budget_weight", pa.string(), True),
])

ADAPTER_SCHEMA = pa.schema([
    _f("run_id", pa.string(), False),
    _f("adapter", pa.string(), False),
    _f("input_fingerprint", pa.string(), False),
    _f("status", pa.string(), False),
    _f("message", pa.string(), True),
    _f("output_run_id", pa.string(), True),
    _f("rho", pa.float64(), True),
    _f("bits_high", pa.int32(), True),
    _f("group_size", pa.int32(), False),
    _f("split_rule", pa.string(), True),
    _f("refine", pa.string(), True),
    _f("layers", pa.int32(), True),
    _f("params", pa.int64(), True),
    _f("bytes_in", pa.int64(), False),
    _f("bytes_out", pa.int64(), True),
    _f("compression_ratio", pa.float64(), True),
    _f("payload_bits", pa.int64(), True),
    _f("effective_bits", pa.int64(), True),
    _f("payload_bits_per_param", pa.float64(), True),
    _f("effective_bits_per_param", pa.float64(), True),
    _f("weighted_rel_error", pa.float64(), True),
    _f("worst_layer", pa.string(), True),
    _f("worst_rel_error", pa.float64(), True),
    _f("seconds", pa.float64(), False),
    _f("recorded_from", pa.string(), False),
    _f("finished_at", TIMESTAMP, False),
    _f("requests", pa.int64(), True),
    _f("bytes_read", pa.int64(), True),
    # issue 18 (budget mode)
    _f("mode", pa.string(), True),
    _f("budget_bits", pa.float64(), True),
    _f("budget_scope", pa.string(), True),
    _f("levels", pa.string(), True),
    _f("refit", pa.int32(), True),
    # issue 22
    _f("tensor_bits", pa.int64(), True),
    _f("tensor_bits_per_param", pa.float64(), True),
    _f("overhead_bytes", pa.int64(), True),
    _f("fixed_file_bytes", pa.int64(), True),
    # issue 20 (fleet budget)
    _f("budget_weight", pa.string(), True),
    _f("budget_lambda", pa.float64(), True),
])

KINDS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
HIDDEN, FFN = 512, 1376


def shape_of(kind):
    """(m, n) = (out_features, in_features) of a toy decoder module."""
    if kind in ("gate_proj", "up_proj"):
        return FFN, HIDDEN
    if kind == "down_proj":
        return HIDDEN, FFN
    if kind in ("k_proj", "v_proj"):
        return HIDDEN // 4, HIDDEN
    return HIDDEN, HIDDEN


def fingerprint(adapter, version):
    return hashlib.sha256(f"{adapter}:{version}".encode()).hexdigest()[:32]


def compress_layer(rng, run_id, adapter, fp, module, kind, layer_index, rank, settings, decay,
                   zero=False, shape=None):
    m, n = shape or shape_of(kind)
    k = min(rank, m, n)
    params = rank * (m + n)
    bytes_in = params * 2  # fp16 / bf16 inputs
    base = dict(run_id=run_id, adapter=adapter, input_fingerprint=fp, module=module,
                module_kind=kind, layer_index=layer_index, m=m, n=n, rank=rank, k=k,
                params=params, bytes_in=bytes_in, **settings)
    rho, bits_high, group_size = settings["rho"], settings["bits_high"], settings["group_size"]
    if zero:
        # an all-zero update: stored exactly, flagged; no error, no energy
        h = 0
        effective = 6 * 32
        return dict(base, h=h, singular_values=[0.0] * k, energy_high=0.0,
                    payload_bits=(h * bits_high + (k - h)) * (m + n), effective_bits=effective,
                    bytes_out=math.ceil(effective / 8), rel_error=0.0, error_high=0.0,
                    error_low=0.0, seconds=float(rng.uniform(0.001, 0.01)), status="zero_update",
                    message="all-zero update (lora_B is zero): stored exactly")
    s = np.sort(np.exp(-decay * np.arange(k)) * rng.uniform(0.8, 1.2, k))[::-1] * rng.uniform(0.5, 3)
    energy = np.cumsum(s.astype(np.float64) ** 2) / np.sum(s.astype(np.float64) ** 2)
    h = int(min(k, np.searchsorted(energy, rho) + 1))
    energy_high = float(energy[h - 1])
    payload = (h * bits_high + (k - h)) * (m + n)
    groups = h * (math.ceil(m / group_size) + math.ceil(n / group_size))
    groups_low = (k - h) * (math.ceil(m / group_size) + math.ceil(n / group_size))
    effective = payload + groups * 32 + groups_low * 16 + LAYER_HEADER_BITS
    # error model: the high tier is quantised at bits_high, the low tier is 1-bit sign + scale
    error_high = float(np.sqrt(energy_high) * 0.5 ** bits_high * rng.uniform(0.3, 0.6))
    error_low = float(np.sqrt(max(1 - energy_high, 0)) * rng.uniform(0.35, 0.6)) if h < k else 0.0
    if settings["refine"] == "search":
        error_low *= 0.85
    rel_error = float(np.hypot(error_high, error_low))
    return dict(base, h=h, singular_values=s.astype(np.float32).tolist(), energy_high=energy_high,
                payload_bits=payload, effective_bits=effective,
                bytes_out=math.ceil(effective / 8), rel_error=rel_error, error_high=error_high,
                error_low=error_low, seconds=float(params * rng.uniform(2e-8, 6e-8)),
                status="compressed", message=None)


CONFIG_BYTES = 612  # adapter_config.json, in the input listing and copied to the output
LAYER_HEADER_BITS = 64 * 8  # each layer record's meta and tier tensors (LayerStats allowance)


def fixed_file_bytes(n_layers):
    """The output's config and manifest (the stats sidecar, about 1.5 KB per layer)."""
    return CONFIG_BYTES + 900 + n_layers * 1500


def overhead_bytes(n_layers):
    """What an output holds besides its layer records: the config and manifest, and the model
    file's header (about 400 bytes per layer)."""
    return fixed_file_bytes(n_layers) + n_layers * 400


def adapter_row(run_id, adapter, fp, status, message, settings, bytes_in, finished_at,
                output=None, layer_rows=None, seconds=0.0, recorded_from="run"):
    """One adapters row. For compressed rows the totals come from layer_rows; skipped rows copy
    them from `output` (the existing output's compressed row, as read from its sidecar)."""
    totals = dict(layers=None, params=None, bytes_out=None, compression_ratio=None,
                  payload_bits=None, effective_bits=None, payload_bits_per_param=None,
                  effective_bits_per_param=None, weighted_rel_error=None, worst_layer=None,
                  worst_rel_error=None, tensor_bits=None, tensor_bits_per_param=None,
                  overhead_bytes=None, fixed_file_bytes=None)
    output_run_id = None
    if status == "compressed":
        rows = layer_rows
        params = sum(r["params"] for r in rows)
        worst = max(rows, key=lambda r: r["rel_error"])
        tensor_bits = sum(r["bytes_out"] for r in rows) * 8
        bytes_out = tensor_bits // 8 + overhead_bytes(len(rows))
        payload = sum(r["payload_bits"] for r in rows)
        totals = dict(layers=len(rows), params=params, bytes_out=bytes_out,
                      compression_ratio=bytes_in / bytes_out, payload_bits=payload,
                      effective_bits=bytes_out * 8, payload_bits_per_param=payload / params,
                      effective_bits_per_param=bytes_out * 8 / params,
                      weighted_rel_error=sum(r["rel_error"] * r["params"] for r in rows) / params,
                      worst_layer=worst["module"], worst_rel_error=worst["rel_error"],
                      tensor_bits=tensor_bits, tensor_bits_per_param=tensor_bits / params,
                      overhead_bytes=bytes_out - tensor_bits // 8,
                      fixed_file_bytes=fixed_file_bytes(len(rows)))
        output_run_id = run_id
    elif status == "skipped":
        totals = {c: output[c] for c in totals}
        output_run_id = output["run_id"]
    elif output is not None:
        # failed / incomplete: nothing new is written, the earlier output (if any) stays current
        output_run_id = output["run_id"]
    # What reading the adapter cost: config, header, its tensors in 64 MB reads, the change
    # check and the output's files; nothing for adapters the run did not read.
    read = status != "skipped" and recorded_from == "run"
    requests = 3 + -(-bytes_in // (64 << 20)) + 3 if read else None
    return dict(run_id=run_id, adapter=adapter, input_fingerprint=fp, status=status,
                message=message, output_run_id=output_run_id, **settings, bytes_in=bytes_in,
                **totals, seconds=float(seconds), recorded_from=recorded_from,
                finished_at=finished_at, requests=requests,
                bytes_read=bytes_in if read else None)


def write_partition(out, table_name, run_date, rows, schema, part):
    if not rows:
        return
    folder = out / table_name / f"run_date={run_date.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=schema)
    table.validate(full=True)
    pq.write_table(table, folder / f"part-{part:05d}-fake.snappy.parquet", compression="snappy")
    (folder.parent / "_SUCCESS").touch()


def night_settings(night):
    # codec settings of the night; night 3 (if present) tightens rho and turns on the refine
    # search, which moves the error
    if night < 3:
        return dict(rho=0.9, bits_high=3, group_size=128, split_rule="prefix", refine="none")
    return dict(rho=0.95, bits_high=4, group_size=64, split_rule="prefix", refine="search")


#: --budget of the budget-mode nights (budget_runs), bits per parameter
BUDGET = 1.4
BUDGET_GROUP = 128
MAX_WIDTH = 8


def budget_settings(scope):
    """The codec settings of a budget-mode run: the paper-mode columns null, weight in scope
    fleet only (docs/STATS.md)."""
    return dict(rho=None, bits_high=None, group_size=BUDGET_GROUP, split_rule=None, refine=None,
                mode="budget", budget_bits=BUDGET, budget_scope=scope, levels="lloyd-max",
                refit=2, budget_weight="energy" if scope == "fleet" else None)


def budget_layer_bits(m, n, widths):
    """A toy budget-mode layer record: the codes, an fp16 scale per group of each kept
    component, the record header and one width byte per component; whole bytes."""
    kept = sum(1 for w in widths if w)
    bits = (sum(widths) * (m + n) + kept * (math.ceil(m / BUDGET_GROUP)
                                            + math.ceil(n / BUDGET_GROUP)) * 16
            + LAYER_HEADER_BITS + 8 * len(widths))
    return math.ceil(bits / 8) * 8


def widths_at(layer, lam):
    """Each component's width at multiplier lam: wider where its energy per stored value is
    higher (a toy of the rate-distortion choice, monotone in lam)."""
    s, m, n = layer["s"], layer["m"], layer["n"]
    w = np.floor(0.5 * np.log2(np.maximum(s.astype(np.float64) ** 2, 1e-300) / ((m + n) * lam)))
    return np.clip(w, 0, MAX_WIDTH).astype(int).tolist()


def allocate(layers, budget_bits):
    """(widths per layer, lam): the smallest multiplier (most bits) whose layers' bits stay
    within budget_bits, by bisection on log(lam); all widths 0 if even that is over."""
    def total(lam):
        return sum(budget_layer_bits(l["m"], l["n"], widths_at(l, lam)) for l in layers)
    lo, hi = math.log(1e-30), math.log(1e10)
    if total(math.exp(hi)) <= budget_bits:
        for _ in range(60):
            mid = (lo + hi) / 2
            if total(math.exp(mid)) <= budget_bits:
                hi = mid
            else:
                lo = mid
    lam = math.exp(hi)
    return [widths_at(l, lam) for l in layers], lam


def budget_layer_row(rng, run_id, adapter, fp, module, kind, layer_index, rank, settings, layer,
                     widths):
    m, n = layer["m"], layer["n"]
    k = len(widths)
    s2 = layer["s"].astype(np.float64) ** 2
    params = rank * (m + n)
    bits = budget_layer_bits(m, n, widths)
    base = dict(run_id=run_id, adapter=adapter, input_fingerprint=fp, module=module,
                module_kind=kind, layer_index=layer_index, m=m, n=n, rank=rank, k=k,
                params=params, bytes_in=params * 2, **settings, payload_bits=sum(widths) * (m + n),
                effective_bits=bits, bytes_out=bits // 8, bits_per_component=list(widths),
                components_kept=sum(1 for w in widths if w),
                seconds=float(params * rng.uniform(5e-8, 1.5e-7)))
    if layer["zero"]:
        return dict(base, rel_error=0.0, status="zero_update",
                    message="all-zero update (lora_B is zero): stored exactly")
    d = sum(e * (1.0 if w == 0 else 0.1 * 4.0 ** -w) for e, w in zip(s2, widths))
    return dict(base, rel_error=float(math.sqrt(d / s2.sum())), status="compressed",
                message=None)


def budget_nights(rng, out, adapters, first_night, make_run_id):
    """Night first_night: every adapter in scope adapter; the next night: every adapter in scope
    fleet (one multiplier for all), then a rerun that skips them all."""
    energy = {a["name"]: 10 ** rng.uniform(-1, 1) for a in adapters}
    spectra = {}
    for i, a in enumerate(adapters):
        layers = []
        for j, (module, kind, li) in enumerate(a["modules"]):
            m, n = a.get("shape") or shape_of(kind)
            k = min(a["rank"], m, n)
            s = np.sort(np.exp(-a["decay"] * np.arange(k)) * rng.uniform(0.8, 1.2, k))[::-1] \
                * rng.uniform(0.5, 3) * energy[a["name"]]
            zero = i % 7 == 3 and j == 0
            layers.append(dict(m=m, n=n, s=np.zeros(k) if zero else s, zero=zero))
        spectra[a["name"]] = layers

    def write_night(night, rows_of):
        layer_rows, adapter_rows = [], []
        for rows, row in rows_of:
            layer_rows.extend(rows)
            adapter_rows.append(row)
        write_partition(out, "layers", night, layer_rows, LAYER_SCHEMA, 0)
        write_partition(out, "adapters", night, adapter_rows, ADAPTER_SCHEMA, 0)

    def compressed(a, run_id, settings, widths, clock, lam=None):
        fp = fingerprint(a["name"], a["version"])
        rows = [budget_layer_row(rng, run_id, a["name"], fp, module, kind, li, a["rank"],
                                 settings, layer, w)
                for (module, kind, li), layer, w in zip(a["modules"], spectra[a["name"]], widths)]
        row = adapter_row(run_id, a["name"], fp, "compressed", None, settings, a["bytes_in"],
                          clock, layer_rows=rows, seconds=sum(r["seconds"] for r in rows) + 0.2)
        row["budget_lambda"] = lam
        a["output"] = dict(row, settings=settings, fp=fp)
        return rows, row

    def budget_of(names):
        """floor(BUDGET * params) less what the all-zero layers store as they are."""
        params = sum(a["rank"] * (l["m"] + l["n"]) for a in adapters if a["name"] in names
                     for l in spectra[a["name"]])
        fixed = sum(budget_layer_bits(l["m"], l["n"], [0] * len(l["s"]))
                    for a in adapters if a["name"] in names for l in spectra[a["name"]]
                    if l["zero"])
        return math.floor(BUDGET * params) - fixed

    # scope adapter: each adapter its own budget
    night = first_night
    clock = dt.datetime.combine(night, dt.time(2), dt.timezone.utc)
    run_id, settings, results = make_run_id(clock), budget_settings("adapter"), []
    for a in adapters:
        live = [l for l in spectra[a["name"]] if not l["zero"]]
        widths, _ = allocate(live, budget_of({a["name"]}))
        it = iter(widths)
        clock += dt.timedelta(seconds=float(rng.uniform(1, 30)))
        results.append(compressed(a, run_id, settings,
                                  [[0] * len(l["s"]) if l["zero"] else next(it)
                                   for l in spectra[a["name"]]], clock))
    write_night(night, results)

    # scope fleet: one multiplier for every layer of every adapter
    night = first_night + dt.timedelta(days=1)
    clock = dt.datetime.combine(night, dt.time(2), dt.timezone.utc)
    run_id, settings, results = make_run_id(clock), budget_settings("fleet"), []
    live = [l for a in adapters for l in spectra[a["name"]] if not l["zero"]]
    widths, lam = allocate(live, budget_of({a["name"] for a in adapters}))
    it = iter(widths)
    for a in adapters:
        clock += dt.timedelta(seconds=float(rng.uniform(1, 30)))
        results.append(compressed(a, run_id, settings,
                                  [[0] * len(l["s"]) if l["zero"] else next(it)
                                   for l in spectra[a["name"]]], clock, lam))
    # the rerun of the same night: every output matches its input and settings
    clock += dt.timedelta(hours=1)
    rerun = make_run_id(clock)
    skipped = []
    for a in adapters:
        clock += dt.timedelta(seconds=float(rng.uniform(0.1, 1)))
        skipped.append(adapter_row(rerun, a["name"], a["output"]["fp"], "skipped",
                                   "output matches input fingerprint and settings", settings,
                                   a["bytes_in"], clock, output=a["output"]))
    layer_rows = [r for rows, _ in results for r in rows]
    write_partition(out, "layers", night, layer_rows, LAYER_SCHEMA, 0)
    write_partition(out, "adapters", night, [row for _, row in results] + skipped,
                    ADAPTER_SCHEMA, 0)


def generate(out, n_adapters=24, nights=4, seed=1, scenario="fleet", tiny_outlier=False,
             budget_runs=False):
    """tiny_outlier: one more adapter of 2 rank-1 layers of 16 x 16 (64 parameters), whose
    config and manifest make its effective bits per parameter about 700 and whose small layers
    have about 20 tensor bits per parameter, the outlier that flattened the old plots.
    budget_runs: two more nights in the budget mode (scope adapter, then scope fleet and a
    rerun that skips), see the module's docstring."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "layers").mkdir(parents=True)
    (out / "adapters").mkdir(parents=True)
    if scenario == "empty":
        return out
    first = dt.date(2026, 11, 18)
    adapters = []
    for i in range(n_adapters):
        team = ["search", "support", "legal", "code"][i % 4]
        kinds = (KINDS if i % 3 == 0 else ["q_proj", "v_proj"] if i % 3 == 1 else
                 ["q_proj", "k_proj", "v_proj", "o_proj"])
        a = dict(name=f"{team}/adapter-{i:03d}", rank=int(rng.choice([8, 16, 32, 64])),
                 n_layers=int(rng.choice([2, 4, 6])), decay=float(rng.uniform(0.05, 0.6)),
                 version=0, output=None)
        a["modules"] = [(f"base_model.model.model.layers.{li}.self_attn.{kd}"
                         if kd in ("q_proj", "k_proj", "v_proj", "o_proj") else
                         f"base_model.model.model.layers.{li}.mlp.{kd}", kd, li)
                        for li in range(a["n_layers"]) for kd in kinds]
        if i % 5 == 0:  # an lm_head-like module without a layer index
            a["modules"].append(("base_model.model.lm_head", "lm_head", None))
        a["bytes_in"] = sum(a["rank"] * sum(shape_of(kd)) * 2 for _, kd, _ in a["modules"]) \
            + CONFIG_BYTES
        adapters.append(a)
    if tiny_outlier:
        tiny = dict(name="tiny/adapter-tiny", rank=1, n_layers=1, decay=0.3, version=0,
                    output=None, shape=(16, 16),
                    modules=[(f"base_model.model.model.layers.0.self_attn.{kd}", kd, 0)
                             for kd in ("q_proj", "v_proj")])
        tiny["bytes_in"] = 2 * 1 * 32 * 2 + CONFIG_BYTES
        adapters.append(tiny)

    def compress(i, a, run_id, fp, settings, clock, recorded_from="run"):
        rows = [compress_layer(rng, run_id, a["name"], fp, module, kind, li, a["rank"], settings,
                               a["decay"] * (1.6 if kind == "lm_head" else 1.0),
                               zero=(i % 7 == 3 and j == 0), shape=a.get("shape"))
                for j, (module, kind, li) in enumerate(a["modules"])]
        seconds = sum(r["seconds"] for r in rows) + 0.2
        row = adapter_row(run_id, a["name"], fp, "compressed", None, settings, a["bytes_in"],
                          clock, layer_rows=rows, seconds=seconds, recorded_from=recorded_from)
        a["output"] = dict(row, settings=settings, fp=fp)
        return rows, row

    def make_run_id(start):
        return f"{start.strftime('%Y%m%dT%H%M%SZ')}-{int(rng.integers(0, 16**8)):08x}"

    if scenario == "only-skipped":
        # one night whose partition survives; the outputs were written by an earlier run whose
        # partitions have been expired (rm'd), so no layer rows join to output_run_id
        nights = 1
        old = dt.datetime.combine(first - dt.timedelta(days=30), dt.time(2), dt.timezone.utc)
        old_run = make_run_id(old)
        for i, a in enumerate(adapters):
            compress(i, a, old_run, fingerprint(a["name"], 0), night_settings(0), old)

    for night in range(nights):
        run_date = first + dt.timedelta(days=night)
        settings = night_settings(night)
        start = dt.datetime.combine(run_date, dt.time(2), dt.timezone.utc)
        layer_rows, adapter_rows = [], []
        part = 0
        clock = start

        if night == 1 and scenario == "fleet":
            # a run killed after writing some outputs but before writing its stats: the next run
            # (same night) reconciles their rows from the sidecars (recorded_from = 'sidecar')
            killed_run = make_run_id(start)
            start = start + dt.timedelta(hours=1)
            clock = start
            for i, a in enumerate(adapters):
                if i % 6 == 1:
                    a["version"] += 1
                    clock += dt.timedelta(seconds=float(rng.uniform(5, 60)))
                    rows, row = compress(i, a, killed_run, fingerprint(a["name"], a["version"]),
                                         settings, clock - dt.timedelta(hours=1),
                                         recorded_from="sidecar")
                    layer_rows.extend(rows)
                    adapter_rows.append(row)
        run_id = make_run_id(start)

        for i, a in enumerate(adapters):
            clock += dt.timedelta(seconds=float(rng.uniform(1, 30)))
            if scenario == "only-skipped":
                todo = False
            elif night == 0:
                todo = True
            elif night == 2:
                todo = False  # a quiet night: everything unchanged, everything skipped
            elif night == 3:
                todo = i % 2 == 0  # settings changed: half the fleet is recompressed
            else:
                todo = rng.random() < 0.3 and i % 6 != 1
            if night in (1, 3) and todo and rng.random() < 0.5:
                a["version"] += 1  # the adapter changed upstream
            fp = fingerprint(a["name"], a["version"])
            out_ = a["output"]
            if out_ is None or out_["fp"] != fp:
                todo = True  # never compressed (or failed so far), or changed: retried
            if not todo:
                why = ("output matches input fingerprint and settings"
                       if out_["settings"] == settings else
                       "output matches input fingerprint; settings changed but recompression "
                       "deferred")
                adapter_rows.append(adapter_row(run_id, a["name"], fp, "skipped", why, settings,
                                                a["bytes_in"], clock, output=out_))
                continue
            if i % 11 == 7 and night in (0, 3):
                adapter_rows.append(adapter_row(
                    run_id, a["name"], fp, "incomplete",
                    "adapter_model.safetensors missing (upload in progress?)", settings,
                    a["bytes_in"] - CONFIG_BYTES, clock, output=out_, seconds=0.0))
                continue
            if (i % 9 == 4 and night in (0, 1)) or (i == 2 and night == 3):
                module = a["modules"][len(a["modules"]) // 2][0]
                adapter_rows.append(adapter_row(
                    run_id, a["name"], fp, "failed",
                    f"adapter_model.safetensors: {module}.lora_A.weight: non-finite value (NaN) "
                    f"at index {int(rng.integers(0, 4096))}", settings, a["bytes_in"], clock,
                    output=out_, seconds=float(rng.uniform(0.05, 0.5))))
                continue
            rows, row = compress(i, a, run_id, fp, settings, clock)
            layer_rows.extend(rows)
            adapter_rows.append(row)
        write_partition(out, "layers", run_date, layer_rows, LAYER_SCHEMA, part)
        write_partition(out, "adapters", run_date, adapter_rows, ADAPTER_SCHEMA, part)
    if budget_runs and scenario == "fleet":
        budget_nights(rng, out, adapters, first + dt.timedelta(days=nights), make_run_id)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="stats folder to (re)create")
    p.add_argument("--adapters", type=int, default=24)
    p.add_argument("--nights", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scenario", choices=["fleet", "only-skipped", "empty"], default="fleet")
    p.add_argument("--tiny-outlier", action="store_true",
                   help="add a 64-parameter adapter (about 700 effective bits per parameter)")
    p.add_argument("--budget-runs", action="store_true",
                   help=f"two more nights in the budget mode at {BUDGET} bits per parameter: "
                        "scope adapter, then scope fleet and a rerun that skips")
    args = p.parse_args()
    out = generate(args.out, args.adapters, args.nights, args.seed, args.scenario,
                   args.tiny_outlier, args.budget_runs)
    print(f"fake stats ({args.scenario}) written to {out}")


if __name__ == "__main__":
    main()
