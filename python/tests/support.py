"""Helpers shared by the tests: the golden folders and a way to rewrite a compressed file."""

import os
import shutil
import struct

from loraquant.safetensors_file import SafetensorsFile
from loraquant.safetensors_writer import SafetensorsWriter

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(ROOT, "lib", "src", "test", "resources", "golden", "v1")
GOLDEN_NAMES = ("conv-passthrough-b3-g16-search", "linear-b2-g8", "one-bit-g16")
MODEL = "loraquant_model.safetensors"


def golden(name, part="compressed"):
    return os.path.join(GOLDEN, name, part)


def copy_golden(name, tmp):
    target = os.path.join(tmp, name)
    shutil.copytree(golden(name), target)
    return target


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def tensors(path):
    """(metadata, {name: [dtype, shape, bytes]}) of a safetensors file."""
    f = SafetensorsFile(path, read_bytes(path))
    return dict(f.metadata), {t.name: [t.dtype, tuple(t.shape), bytes(f.data(t))] for t in f.tensors}


def rewrite(path, metadata, entries):
    """Writes a well-formed safetensors file with these tensors (the layout may be wrong)."""
    w = SafetensorsWriter()
    for k, v in metadata.items():
        w.metadata(k, v)
    for name, (dtype, shape, data) in entries.items():
        w.add(name, dtype, shape, data)
    write_bytes(path, w.to_bytes())


def raw_parts(path):
    """(header text, data bytes) of a safetensors file, to break the header itself."""
    blob = read_bytes(path)
    (n,) = struct.unpack("<Q", blob[:8])
    return blob[8:8 + n].decode("utf-8"), blob[8 + n:]


def write_raw(path, header_text, data):
    header = header_text.encode("utf-8")
    header += b" " * (-len(header) % 8)
    write_bytes(path, struct.pack("<Q", len(header)) + header + data)
