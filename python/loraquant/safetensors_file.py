"""A safetensors file read from bytes and checked as strictly as the Java reader checks it.

Nothing in the file is trusted before it is checked: the header length against the cap and the
file length, every tensor's dtype, shape and offsets against each other and the data area, and the
tensors against each other (no overlaps). No pickle, no code: only JSON and raw bytes.
"""

import struct
from dataclasses import dataclass

from . import jackson
from .errors import IncompleteAdapterError, InvalidAdapterError

LENGTH_PREFIX_BYTES = 8
MAX_HEADER_BYTES = 100_000_000  # the reference Rust implementation's cap, as the Java reader's
METADATA_KEY = "__metadata__"
LONG_MAX = (1 << 63) - 1

# The safetensors element types and their sizes in bytes (org.loraquant.safetensors.DType).
DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}
LORA_FLOAT_DTYPES = ("F32", "F16", "BF16")


def parse_dtype(name):
    """The dtype named (case-insensitive, as the Java reader), or None if unknown."""
    if not isinstance(name, str):
        return None
    upper = name.upper()
    return upper if upper in DTYPE_SIZES else None


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple
    begin: int  # offsets in the data area, as in the header
    end: int

    @property
    def byte_length(self):
        return self.end - self.begin


def json_type(node):
    if node is None:
        return "NULL"
    if isinstance(node, bool):
        return "BOOLEAN"
    if isinstance(node, (int, float)):
        return "NUMBER"
    if isinstance(node, str):
        return "STRING"
    if isinstance(node, list):
        return "ARRAY"
    return "OBJECT"


def _int_list(node):
    """A JSON array of integers that fit a signed 64-bit long, or None if it is anything else."""
    if not isinstance(node, list):
        return None
    out = []
    for v in node:
        if isinstance(v, bool) or not isinstance(v, int) or not -LONG_MAX - 1 <= v <= LONG_MAX:
            return None
        out.append(v)
    return out


class SafetensorsFile:
    """The header and the bytes of one safetensors file held in memory (compressed files are small)."""

    def __init__(self, location, blob):
        self.location = location
        self._blob = memoryview(blob)
        file_length = len(blob)
        if file_length < LENGTH_PREFIX_BYTES:
            raise IncompleteAdapterError(location, None, f"file is {file_length} bytes, shorter than the 8-byte"
                                         " header length that starts a safetensors file (truncated?)")
        (header_length,) = struct.unpack("<q", bytes(blob[:LENGTH_PREFIX_BYTES]))
        if header_length < 0 or header_length > MAX_HEADER_BYTES:
            raise InvalidAdapterError(location, None, f"header length {header_length & ((1 << 64) - 1)} exceeds"
                                      f" the limit of {MAX_HEADER_BYTES} bytes; not a safetensors file?")
        if header_length > file_length - LENGTH_PREFIX_BYTES:
            raise IncompleteAdapterError(location, None, f"file is {file_length} bytes but declares a header of"
                                         f" {header_length} bytes after the 8-byte length (truncated?)")
        self.data_start = LENGTH_PREFIX_BYTES + header_length
        self.file_length = file_length
        data_length = file_length - self.data_start
        try:
            root = jackson.parse(bytes(blob[LENGTH_PREFIX_BYTES:self.data_start]).decode("utf-8"),
                                 strict_duplicates=True)
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidAdapterError(location, None, f"header is not valid JSON: {_one_line(e)}") from None
        if not isinstance(root, dict):
            raise InvalidAdapterError(location, None, f"header is not a JSON object (found {json_type(root)})")
        self.metadata = {}
        tensors = []
        for key, node in root.items():
            if key == METADATA_KEY:
                self.metadata = _parse_metadata(location, node)
            else:
                tensors.append(_parse_tensor(location, key, node, data_length))
        tensors.sort(key=lambda t: (t.begin, t.end))
        _check_no_overlap(location, tensors)
        self.tensors = tensors  # in data-area order
        self._by_name = {t.name: t for t in tensors}

    def tensor(self, name):
        """The tensor called ``name``, or None."""
        return self._by_name.get(name)

    def __contains__(self, name):
        return name in self._by_name

    def data(self, info):
        """The tensor's raw little-endian bytes (a view, no copy)."""
        start = self.data_start + info.begin
        return self._blob[start:start + info.byte_length]

    def tensor_bytes(self):
        return sum(t.byte_length for t in self.tensors)


def _one_line(e):
    return " ".join(str(e).split())


def _parse_metadata(location, node):
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise InvalidAdapterError(location, None,
                                  f"{METADATA_KEY} must be an object of strings, found {json_type(node)}")
    for key, value in node.items():
        if not isinstance(value, str):
            raise InvalidAdapterError(location, None, f"{METADATA_KEY} must be an object of strings, but '{key}'"
                                      f" is {json_type(value)}")
    return dict(node)


def _parse_tensor(location, name, node, data_length):
    if not isinstance(node, dict):
        raise InvalidAdapterError(location, name, f"entry is not a JSON object but {json_type(node)}")
    dtype_node = node.get("dtype")
    dtype = parse_dtype(dtype_node)
    if dtype is None:
        shown = "(missing)" if dtype_node is None else jackson.compact(dtype_node)
        raise InvalidAdapterError(location, name, f"unknown dtype {shown}; known: [{', '.join(DTYPE_SIZES)}]")
    shape = _int_list(node.get("shape"))
    if shape is None or any(d < 0 for d in shape):
        raise InvalidAdapterError(location, name, "shape must be an array of non-negative integers, found "
                                  + _shown(node.get("shape")))
    offsets = _int_list(node.get("data_offsets"))
    if offsets is None or len(offsets) != 2 or offsets[0] < 0 or offsets[1] < offsets[0]:
        raise InvalidAdapterError(location, name, "data_offsets must be [begin, end] with 0 <= begin <= end,"
                                  " found " + _shown(node.get("data_offsets")))
    begin, end = offsets
    expected = DTYPE_SIZES[dtype]
    for d in shape:
        expected *= d
    if expected > LONG_MAX:
        raise InvalidAdapterError(location, name, f"byte size of {dtype}{_java_list(shape)} overflows 64 bits")
    if end - begin != expected:
        raise InvalidAdapterError(location, name, f"data_offsets [{begin}, {end}] span {end - begin} bytes but"
                                  f" {dtype}{_java_list(shape)} needs {expected}")
    if end > data_length:
        raise IncompleteAdapterError(location, name, f"data_offsets [{begin}, {end}] reach past the end of the"
                                     f" data area ({data_length} bytes; file truncated?)")
    return TensorInfo(name, dtype, tuple(shape), begin, end)


def _shown(node):
    return "null" if node is None else jackson.compact(node)


def _java_list(values):
    """``Arrays.toString``: ``[1, 2]``."""
    return "[" + ", ".join(str(v) for v in values) + "]"


def _check_no_overlap(location, tensors):
    previous = None
    for t in tensors:
        if t.byte_length == 0:  # empty tensors occupy no bytes
            continue
        if previous is not None and t.begin < previous.end:
            raise InvalidAdapterError(location, t.name, f"bytes [{t.begin}, {t.end}) overlap tensor"
                                      f" '{previous.name}' at [{previous.begin}, {previous.end})")
        previous = t
