"""``inspect`` of a compressed adapter: the same lines (or JSON document) as ``bin/loraquant inspect``.

Text: one line per item, ``kind [subject] name=value ...``::

    compressed format=loraquant format_version=1
    settings mode=paper rho=0.8 bits_high=2 split_rule=prefix refinement=none group_size=8 fingerprint=...
    input fingerprint=null
    layer MODULE m=.. n=.. rank=.. k=.. h=.. widths=[2,2,1,1] params=.. bytes=.. effective_bits=.. bits_per_param=.. rel_error=..
    pass_through NAME shape=[2,17] dtype=F32 bytes=136
    totals layers=.. params=.. bytes=.. effective_bits=.. bits_per_param=.. pass_through_tensors=.. pass_through_bytes=.. file_bytes=..

A format version 2 (budget mode) folder shows ``settings mode=budget budget=.. scope=.. levels=.. refit=..
group_size=.. fingerprint=..``, per layer ``kept``, ``levels`` and ``width_histogram`` (components at
each width 0..8) instead of ``h``, and in the totals ``components``, ``kept`` and ``width_histogram``.

JSON: one document ``{"format", "format_version", "settings", "input_fingerprint", "layers": [..],
"pass_through": [..], "totals"}`` (docs/FORMAT.md, "inspect --json").
"""

from . import jackson
from .adapter import BUDGET_FORMAT_VERSION, FORMAT_NAME, MODE_BUDGET

# The settings the v1 config block stores, in the order they are shown, and their output names: the
# config keys the Java declarations give (CodecSetting.configKey; InspectionKeysTest compares them).
SETTINGS = (("rho", "rho"), ("bits_high", "bits_high"), ("split_rule", "split_rule"),
            ("refinement", "refinement"), ("group_size", "group_size"), ("settings_fingerprint", "fingerprint"))
# The same for the v2 (budget mode) config block.
BUDGET_SETTINGS = (("budget", "budget"), ("scope", "scope"), ("levels", "levels"), ("refit", "refit"),
                   ("group_size", "group_size"), ("settings_fingerprint", "fingerprint"))
WIDTHS = 9  # widths 0 (dropped) .. 8: the length of a width histogram


def report(compressed):
    """The inspect report as ordered dicts: what the JSON form prints."""
    rel_errors = _manifest_rel_errors(compressed.manifest)
    budget_mode = compressed.format_version == BUDGET_FORMAT_VERSION
    # Version 1 has only the paper's two tiers; version 2 is the budget mode's per-component widths.
    settings = {"mode": MODE_BUDGET if budget_mode else "paper"}
    for key, name in BUDGET_SETTINGS if budget_mode else SETTINGS:
        settings[name] = compressed.codec.get(key)
    layers = []
    total_params = total_bytes = components = kept = 0
    total_histogram = [0] * WIDTHS
    for l in compressed.layers:
        c = l.layer
        params = c.rank * (c.m + c.n)
        total_params += params
        total_bytes += c.stored_bytes
        widths = c.widths()
        entry = {"module": l.module, "m": c.m, "n": c.n, "rank": c.rank, "k": len(widths)}
        if budget_mode:
            histogram = [widths.count(w) for w in range(WIDTHS)]
            components += len(widths)
            kept += len(widths) - histogram[0]
            total_histogram = [t + h for t, h in zip(total_histogram, histogram)]
            entry.update({"kept": len(widths) - histogram[0], "levels": c.levels(), "widths": widths,
                          "width_histogram": histogram})
        else:
            entry.update({"h": c.h, "widths": widths})
        entry.update({"params": params, "bytes": c.stored_bytes, "effective_bits": 8 * c.stored_bytes,
                      "bits_per_param": _per(8 * c.stored_bytes, params), "rel_error": rel_errors.get(l.module)})
        layers.append(entry)
    pass_through = [{"tensor": info.name, "shape": list(info.shape), "dtype": info.dtype,
                     "bytes": info.byte_length} for info, _ in compressed.pass_through]
    totals = {"layers": len(layers)}
    if budget_mode:
        totals.update({"components": components, "kept": kept, "width_histogram": total_histogram})
    totals.update({"params": total_params, "bytes": total_bytes, "effective_bits": 8 * total_bytes,
                   "bits_per_param": _per(8 * total_bytes, total_params), "pass_through_tensors": len(pass_through),
                   "pass_through_bytes": sum(p["bytes"] for p in pass_through),
                   "file_bytes": compressed.model.file_length})
    return {"format": FORMAT_NAME, "format_version": compressed.format_version, "settings": settings,
            "input_fingerprint": compressed.manifest.get("input_fingerprint"), "layers": layers,
            "pass_through": pass_through, "totals": totals}


def _per(bits, params):
    return 0.0 if params == 0 else bits / params


def _manifest_rel_errors(manifest):
    out = {}
    layers = manifest.get("layers")
    for entry in layers if isinstance(layers, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("module"), str):
            e = entry.get("rel_error")
            out[entry["module"]] = float(e) if isinstance(e, (int, float)) and not isinstance(e, bool) else None
    return out


def text_lines(r):
    lines = [_line("compressed", None, {"format": r["format"], "format_version": r["format_version"]}),
             _line("settings", None, r["settings"]),
             _line("input", None, {"fingerprint": r["input_fingerprint"]})]
    for layer in r["layers"]:
        fields = dict(layer)
        lines.append(_line("layer", fields.pop("module"), fields))
    for p in r["pass_through"]:
        fields = dict(p)
        lines.append(_line("pass_through", fields.pop("tensor"), fields))
    lines.append(_line("totals", None, r["totals"]))
    return lines


def json_text(r):
    return jackson.compact(r)


def _line(kind, subject, fields):
    parts = [kind] if subject is None else [kind, subject]
    parts += [f"{name}={_text(value)}" for name, value in fields.items()]
    return " ".join(parts)


def _text(value):
    """A field's text: strings bare, lists as ``[1,2]``, numbers and null as Java prints them."""
    if isinstance(value, str):
        return value
    return jackson.compact(value)
