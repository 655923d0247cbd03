"""python -m loraquant, and reading through fsspec URLs (memory://, file://) when fsspec is installed."""

import io
import os
import tempfile
import unittest

import loraquant
from loraquant.__main__ import main
from support import GOLDEN_NAMES, MODEL, golden, read_bytes


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue().splitlines(), err.getvalue().splitlines()


class CommandLineTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name

    def test_decompress_reports_what_it_wrote(self):
        out = os.path.join(self.tmp, "out")
        code, lines, err = run("decompress", golden("conv-passthrough-b3-g16-search"), out, "--dtype", "f32")
        self.assertEqual((code, err), (0, []))
        self.assertEqual(lines, [f"decompressed {golden('conv-passthrough-b3-g16-search')} -> {out}: 2 LoRA layers,"
                                 " 2 pass-through tensors"])
        self.assertEqual(sorted(os.listdir(out)), [".loraquant_decompressed", "adapter_config.json", "adapter_model.safetensors"])

    def test_decompress_never_writes_into_a_folder_that_holds_something(self):
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        with open(os.path.join(out, "keep.txt"), "w") as f:
            f.write("mine")
        code, _, err = run("decompress", golden("one-bit-g16"), out)
        self.assertEqual(code, 1)
        self.assertEqual(err, [f"loraquant decompress: {out} exists and is not empty; choose a new output folder"])
        self.assertEqual(os.listdir(out), ["keep.txt"])
        self.assertEqual(sorted(os.listdir(self.tmp)), ["out"])  # no staging folder left behind

    def test_decompress_into_an_empty_folder(self):
        out = os.path.join(self.tmp, "empty")
        os.makedirs(out)
        self.assertEqual(run("decompress", golden("one-bit-g16"), out, "--dtype=bf16")[0], 0)
        self.assertEqual(sorted(os.listdir(out)), [".loraquant_decompressed", "adapter_config.json", "adapter_model.safetensors"])

    def test_usage_errors(self):
        self.assertEqual(run("decompress", "only-one"), (2, [], ["loraquant decompress: expected SRC DST, got only-one"]))
        self.assertEqual(run("decompress", "a", "b", "--dtype", "f8"),
                         (2, [], ["loraquant decompress: --dtype: unknown dtype 'f8'; choose same, f32, f16 or bf16"]))
        self.assertEqual(run("inspect"), (2, [], ["loraquant inspect: missing PATH (a compressed adapter folder or its"
                                                  " loraquant_model.safetensors)"]))
        self.assertEqual(run("inspect", "a", "--yaml"), (2, [], ["loraquant inspect: unknown option --yaml"]))
        self.assertEqual(run("frobnicate")[0], 2)

    def test_inspect_text_and_json(self):
        code, lines, err = run("inspect", golden("linear-b2-g8"))
        self.assertEqual((code, err), (0, []))
        self.assertEqual(lines[0], "compressed format=loraquant format_version=1")
        self.assertEqual(lines[3], "layer base_model.model.layers.0.self_attn.q_proj m=20 n=13 rank=4 k=4 h=2"
                                   " widths=[2,2,1,1] params=132 bytes=132 effective_bits=1056 bits_per_param=8.0"
                                   " rel_error=0.41388236831676495")
        self.assertEqual(lines[-1], "totals layers=3 params=242 bytes=301 effective_bits=2408"
                                    " bits_per_param=9.950413223140496 pass_through_tensors=0 pass_through_bytes=0"
                                    " file_bytes=5597")
        code, lines, _ = run("inspect", os.path.join(golden("linear-b2-g8"), MODEL), "--json")
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith('{"format":"loraquant","format_version":1,"settings":{"mode":"paper",'))


class WithoutFsspecTest(unittest.TestCase):
    def test_a_url_says_what_to_install(self):
        import sys
        from unittest import mock
        with mock.patch.dict(sys.modules, {"fsspec": None}):  # import fsspec raises ImportError
            with self.assertRaises(loraquant.LoraQuantError) as caught:
                loraquant.load("s3://bucket/compressed/adapter")
        self.assertEqual(str(caught.exception), "s3://bucket/compressed/adapter: reading URLs needs fsspec (and"
                         " s3fs for s3://): pip install 'loraquant[s3]'")

    def test_the_destination_is_a_local_folder(self):
        code, _, err = run("decompress", golden("one-bit-g16"), "s3://bucket/out")
        self.assertEqual((code, err), (1, ["loraquant decompress: s3://bucket/out: decompress writes to a local"
                                           " folder, not a URL"]))


class UrlTest(unittest.TestCase):
    def setUp(self):
        try:
            import fsspec
        except ImportError:
            self.skipTest("fsspec is not installed (the optional 's3' extra)")
        self.fs = fsspec.filesystem("memory")
        self.addCleanup(lambda: self.fs.rm("/golden", recursive=True) if self.fs.exists("/golden") else None)

    def test_memory_url_reads_as_the_local_folder(self):
        for name in GOLDEN_NAMES:
            with self.subTest(name):
                for f in os.listdir(golden(name)):
                    self.fs.pipe_file(f"/golden/{name}/{f}", read_bytes(os.path.join(golden(name), f)))
                remote = loraquant.load(f"memory://golden/{name}")
                local = loraquant.load(golden(name))
                self.assertEqual(sorted(remote), sorted(local))
                for key in local:
                    self.assertEqual(remote[key].tobytes(), local[key].tobytes(), key)

    def test_file_url_decompresses_as_the_local_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            loraquant.decompress("file://" + golden("linear-b2-g8"), os.path.join(tmp, "a"))
            loraquant.decompress(golden("linear-b2-g8"), os.path.join(tmp, "b"))
            for f in ("adapter_config.json", "adapter_model.safetensors"):
                self.assertEqual(read_bytes(os.path.join(tmp, "a", f)), read_bytes(os.path.join(tmp, "b", f)))

    def test_incomplete_remote_folder_is_refused(self):
        self.fs.pipe_file("/golden/half/loraquant_model.safetensors", b"\0" * 8)
        with self.assertRaisesRegex(loraquant.IncompleteAdapterError, "^memory://golden/half/loraquant_manifest.json:"
                                    " missing: memory://golden/half is not a complete compressed adapter"):
            loraquant.load("memory://golden/half")


if __name__ == "__main__":
    unittest.main()
