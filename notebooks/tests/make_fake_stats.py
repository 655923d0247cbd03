#!/usr/bin/env python3
"""TEST FIXTURE: writes a *synthetic* LoRAQuant stats table for notebook development and tests.

Nothing here is produced by the real job and none of the numbers mean anything; the point is the
exact on-disk layout and schema the Spark job writes (docs/STATS.md):

    OUT/layers/run_date=YYYY-MM-DD/part-00000.parquet    one row per LoRA layer per compression
    OUT/adapters/run_date=YYYY-MM-DD/part-00000.parquet  one row per adapter per run

run_date is a hive partition (a folder name, not a column in the files), as Spark writes it.

The fake fleet exercises the awkward cases: several run dates, every adapter status (compressed,
skipped, incomplete, failed), a night on which every adapter is skipped (no layer rows at all that
night), modules without a layer index (layer_index null), failed layer rows with messages and
null metrics, re-compressions with a changed input fingerprint and changed codec settings (error
drift).

Usage:
    make_fake_stats.py OUT [--adapters 24] [--nights 4] [--seed 1]
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

LAYER_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("adapter", pa.string()),
    ("input_fingerprint", pa.string()),
    ("module", pa.string()),
    ("module_kind", pa.string()),
    ("layer_index", pa.int32()),
    ("m", pa.int32()),
    ("n", pa.int32()),
    ("rank", pa.int32()),
    ("k", pa.int32()),
    ("h", pa.int32()),
    ("rho", pa.float64()),
    ("bits_high", pa.int32()),
    ("group_size", pa.int32()),
    ("split_rule", pa.string()),
    ("singular_values", pa.list_(pa.float32())),
    ("energy_high", pa.float64()),
    ("payload_bits", pa.int64()),
    ("effective_bits", pa.int64()),
    ("params", pa.int64()),
    ("bytes_in", pa.int64()),
    ("bytes_out", pa.int64()),
    ("rel_error", pa.float64()),
    ("error_high", pa.float64()),
    ("error_low", pa.float64()),
    ("seconds", pa.float64()),
    ("status", pa.string()),
    ("message", pa.string()),
])

ADAPTER_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("adapter", pa.string()),
    ("input_fingerprint", pa.string()),
    ("status", pa.string()),
    ("message", pa.string()),
    ("layers", pa.int32()),
    ("params", pa.int64()),
    ("payload_bits", pa.int64()),
    ("effective_bits", pa.int64()),
    ("bytes_in", pa.int64()),
    ("bytes_out", pa.int64()),
    ("compression_ratio", pa.float64()),
    ("weighted_rel_error", pa.float64()),
    ("worst_module", pa.string()),
    ("worst_rel_error", pa.float64()),
    ("seconds", pa.float64()),
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


def compress_layer(rng, run_id, adapter, fp, module, kind, layer_index, rank, rho, bits_high,
                   group_size, decay, fail):
    m, n = shape_of(kind)
    k = min(rank, m, n)
    params = rank * (m + n)
    bytes_in = params * 2  # fp16 / bf16 inputs
    base = dict(run_id=run_id, adapter=adapter, input_fingerprint=fp, module=module,
                module_kind=kind, layer_index=layer_index, m=m, n=n, rank=rank, k=k, rho=rho,
                bits_high=bits_high, group_size=group_size, split_rule="energy", params=params,
                bytes_in=bytes_in)
    if fail:
        return dict(base, h=None, singular_values=None, energy_high=None, payload_bits=None,
                    effective_bits=None, bytes_out=None, rel_error=None, error_high=None,
                    error_low=None, seconds=float(rng.uniform(0.001, 0.01)), status="failed",
                    message=f"{module}.lora_A.weight: non-finite value (NaN) at index "
                            f"{int(rng.integers(0, params))}")
    s = np.sort(np.exp(-decay * np.arange(k)) * rng.uniform(0.8, 1.2, k))[::-1] * rng.uniform(0.5, 3)
    energy = np.cumsum(s.astype(np.float64) ** 2) / np.sum(s.astype(np.float64) ** 2)
    h = int(min(k, np.searchsorted(energy, rho) + 1))
    energy_high = float(energy[h - 1])
    payload = h * (m + n) * bits_high + (k - h) * (m + n) * 1
    groups = h * (math.ceil(m / group_size) + math.ceil(n / group_size))
    groups_low = (k - h) * (math.ceil(m / group_size) + math.ceil(n / group_size))
    effective = payload + groups * 32 + groups_low * 16 + 6 * 32
    bytes_out = effective // 8 + 64
    # error model: the high tier is quantised at bits_high, the low tier is 1-bit sign + scale
    error_high = float(np.sqrt(energy_high) * 0.5 ** bits_high * rng.uniform(0.3, 0.6))
    error_low = float(np.sqrt(max(1 - energy_high, 0)) * rng.uniform(0.35, 0.6))
    rel_error = float(np.hypot(error_high, error_low))
    return dict(base, h=h, singular_values=s.astype(np.float32).tolist(), energy_high=energy_high,
                payload_bits=payload, effective_bits=effective, bytes_out=bytes_out,
                rel_error=rel_error, error_high=error_high, error_low=error_low,
                seconds=float(params * rng.uniform(2e-8, 6e-8)), status="compressed", message=None)


def adapter_row(run_id, adapter, fp, status, message, layer_rows, seconds):
    ok = [r for r in layer_rows if r["rel_error"] is not None]
    row = dict(run_id=run_id, adapter=adapter, input_fingerprint=fp, status=status,
               message=message, layers=None, params=None, payload_bits=None, effective_bits=None,
               bytes_in=None, bytes_out=None, compression_ratio=None, weighted_rel_error=None,
               worst_module=None, worst_rel_error=None, seconds=seconds)
    if status == "compressed" and ok:
        params = sum(r["params"] for r in ok)
        worst = max(ok, key=lambda r: r["rel_error"])
        bytes_in = sum(r["bytes_in"] for r in ok)
        bytes_out = sum(r["bytes_out"] for r in ok)
        row.update(layers=len(ok), params=params,
                   payload_bits=sum(r["payload_bits"] for r in ok),
                   effective_bits=sum(r["effective_bits"] for r in ok),
                   bytes_in=bytes_in, bytes_out=bytes_out, compression_ratio=bytes_in / bytes_out,
                   weighted_rel_error=sum(r["rel_error"] * r["params"] for r in ok) / params,
                   worst_module=worst["module"], worst_rel_error=worst["rel_error"])
    return row


def write_partition(out, table_name, run_date, rows, schema):
    if not rows:
        return
    folder = out / table_name / f"run_date={run_date.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, folder / "part-00000-fake.snappy.parquet", compression="snappy")
    (folder.parent / "_SUCCESS").touch()


def generate(out, n_adapters=24, nights=4, seed=1, scenario="fleet"):
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
        adapters.append(dict(
            name=f"{team}/adapter-{i:03d}",
            rank=int(rng.choice([8, 16, 32, 64])),
            n_layers=int(rng.choice([2, 4, 6])),
            kinds=KINDS if i % 3 == 0 else ["q_proj", "v_proj"] if i % 3 == 1 else
            ["q_proj", "k_proj", "v_proj", "o_proj"],
            head=(i % 5 == 0),  # an lm_head-like module without a layer index
            decay=float(rng.uniform(0.05, 0.6)),
            version=0,
        ))
    if scenario == "only-skipped":
        nights = 1
    for night in range(nights):
        run_date = first + dt.timedelta(days=night)
        run_id = f"{run_date.strftime('%Y%m%d')}T020000Z-{rng.integers(0, 16**6):06x}"
        # codec settings of the night; night 3 (if present) tightens rho, which moves the error
        rho, bits_high, group_size = (0.9, 3, 128) if night < 3 else (0.95, 4, 64)
        layer_rows, adapter_rows = [], []
        for i, a in enumerate(adapters):
            fp_old = fingerprint(a["name"], a["version"])
            if scenario == "only-skipped":
                adapter_rows.append(adapter_row(run_id, a["name"], fp_old, "skipped",
                                                "unchanged since last compression", [], 0.01))
                continue
            if night == 0:
                todo = True
            elif night == 2:
                todo = False  # a quiet night: everything unchanged, everything skipped
            elif night == 3:
                todo = i % 2 == 0  # codec change: half the fleet is recompressed
            else:
                todo = rng.random() < 0.3
            if night in (1, 3) and todo and rng.random() < 0.5:
                a["version"] += 1  # the adapter changed upstream
            fp = fingerprint(a["name"], a["version"])
            if not todo:
                adapter_rows.append(adapter_row(run_id, a["name"], fp, "skipped",
                                                "unchanged since last compression", [], 0.01))
                continue
            if i % 11 == 7 and night in (0, 3):
                adapter_rows.append(adapter_row(
                    run_id, a["name"], fp, "incomplete",
                    "adapter_model.safetensors missing (upload in progress?)", [], 0.02))
                continue
            fail_adapter = (i % 9 == 4 and night in (0, 1)) or (i == 2 and night == 3)
            rows = []
            modules = [(f"base_model.model.model.layers.{li}.self_attn.{kd}"
                        if kd.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) else
                        f"base_model.model.model.layers.{li}.mlp.{kd}", kd, li)
                       for li in range(a["n_layers"]) for kd in a["kinds"]]
            if a["head"]:
                modules.append(("base_model.model.lm_head", "lm_head", None))
            for j, (module, kind, li) in enumerate(modules):
                fail = fail_adapter and j == len(modules) // 2
                rows.append(compress_layer(rng, run_id, a["name"], fp, module, kind, li,
                                           a["rank"], rho, bits_high, group_size,
                                           a["decay"] * (1.6 if kind == "lm_head" else 1.0), fail))
                if fail:
                    break  # the job stops at the first bad layer
            layer_rows.extend(rows)
            seconds = sum(r["seconds"] for r in rows)
            if fail_adapter:
                bad = rows[-1]
                adapter_rows.append(adapter_row(run_id, a["name"], fp, "failed", bad["message"],
                                                rows, seconds))
            else:
                adapter_rows.append(adapter_row(run_id, a["name"], fp, "compressed", None, rows,
                                                seconds))
        write_partition(out, "layers", run_date, layer_rows, LAYER_SCHEMA)
        write_partition(out, "adapters", run_date, adapter_rows, ADAPTER_SCHEMA)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="stats folder to (re)create")
    p.add_argument("--adapters", type=int, default=24)
    p.add_argument("--nights", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scenario", choices=["fleet", "only-skipped", "empty"], default="fleet")
    args = p.parse_args()
    out = generate(args.out, args.adapters, args.nights, args.seed, args.scenario)
    print(f"fake stats ({args.scenario}) written to {out}")


if __name__ == "__main__":
    main()
