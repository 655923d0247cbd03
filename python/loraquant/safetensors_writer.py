"""Writes a safetensors file byte for byte as the Java SafetensorsWriter does.

8-byte little-endian header length, a compact JSON header (``__metadata__`` first when there is
any, then tensors sorted by name, each ``{"dtype", "shape", "data_offsets"}``) padded with spaces to
a multiple of 8, then the tensors' bytes in the same order.
"""

import struct

from . import jackson
from .safetensors_file import DTYPE_SIZES


def java_order(name):
    """Java's ``String.compareTo`` order: by UTF-16 code units, not by code points."""
    return name.encode("utf-16-be", "surrogatepass")


class SafetensorsWriter:
    def __init__(self):
        self._metadata = {}
        self._tensors = {}

    def metadata(self, key, value):
        self._metadata[key] = value

    def add(self, name, dtype, shape, data):
        """``data``: the tensor's little-endian bytes, or any contiguous buffer holding them."""
        data = memoryview(data).cast("B")
        numel = 1
        for d in shape:
            if d < 0:
                raise ValueError(f"{name}: negative dimension in {list(shape)}")
            numel *= d
        if numel * DTYPE_SIZES[dtype] != len(data):
            raise ValueError(f"{name}: {len(data)} bytes given for {dtype}{list(shape)}")
        if name in self._tensors:
            raise ValueError(f"duplicate tensor name {name}")
        self._tensors[name] = (dtype, tuple(shape), data)

    def to_bytes(self):
        return b"".join(self._parts())

    def write_to(self, f):
        """Writes the file to the binary file object ``f`` without joining it in memory first."""
        for part in self._parts():
            f.write(part)

    def _parts(self):
        header = {}
        if self._metadata:
            header["__metadata__"] = {k: self._metadata[k] for k in sorted(self._metadata, key=java_order)}
        names = sorted(self._tensors, key=java_order)
        offset = 0
        for name in names:
            dtype, shape, data = self._tensors[name]
            header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
            offset += len(data)
        text = jackson.compact(header).encode("utf-8")
        text += b" " * (-len(text) % 8)
        return [struct.pack("<Q", len(text)), text] + [self._tensors[n][2] for n in names]
