"""The Python reader against the golden files of format version 1 (decoded by the Java decoder)."""

import os
import tempfile
import unittest

import numpy as np

import loraquant
from loraquant import floats
from support import GOLDEN_NAMES, MODEL, golden, read_bytes, tensors


class GoldenFilesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_decompress_f32_gives_the_golden_files_byte_for_byte(self):
        for name in GOLDEN_NAMES:
            with self.subTest(name):
                out = os.path.join(self.tmp.name, name)
                loraquant.decompress(golden(name), out, dtype="f32")
                for f in ("adapter_model.safetensors", "adapter_config.json"):
                    self.assertEqual(read_bytes(os.path.join(out, f)),
                                     read_bytes(os.path.join(golden(name, "decompressed"), f)), f)
                # The marker Java's decompress writes too, so `decompress --overwrite` knows the folder.
                self.assertEqual(sorted(os.listdir(out)), [".loraquant_decompressed", "adapter_config.json",
                                                           "adapter_model.safetensors"])
                self.assertEqual(read_bytes(os.path.join(out, ".loraquant_decompressed")),
                                 b"written by loraquant decompress; a later decompress --overwrite may"
                                 b" replace this folder\n")
                self.assertEqual(sorted(os.listdir(self.tmp.name)), sorted(GOLDEN_NAMES[:GOLDEN_NAMES.index(name) + 1]))

    def test_load_gives_exactly_the_values_the_java_decoder_gives(self):
        for name in GOLDEN_NAMES:
            with self.subTest(name):
                _, expected = tensors(os.path.join(golden(name, "decompressed"), "adapter_model.safetensors"))
                loaded = loraquant.load(golden(name), dtype="f32")
                self.assertEqual(sorted(loaded), sorted(expected))
                for key, (dtype, shape, data) in expected.items():
                    if dtype == "F32":
                        self.assertEqual(loaded[key].dtype, np.float32, key)
                        self.assertEqual(loaded[key].shape, shape, key)
                        # bits, not values: -0.0 and +0.0 differ in the file
                        self.assertEqual(loaded[key].astype("<f4").tobytes(), data, key)
                    else:
                        self.assertEqual(loaded[key].astype("<f2").tobytes(), data, key)

    def test_the_model_file_reads_as_its_folder(self):
        folder = golden("linear-b2-g8")
        by_file = loraquant.load(os.path.join(folder, MODEL))
        by_folder = loraquant.load(folder + "/")
        self.assertEqual(sorted(by_file), sorted(by_folder))
        for key in by_file:
            self.assertEqual(by_file[key].tobytes(), by_folder[key].tobytes())

    def test_same_dtype_rounds_each_factor_to_its_source_dtype_as_decompress_writes_it(self):
        folder = golden("linear-b2-g8")  # F32, F16 and BF16 sources
        out = os.path.join(self.tmp.name, "same")
        loraquant.decompress(folder, out)
        _, written = tensors(os.path.join(out, "adapter_model.safetensors"))
        self.assertEqual(sorted({d for d, _, _ in written.values()}), ["BF16", "F16", "F32"])
        exact = loraquant.load(folder, dtype="f32")
        same = loraquant.load(folder)
        for key, (dtype, shape, data) in written.items():
            if dtype == "F16":
                self.assertEqual(floats.to_f16_bits(exact[key]).astype("<u2").tobytes(), data, key)
                self.assertEqual(same[key].dtype, np.float16)
                self.assertEqual(same[key].astype("<f2").tobytes(), data, key)
            elif dtype == "BF16":
                self.assertEqual(same[key].dtype, np.float32)  # numpy has no bfloat16: exact float32 values
                top = (same[key].astype("<f4").view("<u4") >> 16).astype("<u2")
                self.assertEqual(top.tobytes(), data, key)
                self.assertFalse((same[key].view("<u4") & 0xFFFF).any(), key)
            else:
                self.assertEqual(same[key].astype("<f4").tobytes(), data, key)

    def test_torch_tensors_carry_the_written_dtype_and_bits(self):
        try:
            import torch
        except ImportError:
            self.skipTest("torch is not installed (optional)")
        folder = golden("linear-b2-g8")
        out = os.path.join(self.tmp.name, "bf16")
        loraquant.decompress(folder, out, dtype="bf16")
        _, written = tensors(os.path.join(out, "adapter_model.safetensors"))
        loaded = loraquant.load(folder, framework="pt", dtype="bf16")
        for key, (dtype, shape, data) in written.items():
            self.assertEqual(loaded[key].dtype, torch.bfloat16, key)
            self.assertEqual(tuple(loaded[key].shape), shape, key)
            self.assertEqual(loaded[key].view(torch.int16).numpy().astype("<i2").tobytes(), data, key)

    def test_pass_through_tensors_come_as_stored(self):
        folder = golden("conv-passthrough-b3-g16-search")
        _, stored = tensors(os.path.join(folder, MODEL))
        loaded = loraquant.load(folder)
        self.assertEqual(loaded["classifier.bias"].dtype, np.float16)
        self.assertEqual(loaded["classifier.bias"].tobytes(), stored["classifier.bias"][2])
        self.assertEqual(loaded["classifier.weight"].shape, (2, 17))
        self.assertEqual(loaded["unet.down.0.conv.lora_A.weight"].shape, (4, 3, 3, 3))
        self.assertEqual(loaded["unet.down.0.conv.lora_B.weight"].shape, (6, 4, 1, 1))

    def test_unknown_dtype_is_refused_before_anything_is_written(self):
        out = os.path.join(self.tmp.name, "x")
        with self.assertRaisesRegex(ValueError, "^unknown dtype 'f8'; choose same, f32, f16 or bf16$"):
            loraquant.decompress(golden("one-bit-g16"), out, dtype="f8")
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
