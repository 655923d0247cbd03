"""Format version 2 (budget mode): decoding as docs/FORMAT.md says, bit for bit, for both level families;
the CRC-32C and the other checks of a version 2 layer; decompression to a PEFT adapter at the original rank."""

import io
import json
import os
import random
import re
import shutil
import struct
import tempfile
import unittest

import numpy as np

import loraquant
from loraquant import crc32c, lloyd_max
from loraquant.__main__ import main
from budget_fixture import K, LEVELS, LLOYD_MAX, Q, UNIFORM, V, crc32c_reference, specs, write_folder
from support import GOLDEN, MODEL, read_bytes, rewrite, tensors, write_bytes


class Crc32cTest(unittest.TestCase):
    def test_check_value_and_the_bitwise_definition_at_every_length_class(self):
        self.assertEqual(crc32c.crc32c(b"123456789"), 0xE3069283)
        rng = random.Random(7)
        for n in (0, 1, 7, 4095, 4096, 4097, 9999, 70001):
            data = bytes(rng.randrange(256) for _ in range(n))
            self.assertEqual(crc32c.crc32c(data), crc32c_reference(data), n)


class LloydMaxTableTest(unittest.TestCase):
    def test_the_package_holds_the_levels_format_md_lists(self):
        self.assertEqual(sorted(LEVELS), list(range(2, 9)))
        for w in range(2, 9):
            p = np.array(LEVELS[w], dtype=np.float32)
            self.assertEqual(len(p), 1 << (w - 1))
            expected = np.concatenate([-p[::-1], p])
            self.assertEqual(lloyd_max.LEVELS[w].tobytes(), expected.tobytes(), w)


class BudgetFolderTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name
        self.folder = os.path.join(self.tmp, "uniform")
        self.expected = {UNIFORM: write_folder(self.folder, specs(UNIFORM), UNIFORM),
                         LLOYD_MAX: write_folder(os.path.join(self.tmp, "lloyd-max"), specs(LLOYD_MAX), LLOYD_MAX)}
        self.model = os.path.join(self.folder, MODEL)
        self.out = os.path.join(self.tmp, "out")

    def folder_of(self, family):
        return self.folder if family == UNIFORM else os.path.join(self.tmp, "lloyd-max")

    def test_each_value_decodes_as_format_md_says_for_both_level_families(self):
        for family in (UNIFORM, LLOYD_MAX):
            with self.subTest(family):
                loaded = loraquant.load(self.folder_of(family), dtype="f32")
                self.assertEqual(sorted(loaded), sorted(self.expected[family]))
                for name, values in self.expected[family].items():
                    self.assertEqual(loaded[name].shape, values.shape, name)
                    # bits, not values: +0.0 and -0.0 differ in the file
                    self.assertEqual(loaded[name].tobytes(), values.tobytes(), name)

    def test_dropped_components_and_those_beyond_k_are_zero_rows_and_columns_at_the_original_rank(self):
        loaded = loraquant.load(self.folder, dtype="f32")
        b, a = loaded[V + ".lora_B.weight"], loaded[V + ".lora_A.weight"]
        self.assertEqual((b.shape, a.shape), ((6, 8), (8, 9)))
        for i in (1, 3, 5, 6, 7):  # widths [3, 0, 1, 0, 2, 0], k = 6 < rank 8
            self.assertFalse(b[:, i].any() or a[i, :].any(), i)
        for i in (0, 2, 4):
            self.assertTrue(b[:, i].any() and a[i, :].any(), i)

    def test_decompress_writes_a_peft_adapter_at_the_original_rank(self):
        loraquant.decompress(self.folder, self.out, dtype="f32")
        _, written = tensors(os.path.join(self.out, "adapter_model.safetensors"))
        for name, values in self.expected[UNIFORM].items():
            dtype, shape, data = written[name]
            self.assertEqual((dtype, shape, data), ("F32", values.shape, values.astype("<f4").tobytes()), name)
        config = json.loads(read_bytes(os.path.join(self.out, "adapter_config.json")))
        self.assertEqual(config, {"peft_type": "LORA", "r": 10, "lora_alpha": 8})

    def test_inspect_lists_mode_budget_levels_and_widths(self):
        out = io.StringIO()
        self.assertEqual(main(["inspect", os.path.join(self.tmp, "lloyd-max")], out=out, err=io.StringIO()), 0)
        lines = out.getvalue().splitlines()
        self.assertEqual(lines[:2], [
            "compressed format=loraquant format_version=2",
            "settings mode=budget budget=1.5 scope=adapter levels=lloyd-max refit=2 group_size=4"
            " fingerprint=loraquant-budget/1;budget=1.5;scope=adapter;levels=lloyd-max;refit=2;group=4"])
        self.assertRegex(lines[3], "^layer " + re.escape(Q) + r" m=13 n=21 rank=10 k=10 kept=8 levels=lloyd-max"
                         r" widths=\[1,2,3,4,5,6,7,8,0,0\] width_histogram=\[2,1,1,1,1,1,1,1,1\] params=340 bytes=\d+ ")
        self.assertRegex(lines[4], "^layer " + re.escape(V) + r" m=6 n=9 rank=8 k=6 kept=3 levels=lloyd-max"
                         r" widths=\[3,0,1,0,2,0\] width_histogram=\[3,1,1,1,0,0,0,0,0\] params=120 ")
        self.assertRegex(lines[5], "^layer " + re.escape(K) + r" m=16 n=24 rank=8 k=8 kept=7 levels=lloyd-max"
                         r" widths=\[2,4,0,3,5,6,7,8\] width_histogram=\[1,0,1,1,1,1,1,1,1\] params=320 ")
        self.assertRegex(lines[6], r"^totals layers=3 components=24 kept=18 width_histogram=\[6,2,3,3,2,2,2,2,2\]"
                         r" params=780 ")

    # -- refusals ---------------------------------------------------------------------------------

    def refused(self, expected):
        """Reading the folder fails with one line matching ``expected``; decompress writes nothing."""
        with self.assertRaises(loraquant.InvalidAdapterError) as caught:
            loraquant.load(self.folder)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        self.assertRegex(message, expected)
        err = io.StringIO()
        self.assertEqual(main(["decompress", self.folder, self.out], out=io.StringIO(), err=err), 1)
        self.assertEqual(err.getvalue(), "loraquant decompress: " + message + "\n")
        self.assertFalse(os.path.exists(self.out))

    def flip(self, tensor, offset=0, bit=0x10):
        metadata, entries = tensors(self.model)
        data = bytearray(entries[tensor][2])
        data[offset] ^= bit
        entries[tensor][2] = bytes(data)
        rewrite(self.model, metadata, entries)

    def test_a_flipped_code_scale_or_zero_point_byte_is_refused_by_the_crc_naming_the_layer(self):
        for part in ("b.codes", "a.codes", "b.scales", "a.zeros"):
            with self.subTest(part):
                shutil.rmtree(self.folder)
                write_folder(self.folder, specs(UNIFORM), UNIFORM)
                self.flip(f"{Q}.lq.{part}", offset=1, bit=0x01)
                self.refused("^" + re.escape(f"{self.model}: tensor '{Q}.lq.crc': CRC-32C mismatch (stored ")
                             + "[0-9a-f]{8}, computed [0-9a-f]{8}" + re.escape("): the layer's bytes are damaged") + "$")

    def edit_layer(self, module, change):
        """Rewrites one layer's tensors with ``change(parts)`` applied (parts: part -> [dtype, shape, data])
        and a CRC that matches the changed bytes, so that the check under test is the one that fires."""
        metadata, entries = tensors(self.model)
        prefix = module + ".lq."
        parts = {name[len(prefix):]: entries.pop(name) for name in list(entries) if name.startswith(prefix)}
        change(parts)
        crc = crc32c_reference(b"".join(parts[p][2] for p in ("meta2", "widths", "b.codes", "b.scales", "b.zeros",
                                                                "a.codes", "a.scales", "a.zeros") if p in parts))
        parts["crc"] = ["I32", (1,), struct.pack("<I", crc)]
        entries.update({prefix + p: v for p, v in parts.items()})
        rewrite(self.model, metadata, entries)

    def test_a_width_above_8_is_refused(self):
        def change(parts):
            parts["widths"][2] = bytes([9]) + parts["widths"][2][1:]
        self.edit_layer(Q, change)
        self.refused("^" + re.escape(f"{self.model}: tensor '{Q}.lq.widths': component 0 has width 9, expected 0..8")
                     + "$")

    def test_an_unknown_level_family_is_refused(self):
        def change(parts):
            meta = list(struct.unpack("<6i", parts["meta2"][2]))
            meta[4] = 3
            parts["meta2"][2] = struct.pack("<6i", *meta)
        self.edit_layer(Q, change)
        self.refused("^" + re.escape(f"{self.model}: tensor '{Q}.lq.meta2': unknown level family id 3; known:"
                                     " 1 (uniform), 2 (lloyd-max)") + "$")

    def test_more_components_than_the_layer_can_have_is_refused(self):
        def change(parts):
            parts["meta2"][2] = struct.pack("<6i", 6, 9, 8, 7, 1, 4)
        self.edit_layer(V, change)
        self.refused("^" + re.escape(f"{self.model}: tensor '{V}.lq.meta2': inconsistent layer meta [6, 9, 8, 7,"
                                     " 1, 4] (expected m, n, rank, k, levels, group size with 0 <= k <= min(rank,"
                                     " m, n) and group size >= 1)") + "$")

    def test_codes_of_the_wrong_size_are_refused(self):
        def change(parts):
            parts["a.codes"] = ["U8", (len(parts["a.codes"][2]) - 1,), parts["a.codes"][2][:-1]]
        self.edit_layer(Q, change)
        size = (2 + 8 + 7 + 6 + 5 + 4 + 3 + 2 + 1) * 21 // 8 + 1  # ceil(n W / 8) with W = 38, n = 21
        self.refused("^" + re.escape(f"{self.model}: tensor '{Q}.lq.a.codes': shape [{size - 1}] ({size - 1} bytes),"
                                     f" expected [{size}] for the layer's widths") + "$")

    def test_a_non_finite_scale_behind_a_matching_crc_is_refused(self):
        for part, bits, shown in (("b.scales", 0x7E00, "NaN"), ("a.scales", 0x7C00, "Infinity"),
                                  ("b.scales", 0xFC00, "-Infinity")):
            with self.subTest(part=part, bits=bits):
                shutil.rmtree(self.folder)
                write_folder(self.folder, specs(UNIFORM), UNIFORM)

                def change(parts):
                    data = parts[part][2]
                    parts[part][2] = data[:2] + struct.pack("<H", bits) + data[4:]
                self.edit_layer(Q, change)
                self.refused("^" + re.escape(f"{self.model}: tensor '{Q}.lq.{part}': scale 1 is {shown} (binary16"
                                             f" bits 0x{bits:x}); scales must be finite") + "$")

    def test_dropped_components_decoding_to_zeros_out_of_proportion_to_the_file_are_refused(self):
        # 4096 dropped components of 2^15 values: 2^27 zeros (512 MiB as F32) from a file of a few KB.
        m = n = rank = 1 << 14
        k = 4096

        def change(parts):
            parts.clear()
            parts.update({"meta2": ["I32", (6,), struct.pack("<6i", m, n, rank, k, UNIFORM, 4)],
                          "widths": ["U8", (k,), bytes(k)], "b.codes": ["U8", (0,), b""],
                          "b.scales": ["F16", (0,), b""], "a.codes": ["U8", (0,), b""], "a.scales": ["F16", (0,), b""]})
        self.edit_layer(V, change)
        size = os.path.getsize(self.model)
        allowed = (1 << 24) + 256 * size
        self.refused("^" + re.escape(f"{self.model}: tensor '{V}.lq.widths': 4096 dropped components (width 0)"
                                     " bring the zeros decoded without stored data to ")
                     # 2^27, plus those of layer Q's own dropped components
                     + r"1342\d{5}" + re.escape(f" values, more than the {allowed} a reader accepts from this"
                                                 f" {size}-byte file (16777216 + 256 per byte)") + "$")

    def test_zero_points_in_a_layer_without_them_are_refused(self):
        self.folder = os.path.join(self.tmp, "lloyd-max")
        self.model = os.path.join(self.folder, MODEL)
        self.edit_layer(V, lambda parts: parts.update({"b.zeros": ["U8", (2,), b"\x00\x01"]}))
        self.refused("^" + re.escape(f"{self.model}: tensor '{V}.lq.b.zeros': present, but no component of this"
                                     " layer has zero points") + "$")

    def test_files_naming_different_versions_are_refused(self):
        config_path = os.path.join(self.folder, "adapter_config.json")
        config = json.loads(read_bytes(config_path))
        config["loraquant"]["format_version"] = 1
        write_bytes(config_path, json.dumps(config).encode())
        manifest = os.path.join(self.folder, "loraquant_manifest.json")
        self.refused("^" + re.escape(f'{config_path} "loraquant": format version 1, but {manifest} says version 2:'
                                     " the folder mixes two writers") + "$")

    def test_a_version_two_folder_without_mode_budget_is_refused(self):
        config_path = os.path.join(self.folder, "adapter_config.json")
        config = json.loads(read_bytes(config_path))
        del config["loraquant"]["mode"]
        write_bytes(config_path, json.dumps(config).encode())
        self.refused("^" + re.escape(f"""{config_path} "loraquant": 'mode' is null in a format version 2 folder"""
                                     """ (version 2 has "mode": "budget", version 1 no such key)""") + "$")


class GoldenVersionTwoTest(unittest.TestCase):
    """The golden folders of format version 2 (lib/src/test/resources/golden/v2, written by the Java
    budget mode), decoded to exactly the values of their decompressed/ folders."""

    def test_decompress_f32_gives_the_golden_files_byte_for_byte(self):
        root = os.path.join(os.path.dirname(GOLDEN), "v2")
        names = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n, "compressed"))) \
            if os.path.isdir(root) else []
        if not names:
            self.skipTest(f"no golden version 2 folders in {root} yet")
        with tempfile.TemporaryDirectory() as tmp:
            for name in names:
                with self.subTest(name):
                    out = os.path.join(tmp, name)
                    loraquant.decompress(os.path.join(root, name, "compressed"), out, dtype="f32")
                    expected = os.path.join(root, name, "decompressed", "adapter_model.safetensors")
                    self.assertEqual(read_bytes(os.path.join(out, "adapter_model.safetensors")), read_bytes(expected))


if __name__ == "__main__":
    unittest.main()
