"""Seeded mutations of the golden folders: each must decode to finite values or be refused with a
one-line InvalidAdapterError, never another exception (the Python side of CompressedReaderFuzzTest)."""

import json
import os
import random
import shutil
import struct
import tempfile
import unittest

import numpy as np

import loraquant
from budget_fixture import LABELS, LLOYD_MAX, UNIFORM, specs, write_folder
from support import GOLDEN_NAMES, MODEL, golden, read_bytes, write_bytes

CASES = 400


def mutate(rng, blob):
    """One random change to a model file: byte flips, truncation, extension, or a header edit."""
    kind = rng.randrange(5)
    data = bytearray(blob)
    if kind == 0:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del data[rng.randrange(len(data)):]
    elif kind == 2:
        data += bytes(rng.randrange(1, 64))
    else:
        (n,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8:8 + n])
        name = rng.choice([k for k in header if k != "__metadata__"])
        entry = header[name]
        if kind == 3:
            field = rng.choice(["shape", "data_offsets"])
            values = entry[field]
            if values:
                i = rng.randrange(len(values))
                values[i] = rng.choice([0, 1, values[i] + 1, max(values[i] - 1, 0), 2 ** 31, -1, 2.5])
        else:
            entry["dtype"] = rng.choice(["U8", "I32", "F16", "F32", "BF16", "I64", "X"])
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        data = bytearray(struct.pack("<Q", len(text)) + text + blob[8 + n:])
    return bytes(data)


class FuzzTest(unittest.TestCase):
    def test_mutated_files_decode_to_finite_values_or_are_refused_in_one_line(self):
        rng = random.Random(21)
        refused = decoded = 0
        with tempfile.TemporaryDirectory() as tmp:
            for case in range(CASES):
                name = GOLDEN_NAMES[case % len(GOLDEN_NAMES)]
                folder = os.path.join(tmp, f"case{case}")
                shutil.copytree(golden(name), folder)
                model = os.path.join(folder, MODEL)
                write_bytes(model, mutate(rng, read_bytes(model)))
                try:
                    tensors = loraquant.load(folder, dtype="f32")
                except loraquant.InvalidAdapterError as e:
                    self.assertNotIn("\n", str(e), f"case {case}")
                    refused += 1
                else:
                    for key, value in tensors.items():
                        if ".lora_" in key:
                            self.assertTrue(np.isfinite(value).all(), f"case {case}: {key}")
                    decoded += 1
                shutil.rmtree(folder)
        self.assertGreater(refused, CASES // 4)
        self.assertGreater(decoded, 0)

    def test_mutated_version_two_files_decode_to_finite_values_or_are_refused_in_one_line(self):
        """The hand-built budget mode folders (budget_fixture): a changed data byte is caught by a
        layer's CRC-32C, anything else by the same checks as in version 1."""
        rng = random.Random(22)
        refused = decoded = crc = 0
        with tempfile.TemporaryDirectory() as tmp:
            sources = [os.path.join(tmp, LABELS[f]) for f in (UNIFORM, LLOYD_MAX)]
            for source, family in zip(sources, (UNIFORM, LLOYD_MAX)):
                write_folder(source, specs(family), family)
            for case in range(CASES // 2):
                folder = os.path.join(tmp, f"case{case}")
                shutil.copytree(sources[case % 2], folder)
                model = os.path.join(folder, MODEL)
                write_bytes(model, mutate(rng, read_bytes(model)))
                try:
                    tensors = loraquant.load(folder, dtype="f32")
                except loraquant.InvalidAdapterError as e:
                    self.assertNotIn("\n", str(e), f"case {case}")
                    refused += 1
                    crc += "CRC-32C mismatch" in str(e)
                else:
                    for key, value in tensors.items():
                        self.assertTrue(np.isfinite(value).all(), f"case {case}: {key}")
                    decoded += 1
                shutil.rmtree(folder)
        self.assertGreater(refused, CASES // 8)
        self.assertGreater(crc, 0)
        self.assertGreater(decoded, 0)


if __name__ == "__main__":
    unittest.main()
