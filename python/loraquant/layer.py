"""One compressed LoRA layer: its byte layout (format version 1), checked, and its decoding.

For module path ``M`` the file holds (docs/FORMAT.md, "One LoRA layer")::

    M.lq.meta              I32 [6]                 m, n, rank, k, h, T (number of tiers)
    M.lq.t{i}.info         I32 [4]                 bits, first component, count c, group size g
    M.lq.t{i}.b.codes      U8  [ceil(c*m*bits/8)]  columns first..first+c-1 of B'
    M.lq.t{i}.b.scales     F16 [c, ceil(m/g)]
    M.lq.t{i}.b.zeros      U8  [c, ceil(m/g)]      absent when bits == 1
    M.lq.t{i}.a.codes / a.scales / a.zeros         rows first..first+c-1 of A', length n

Decoding does the Java decoder's float32 operations, vectorised: ``(float)(q - z) * s`` for
bits > 1 and ``(2q - 1) * s`` (that is, +s or -s) for 1 bit, so the values are bit-identical.
"""

from dataclasses import dataclass, field

import numpy as np

from . import floats
from .errors import InvalidAdapterError

SUFFIX = ".lq."
META_LENGTH = 6
INFO_LENGTH = 4
# Most values one decoded factor (m x rank or rank x n) may have, as the Java reader (its largest array).
MAX_FACTOR_VALUES = (1 << 31) - 1 - 8


def meta_name(module):
    return module + SUFFIX + "meta"


def tier_prefix(module, tier):
    return f"{module}{SUFFIX}t{tier}."


def is_layer_tensor(name):
    return SUFFIX in name


def module_of_layer_tensor(name):
    """The module a layer tensor belongs to: the suffix after it never contains '.lq.'."""
    return name[:name.rindex(SUFFIX)]


def groups_per_vector(length, group_size):
    return (length + group_size - 1) // group_size


@dataclass
class PackedGroups:
    """``vectors`` vectors of ``length`` codes of ``bits`` bits, in groups of ``group_size``."""
    bits: int
    group_size: int
    vectors: int
    length: int
    codes: memoryview
    scales: np.ndarray  # float32 [vectors, groups per vector], exact values of the binary16 scales
    zeros: np.ndarray  # uint8 [vectors, groups per vector]; None for 1 bit

    def decode(self):
        """float32 [vectors, length]: value j of vector v."""
        if self.vectors == 0 or self.length == 0:
            return np.zeros((self.vectors, self.length), dtype=np.float32)
        per_vector = groups_per_vector(self.length, self.group_size)
        padded = per_vector * self.group_size
        codes = unpack(self.codes, self.vectors * self.length, self.bits).reshape(self.vectors, self.length)
        if padded != self.length:
            codes = np.pad(codes, ((0, 0), (0, padded - self.length)))
        codes = codes.reshape(self.vectors, per_vector, self.group_size)
        if self.bits == 1:
            # (2q - 1) * s is s for q = 1 and exactly -s for q = 0 (a zero scale gives -0.0, as in
            # Java): flipping the sign bit is that negation, and cheaper than a multiplication.
            sign = (codes ^ np.uint8(1)).astype(np.uint32) << np.uint32(31)
            values = (self.scales.view(np.uint32)[:, :, None] ^ sign).view(np.float32)
        else:
            values = (codes.astype(np.int16) - self.zeros[:, :, None].astype(np.int16)).astype(np.float32) \
                * self.scales[:, :, None]
        values = values.reshape(self.vectors, padded)
        return values if padded == self.length else values[:, :self.length]


# Byte -> its codes for 2 and 4 bits (4 or 2 codes a byte); 1 bit is np.unpackbits, 8 the bytes.
_BYTE_CODES = {bits: ((np.arange(256, dtype=np.uint8)[:, None] >> np.arange(0, 8, bits, dtype=np.uint8))
                      & np.uint8((1 << bits) - 1)) for bits in (2, 4)}


def unpack(packed, count, bits):
    """``count`` codes of ``bits`` bits, LSB-first: code i at bits [i*bits, (i+1)*bits)."""
    raw = np.frombuffer(packed, dtype=np.uint8)
    if bits == 8:
        return raw[:count]
    if bits == 1:
        return np.unpackbits(raw, bitorder="little", count=count)
    if bits in _BYTE_CODES:
        return _BYTE_CODES[bits][raw].reshape(-1)[:count]
    stream = np.unpackbits(raw, bitorder="little", count=count * bits).reshape(count, bits)
    return (stream << np.arange(bits, dtype=np.uint8)).sum(axis=1, dtype=np.uint8)


@dataclass
class QuantTier:
    bits: int
    first: int
    count: int
    b: PackedGroups
    a: PackedGroups


@dataclass
class CompressedLayer:
    module: str
    m: int
    n: int
    rank: int
    k: int
    h: int
    tiers: list
    tensor_names: list = field(default_factory=list)  # the layout's tensors, in a fixed order
    stored_bytes: int = 0  # bytes of those tensors in the data area

    @property
    def meta_tensor(self):
        return meta_name(self.module)

    def zero_padding_values(self):
        """Values of the zero components a layer of rank above k gets on decompression; nothing in the
        file backs them, so readers bound their sum over an adapter."""
        return (self.rank - self.k) * (self.m + self.n)

    def widths(self):
        """Bits of each kept component 0..k-1."""
        widths = [0] * self.k
        for t in self.tiers:
            widths[t.first:t.first + t.count] = [t.bits] * t.count
        return widths

    def factors(self):
        """B^ as float32 [m, rank] and A^ as float32 [rank, n]; components k..rank-1 are zero."""
        b = np.zeros((self.m, self.rank), dtype=np.float32)
        a = np.zeros((self.rank, self.n), dtype=np.float32)
        for t in self.tiers:
            b[:, t.first:t.first + t.count] = t.b.decode().T
            a[t.first:t.first + t.count, :] = t.a.decode()
        return b, a


def _java_list(values):
    return "[" + ", ".join(str(v) for v in values) + "]"


class _Tensors:
    """Looks tensors up in a SafetensorsFile and checks them against what the layout expects."""

    def __init__(self, model, file):
        self.model = model
        self.file = file
        self.used = []
        self.bytes = 0

    def require(self, name, dtype, shape):
        numel = 1
        for d in shape:
            numel *= d
        info = self.model.tensor(name)
        if info is None:
            raise InvalidAdapterError(self.file, name, "missing from the compressed file")
        if info.dtype != dtype:
            raise InvalidAdapterError(self.file, name, f"dtype {info.dtype}, expected {dtype}")
        size = 4 if dtype == "I32" else 2 if dtype == "F16" else 1
        if info.byte_length != numel * size:
            raise InvalidAdapterError(self.file, name, f"{info.byte_length} bytes, expected {numel * size}"
                                      " for the layer's shape")
        if tuple(info.shape) != tuple(shape):
            raise InvalidAdapterError(self.file, name, f"shape {_java_list(info.shape)}, expected"
                                      f" {_java_list(shape)}")
        self.used.append(name)
        self.bytes += info.byte_length
        return self.model.data(info)

    def ints(self, name, count):
        return [int(v) for v in np.frombuffer(self.require(name, "I32", (count,)), dtype="<i4")]


def read_layer(module, model, file):
    """Rebuilds a layer from its tensors in ``model``; every size is checked before it is used."""
    tensors = _Tensors(model, file)
    meta = tensors.ints(meta_name(module), META_LENGTH)
    m, n, rank, k, h, tier_count = meta
    if m < 0 or n < 0 or rank < 0 or k < 0 or h < 0 or h > k or k > rank or tier_count < 0:
        raise InvalidAdapterError(file, meta_name(module), f"inconsistent layer meta {_java_list(meta)} (expected"
                                  " m, n, rank, k, h, tiers with 0 <= h <= k <= rank)")
    if k != min(rank, m, n):
        raise InvalidAdapterError(file, meta_name(module), f"inconsistent layer meta {_java_list(meta)}: k={k} but"
                                  f" a {m} x {n} layer of rank {rank} has k = min(m, n, rank) = {min(rank, m, n)}"
                                  " components")
    if m * rank > MAX_FACTOR_VALUES or rank * n > MAX_FACTOR_VALUES:
        raise InvalidAdapterError(file, meta_name(module), f"a {m} x {n} layer of rank {rank} decodes to factors of"
                                  f" {m * rank} and {rank * n} values; one factor may hold at most {MAX_FACTOR_VALUES}")
    tiers = []
    for i in range(tier_count):
        p = tier_prefix(module, i)
        info = tensors.ints(p + "info", INFO_LENGTH)
        bits, first, count, group_size = info
        if bits < 1 or bits > 8 or count < 0 or first < 0 or group_size < 1:
            raise InvalidAdapterError(file, p + "info", f"invalid tier info {_java_list(info)} (expected bits 1..8,"
                                      " first >= 0, count >= 0, group size >= 1)")
        if first + count > k:
            raise InvalidAdapterError(file, p + "info", f"tier info {_java_list(info)} claims components"
                                      f" {first}..{first + count - 1}, beyond the layer's k={k}")
        b = _read_groups(tensors, model, p + "b.", bits, group_size, count, m)
        a = _read_groups(tensors, model, p + "a.", bits, group_size, count, n)
        tiers.append(QuantTier(bits, first, count, b, a))
    covered = 0
    for t in tiers:
        if t.first != covered:
            raise InvalidAdapterError(file, meta_name(module), f"tiers must cover components 0..{k - 1} in order;"
                                      f" a tier starts at {t.first}, expected {covered}")
        covered += t.count
    if covered != k:
        raise InvalidAdapterError(file, meta_name(module), f"tiers cover {covered} components, expected k={k}")
    return CompressedLayer(module, m, n, rank, k, h, tiers, tensors.used, tensors.bytes)


def _read_groups(tensors, model, prefix, bits, group_size, vectors, length):
    code_bytes = (vectors * length * bits + 7) // 8
    shape = (vectors, groups_per_vector(length, group_size))
    codes = tensors.require(prefix + "codes", "U8", (code_bytes,))
    scale_bits = np.frombuffer(tensors.require(prefix + "scales", "F16", shape), dtype="<u2").reshape(shape)
    zeros = None
    if bits > 1:
        zeros = np.frombuffer(tensors.require(prefix + "zeros", "U8", shape), dtype=np.uint8).reshape(shape)
    elif prefix + "zeros" in model:
        raise InvalidAdapterError(tensors.file, prefix + "zeros", "a 1-bit tier has no zero points")
    check_finite_scales(tensors.file, prefix + "scales", scale_bits)
    return PackedGroups(bits, group_size, vectors, length, codes, floats.f16_bits_to_f32(scale_bits), zeros)


def check_finite_scales(file, name, scale_bits):
    """Refuses an infinite or NaN scale (binary16 bits) of tensor ``name``, as the Java readers do."""
    # Exponent all ones: infinity or NaN, which would decode into non-finite weights.
    flat = scale_bits.reshape(-1)
    bad = np.flatnonzero((flat & 0x7C00) == 0x7C00)
    if bad.size:
        i = int(bad[0])
        bits16 = int(flat[i])
        value = "NaN" if bits16 & 0x3FF else ("-Infinity" if bits16 & 0x8000 else "Infinity")
        raise InvalidAdapterError(file, name, f"scale {i} is {value} (binary16 bits 0x{bits16:x});"
                                  " scales must be finite")
