"""Corrupt compressed adapters are refused with one line naming the file, the tensor and the problem."""

import io
import json
import os
import tempfile
import unittest

import numpy as np

import loraquant
from loraquant.__main__ import main
from support import MODEL, copy_golden, raw_parts, read_bytes, rewrite, tensors, write_bytes, write_raw

Q = "base_model.model.layers.0.self_attn.q_proj"  # linear-b2-g8: tiers t0 (2 bits) and t1 (1 bit)


class CorruptFilesTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.folder = copy_golden("linear-b2-g8", tmp.name)
        self.model = os.path.join(self.folder, MODEL)
        self.manifest = os.path.join(self.folder, "loraquant_manifest.json")
        self.config = os.path.join(self.folder, "adapter_config.json")
        self.out = os.path.join(tmp.name, "out")

    def refused(self, expected, error=loraquant.InvalidAdapterError):
        """Reading the folder fails with exactly ``expected``; the CLI prints it as one line."""
        with self.assertRaises(error) as caught:
            loraquant.load(self.folder)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        if hasattr(expected, "match"):
            self.assertRegex(message, expected)
        else:
            self.assertEqual(message, expected)
        err = io.StringIO()
        self.assertEqual(main(["decompress", self.folder, self.out], out=io.StringIO(), err=err), 1)
        self.assertEqual(err.getvalue(), "loraquant decompress: " + message + "\n")
        self.assertFalse(os.path.exists(self.out))
        return message

    def edit(self, change):
        metadata, entries = tensors(self.model)
        change(metadata, entries)
        rewrite(self.model, metadata, entries)

    def test_truncated_in_the_header(self):
        write_bytes(self.model, read_bytes(self.model)[:5000])
        self.refused(f"{self.model}: file is 5000 bytes but declares a header of 5288 bytes after the 8-byte"
                     " length (truncated?)", loraquant.IncompleteAdapterError)

    def test_truncated_in_the_data_area(self):
        blob = read_bytes(self.model)
        write_bytes(self.model, blob[:-10])
        # the first tensor in header (name) order that reaches past the end, as the Java reader says
        self.refused(f"{self.model}: tensor 'base_model.model.layers.1.self_attn.k_proj.lq.t1.info': data_offsets"
                     " [285, 301] reach past the end of the data area (291 bytes; file truncated?)",
                     loraquant.IncompleteAdapterError)

    def test_shorter_than_the_length_prefix(self):
        write_bytes(self.model, b"\x10\x00")
        self.refused(f"{self.model}: file is 2 bytes, shorter than the 8-byte header length that starts a"
                     " safetensors file (truncated?)")

    def test_absurd_header_length(self):
        write_bytes(self.model, b"\xff" * 16)
        self.refused(f"{self.model}: header length 18446744073709551615 exceeds the limit of 100000000 bytes;"
                     " not a safetensors file?")

    def test_offsets_that_do_not_match_dtype_and_shape(self):
        header, data = raw_parts(self.model)
        doc = json.loads(header)
        doc[f"{Q}.lq.meta"]["shape"] = [5]
        write_raw(self.model, json.dumps(doc, separators=(",", ":")), data)
        self.refused(f"{self.model}: tensor '{Q}.lq.meta': data_offsets [0, 24] span 24 bytes but I32[5]"
                     " needs 20")

    def test_overlapping_tensors(self):
        header, data = raw_parts(self.model)
        doc = json.loads(header)
        doc[f"{Q}.lq.t0.a.codes"]["data_offsets"] = doc[f"{Q}.lq.meta"]["data_offsets"][:1] + [
            doc[f"{Q}.lq.meta"]["data_offsets"][0] + 7]
        write_raw(self.model, json.dumps(doc, separators=(",", ":")), data)
        self.refused(re_("overlap tensor"))

    def test_header_that_is_not_json(self):
        header, data = raw_parts(self.model)
        write_raw(self.model, header.replace('"dtype":"I32"', '"dtype":NaN', 1), data)
        self.refused(re_(f"^{re_escape(self.model)}: header is not valid JSON: "))

    def test_duplicate_header_key(self):
        header, data = raw_parts(self.model)
        write_raw(self.model, header.replace('"dtype":"I32"', '"dtype":"I32","dtype":"I32"', 1), data)
        self.refused(re_("header is not valid JSON: duplicate field 'dtype'"))

    def test_layer_tensor_of_the_wrong_size(self):
        def grow(metadata, entries):
            dtype, shape, data = entries[f"{Q}.lq.t0.b.codes"]
            entries[f"{Q}.lq.t0.b.codes"] = [dtype, (shape[0] + 1,), data + b"\0"]
        self.edit(grow)
        self.refused(f"{self.model}: tensor '{Q}.lq.t0.b.codes': 11 bytes, expected 10 for the layer's shape")

    def test_layer_tensor_of_the_wrong_shape(self):
        def reshape(metadata, entries):
            dtype, shape, data = entries[f"{Q}.lq.t1.b.scales"]
            entries[f"{Q}.lq.t1.b.scales"] = [dtype, (shape[1], shape[0]), data]
        self.edit(reshape)
        self.refused(f"{self.model}: tensor '{Q}.lq.t1.b.scales': shape [3, 2], expected [2, 3]")

    def test_layer_tensor_of_the_wrong_dtype(self):
        def retype(metadata, entries):
            entries[f"{Q}.lq.t0.info"][0] = "F32"
        self.edit(retype)
        self.refused(f"{self.model}: tensor '{Q}.lq.t0.info': dtype F32, expected I32")

    def test_missing_layer_tensor(self):
        self.edit(lambda metadata, entries: entries.pop(f"{Q}.lq.t1.a.codes"))
        self.refused(f"{self.model}: tensor '{Q}.lq.t1.a.codes': missing from the compressed file")

    def test_inconsistent_meta(self):
        def k_above_rank(metadata, entries):
            meta = np.frombuffer(entries[f"{Q}.lq.meta"][2], dtype="<i4").copy()
            meta[3] = meta[2] + 1
            entries[f"{Q}.lq.meta"][2] = meta.tobytes()
        self.edit(k_above_rank)
        self.refused(f"{self.model}: tensor '{Q}.lq.meta': inconsistent layer meta [20, 13, 4, 5, 2, 2] (expected"
                     " m, n, rank, k, h, tiers with 0 <= h <= k <= rank)")

    def test_tiers_that_leave_a_gap(self):
        def gap(metadata, entries):
            info = np.frombuffer(entries[f"{Q}.lq.t1.info"][2], dtype="<i4").copy()
            info[1] += 1
            entries[f"{Q}.lq.t1.info"][2] = info.tobytes()
        self.edit(gap)
        self.refused(f"{self.model}: tensor '{Q}.lq.t1.info': tier info [1, 3, 2, 8] claims components 3..4,"
                     " beyond the layer's k=4")

    def test_tiers_that_overlap(self):
        def overlap(metadata, entries):
            info = np.frombuffer(entries[f"{Q}.lq.t1.info"][2], dtype="<i4").copy()
            info[1] -= 1
            entries[f"{Q}.lq.t1.info"][2] = info.tobytes()
        self.edit(overlap)
        self.refused(f"{self.model}: tensor '{Q}.lq.meta': tiers must cover components 0..3 in order; a tier"
                     " starts at 1, expected 2")

    def test_k_other_than_min_of_m_n_rank(self):
        def fewer(metadata, entries):
            meta = np.frombuffer(entries[f"{Q}.lq.meta"][2], dtype="<i4").copy()
            meta[3] = 3
            entries[f"{Q}.lq.meta"][2] = meta.tobytes()
        self.edit(fewer)
        self.refused(f"{self.model}: tensor '{Q}.lq.meta': inconsistent layer meta [20, 13, 4, 3, 2, 2]: k=3 but a"
                     " 20 x 13 layer of rank 4 has k = min(m, n, rank) = 4 components")

    def test_zero_padding_beyond_the_bound(self):
        def huge_rank(metadata, entries):
            v = "base_model.model.layers.0.self_attn.v_proj"  # m=3, n=10, k=3: rank above k adds zeros
            meta = np.frombuffer(entries[f"{v}.lq.meta"][2], dtype="<i4").copy()
            meta[2] = 2_000_000
            entries[f"{v}.lq.meta"][2] = meta.tobytes()
            modules = json.loads(metadata["loraquant.modules"])
            modules[v]["shape_A"] = [2_000_000, 10]
            modules[v]["shape_B"] = [3, 2_000_000]
            metadata["loraquant.modules"] = json.dumps(modules)
        self.edit(huge_rank)
        self.refused(f"{self.model}: tensor 'base_model.model.layers.0.self_attn.v_proj.lq.meta': rank 2000000 above"
                     " the layer's k=3 components asks for zero components that bring the adapter's total to"
                     " 25999961 values, more than the 16777216 a reader accepts without stored data behind them")

    def test_lora_factor_name_used_twice(self):
        def twice(metadata, entries):
            modules = json.loads(metadata["loraquant.modules"])
            v = "base_model.model.layers.0.self_attn.v_proj"
            modules[v]["lora_A"] = modules[Q]["lora_A"]
            metadata["loraquant.modules"] = json.dumps(modules)
        self.edit(twice)
        self.refused(f"{self.model} __metadata__[loraquant.modules]: tensor 'base_model.model.layers.0.self_attn"
                     f".v_proj': LoRA factor name '{Q}.lora_A.weight' is used twice")

    def test_source_metadata_values_must_be_strings(self):
        self.edit(lambda metadata, entries: metadata.update({"loraquant.source_metadata": '{"format": 1}'}))
        self.refused(f"{self.model} __metadata__[loraquant.source_metadata]: value of 'format' is NUMBER,"
                     " expected a string")

    def test_duplicate_key_in_the_manifest(self):
        text = read_bytes(self.manifest).decode()
        write_bytes(self.manifest, text.replace('"format" : "loraquant",', '"format" : "loraquant", "format" : "x",',
                                                1).encode())
        self.refused(f"{self.manifest}: malformed JSON: duplicate field 'format'")

    def test_tier_beyond_the_meta_count(self):
        def extra(metadata, entries):
            entries[f"{Q}.lq.t2.info"] = ["I32", (4,), np.array([1, 4, 0, 8], dtype="<i4").tobytes()]
        self.edit(extra)
        self.refused(f"{self.model}: tensor '{Q}.lq.t2.info': not part of its layer's layout (e.g. a tier beyond"
                     " the meta's tier count)")

    def test_zero_points_in_a_one_bit_tier(self):
        def zeros(metadata, entries):
            dtype, shape, data = entries[f"{Q}.lq.t1.b.scales"]
            entries[f"{Q}.lq.t1.b.zeros"] = ["U8", shape, bytes(len(data) // 2)]
        self.edit(zeros)
        self.refused(f"{self.model}: tensor '{Q}.lq.t1.b.zeros': a 1-bit tier has no zero points")

    def test_non_finite_scale(self):
        for bits, name in ((0x7C00, "Infinity"), (0xFC00, "-Infinity"), (0x7E00, "NaN")):
            with self.subTest(name):
                def poison(metadata, entries):
                    scales = np.frombuffer(entries[f"{Q}.lq.t0.a.scales"][2], dtype="<u2").copy()
                    scales[1] = bits
                    entries[f"{Q}.lq.t0.a.scales"][2] = scales.tobytes()
                self.edit(poison)
                self.refused(f"{self.model}: tensor '{Q}.lq.t0.a.scales': scale 1 is {name} (binary16 bits"
                             f" 0x{bits:x}); scales must be finite")

    def test_layer_tensor_of_an_unlisted_module(self):
        def stray(metadata, entries):
            entries["other.module.lq.meta"] = entries[f"{Q}.lq.meta"]
        self.edit(stray)
        self.refused(f"{self.model}: tensor 'other.module.lq.meta': layer tensor of a module that"
                     " loraquant.modules does not list")

    def test_pass_through_named_like_a_lora_factor(self):
        def clash(metadata, entries):
            entries[Q + ".lora_A.weight"] = ["F32", (1,), bytes(4)]
        self.edit(clash)
        self.refused(f"{self.model}: tensor '{Q}.lora_A.weight': stored as a pass-through tensor but also named"
                     " as a LoRA factor in loraquant.modules")

    def test_bad_json_in_the_modules_metadata(self):
        self.edit(lambda metadata, entries: metadata.update({"loraquant.modules": "{\"a\": "}))
        self.refused(re_(f"^{re_escape(self.model)} __metadata__\\[loraquant.modules\\]: malformed JSON: "))

    def test_source_shapes_that_do_not_match_the_meta(self):
        def shapes(metadata, entries):
            modules = json.loads(metadata["loraquant.modules"])
            modules[Q]["shape_B"] = [20, 5]
            metadata["loraquant.modules"] = json.dumps(modules)
        self.edit(shapes)
        self.refused(f"{self.model} __metadata__[loraquant.modules]: tensor '{Q}': shape_A [4, 13] / shape_B"
                     " [20, 5] do not match the layer's meta m=20 n=13 rank=4")

    def test_metadata_of_another_version(self):
        self.edit(lambda metadata, entries: metadata.update({"format_version": "3"}))
        self.refused(f"{self.model} __metadata__: unsupported format version '3'; this version of loraquant reads"
                     " versions 1 and 2 (a newer loraquant wrote it?)")

    def test_metadata_naming_the_other_known_version(self):
        self.edit(lambda metadata, entries: metadata.update({"format_version": "2"}))
        self.refused(f"{self.model} __metadata__: format version 2, but {self.manifest} says version 1: the"
                     " folder mixes two writers")

    def test_bad_json_in_the_manifest(self):
        write_bytes(self.manifest, b'{"format": "loraquant", ')
        self.refused(re_(f"^{re_escape(self.manifest)}: malformed JSON: "))

    def test_manifest_format_version_must_be_the_integer_one_or_two(self):
        for version, shown in (('"1"', '"1"'), ("1.0", "1.0"), ("3", "3"), ("true", "true")):
            with self.subTest(version):
                write_bytes(self.manifest, ('{"format": "loraquant", "format_version": %s, "layers": []}'
                                            % version).encode())
                self.refused(f"{self.manifest}: unsupported format version {shown}; this version of loraquant"
                             " reads versions 1 and 2 (a newer loraquant wrote it?)")

    def test_bad_json_in_the_config(self):
        write_bytes(self.config, read_bytes(self.config)[:-3])
        self.refused(re_(f"^{re_escape(self.config)}: malformed JSON: "))

    def test_config_without_the_loraquant_block(self):
        config = json.loads(read_bytes(self.config))
        del config["loraquant"]
        write_bytes(self.config, json.dumps(config).encode())
        self.refused(f"{self.config}: no 'loraquant' block: this is not a loraquant compressed adapter")

    def test_folder_without_manifest_is_incomplete(self):
        os.remove(self.manifest)
        self.refused(f"{self.manifest}: missing: {self.folder} is not a complete compressed adapter (written by"
                     " an interrupted run?); compress again", loraquant.IncompleteAdapterError)

    def test_plain_peft_folder_is_not_a_compressed_adapter(self):
        os.remove(self.manifest)
        os.remove(self.model)
        self.refused(f"{self.folder}: not a loraquant compressed adapter: it has no loraquant_manifest.json and"
                     " no loraquant_model.safetensors (a plain PEFT adapter? compress it first)")

    def test_missing_folder(self):
        self.folder = self.folder + "-absent"
        self.refused(f"{self.folder}: no such compressed adapter folder")


def re_(pattern):
    import re
    return re.compile(pattern)


def re_escape(text):
    import re
    return re.escape(text)


if __name__ == "__main__":
    unittest.main()
