"""Format version 2 (budget mode) folders built by hand from docs/FORMAT.md, "Version 2", with the values
they must decode to computed one value at a time: an encoder and a decoder independent of the package's
vectorised ones, to check those against the specification (the Java writer is checked against them by
PythonReaderTest)."""

import json
import os
import re
import struct
from dataclasses import dataclass

import numpy as np

from loraquant.safetensors_writer import SafetensorsWriter
from support import ROOT, write_bytes

UNIFORM, LLOYD_MAX = 1, 2
LABELS = {UNIFORM: "uniform", LLOYD_MAX: "lloyd-max"}


def format_md_levels():
    """P_w for w = 2..8 as docs/FORMAT.md lists them (its appendix of Lloyd-Max levels), as binary32."""
    with open(os.path.join(ROOT, "docs", "FORMAT.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("## Appendix: the Lloyd-Max levels")
    end = text.find("\n## ", start + 1)
    section = text[start:] if end < 0 else text[start:end]
    out = {}
    for w, numbers in re.findall(r"^- w = (\d): ((?:[\d.]+,?\s*)+)", section, flags=re.M):
        out[int(w)] = [np.float32(x) for x in re.findall(r"[\d.]+", numbers)]
    return out


LEVELS = format_md_levels()


def crc32c_reference(data):
    """CRC-32C bit by bit (reflected polynomial 0x82F63B78, initial value and final XOR all ones)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


@dataclass
class LayerSpec:
    module: str
    m: int
    n: int
    rank: int
    group_size: int
    widths: list
    seed: int


def _value(family, w, q, s, z):
    """One decoded value, in float32 as FORMAT.md says."""
    if w == 1:
        return np.float32(1.0 if q == 1 else -1.0) * s
    if family == UNIFORM:
        return np.float32(q - z) * s
    h = 1 << (w - 1)
    level = -LEVELS[w][h - 1 - q] if q < h else LEVELS[w][q - h]
    return np.float32(level) * s


def _side(rng, family, widths, length, group_size):
    """Random codes, scales and zero points for the kept vectors of one factor; returns the three
    tensors' bytes and the decoded vectors [k, length] (zeros for a dropped component)."""
    groups = -(-length // group_size)
    bits, scales, zeros = [], [], []
    decoded = np.zeros((len(widths), length), dtype=np.float32)
    for i, w in enumerate(widths):
        if w == 0:
            continue
        codes = rng.integers(0, 1 << w, length)
        scale_values = np.abs(rng.normal(0, 0.05, groups)).astype(np.float16)
        if i == 0:
            scale_values[0] = 0  # an all-zero group
        points = rng.integers(0, 256, groups) if family == UNIFORM and w >= 2 else None
        scales += [int(v) for v in scale_values.view(np.uint16)]
        if points is not None:
            zeros += [int(v) for v in points]
        for j, q in enumerate(codes):
            bits += [(int(q) >> t) & 1 for t in range(w)]
            g = j // group_size
            decoded[i, j] = _value(family, w, int(q), np.float32(scale_values[g]),
                                   None if points is None else int(points[g]))
    packed = bytearray((len(bits) + 7) // 8)
    for t, bit in enumerate(bits):
        packed[t // 8] |= bit << (t % 8)
    return bytes(packed), struct.pack(f"<{len(scales)}H", *scales), bytes(zeros), decoded


def layer_tensors(spec, family):
    """The layer's tensors in FORMAT.md's order, CRC last, and the expected B^ [m, rank] and A^ [rank, n]."""
    rng = np.random.default_rng(spec.seed)
    k = len(spec.widths)
    tensors = [("meta2", "I32", [6], struct.pack("<6i", spec.m, spec.n, spec.rank, k, family, spec.group_size)),
               ("widths", "U8", [k], bytes(spec.widths))]
    b_hat = np.zeros((spec.m, spec.rank), dtype=np.float32)
    a_hat = np.zeros((spec.rank, spec.n), dtype=np.float32)
    for side, length in (("b", spec.m), ("a", spec.n)):
        codes, scales, zeros, decoded = _side(rng, family, spec.widths, length, spec.group_size)
        tensors.append((side + ".codes", "U8", [len(codes)], codes))
        tensors.append((side + ".scales", "F16", [len(scales) // 2], scales))
        if zeros:
            tensors.append((side + ".zeros", "U8", [len(zeros)], zeros))
        if side == "b":
            b_hat[:, :k] = decoded.T
        else:
            a_hat[:k, :] = decoded
    crc = crc32c_reference(b"".join(t[3] for t in tensors))
    tensors.append(("crc", "I32", [1], struct.pack("<I", crc)))
    return [(f"{spec.module}.lq.{part}", dtype, shape, data) for part, dtype, shape, data in tensors], b_hat, a_hat


def write_folder(folder, specs, family):
    """A complete version 2 folder; returns {PEFT tensor name: expected float32 values}."""
    os.makedirs(folder)
    w = SafetensorsWriter()
    modules, expected = {}, {}
    for spec in specs:
        tensors, b_hat, a_hat = layer_tensors(spec, family)
        for name, dtype, shape, data in tensors:
            w.add(name, dtype, shape, data)
        a_name, b_name = spec.module + ".lora_A.weight", spec.module + ".lora_B.weight"
        modules[spec.module] = {"lora_A": a_name, "dtype_A": "F32", "shape_A": [spec.rank, spec.n],
                                "lora_B": b_name, "dtype_B": "F32", "shape_B": [spec.m, spec.rank]}
        expected[a_name], expected[b_name] = a_hat, b_hat
    fingerprint = f"loraquant-budget/1;budget=1.5;scope=adapter;levels={LABELS[family]};refit=2;group=4"
    w.metadata("format", "loraquant")
    w.metadata("format_version", "2")
    w.metadata("loraquant.modules", json.dumps(modules))
    w.metadata("loraquant.source_metadata", json.dumps({"format": "pt"}))
    write_bytes(os.path.join(folder, "loraquant_model.safetensors"), w.to_bytes())
    config = {"peft_type": "LORA", "r": max(s.rank for s in specs), "lora_alpha": 8,
              "loraquant": {"quant_method": "loraquant", "format_version": 2, "model_file": "loraquant_model.safetensors",
                            "mode": "budget", "budget": 1.5, "scope": "adapter", "levels": LABELS[family],
                            "refit": 2, "group_size": 4, "settings_fingerprint": fingerprint}}
    write_bytes(os.path.join(folder, "adapter_config.json"), json.dumps(config, indent=2).encode())
    manifest = {"format": "loraquant", "format_version": 2, "settings_fingerprint": fingerprint,
                "input_fingerprint": None, "run": {}, "layers": []}
    write_bytes(os.path.join(folder, "loraquant_manifest.json"), json.dumps(manifest).encode())
    return expected


Q = "base_model.model.layers.0.self_attn.q_proj"
V = "base_model.model.layers.0.self_attn.v_proj"
K = "base_model.model.layers.1.self_attn.k_proj"


def specs(family):
    """Widths 0..8 (uniform and lloyd-max each see every width), tail groups (13, 21, 9 are not multiples
    of 4), dropped components in the middle and at the end, k = 6 < rank 8 (zero-padded), and a layer
    whose vectors (16, 24) fill whole bytes at every width, so its components start on a byte."""
    first = [8, 7, 6, 5, 4, 3, 2, 1, 0, 2] if family == UNIFORM else [1, 2, 3, 4, 5, 6, 7, 8, 0, 0]
    aligned = [5, 3, 6, 7, 0, 8, 1, 2] if family == UNIFORM else [2, 4, 0, 3, 5, 6, 7, 8]
    return [LayerSpec(Q, 13, 21, 10, 4, first, 11 + family),
            LayerSpec(V, 6, 9, 8, 4, [3, 0, 1, 0, 2, 0], 21 + family),
            LayerSpec(K, 16, 24, 8, 4, aligned, 31 + family)]
