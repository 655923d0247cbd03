"""One layer of the budget mode: its byte layout (format version 2), checked, and its decoding.

For module path ``M`` the file holds (docs/FORMAT.md, "Version 2")::

    M.lq.meta2     I32 [6]                m, n, rank, k, level family (1 uniform, 2 lloyd-max), g
    M.lq.widths    U8  [k]                width of each component, 0 (dropped) .. 8
    M.lq.b.codes   U8  [ceil(m W / 8)]    W = sum of the widths; one LSB-first bit stream
    M.lq.b.scales  F16 [K ceil(m/g)]      K = kept components (width > 0)
    M.lq.b.zeros   U8  [Z ceil(m/g)]      uniform only, Z = components of width >= 2; else absent
    M.lq.a.codes / a.scales / a.zeros     the same for the rows of A', length n
    M.lq.crc       I32 [1]                CRC-32C of the data bytes of the tensors above, in order

Decoding does the Java decoder's float32 operations: ``(2q - 1) * s`` at 1 bit, ``(float)(q - z) * s``
(uniform) and ``L_w[q] * s`` (lloyd-max) at 2 bits and more, so the values are bit-identical.
"""

from dataclasses import dataclass, field

import numpy as np

from . import floats
from .crc32c import crc32c
from .errors import InvalidAdapterError
from .layer import MAX_FACTOR_VALUES, SUFFIX, _java_list, check_finite_scales, groups_per_vector, unpack
from .lloyd_max import LEVELS

META_LENGTH = 6
MAX_WIDTH = 8
UNIFORM = 1
LLOYD_MAX = 2
FAMILY_LABELS = {UNIFORM: "uniform", LLOYD_MAX: "lloyd-max"}


def meta_name(module):
    return module + SUFFIX + "meta2"


def part_name(module, part):
    return module + SUFFIX + part


def has_zero_points(family, width):
    return family == UNIFORM and width >= 2


@dataclass
class Side:
    """The kept vectors of one factor (columns of B' or rows of A'), all of ``length`` values."""
    length: int
    codes: memoryview
    scales: np.ndarray  # float32 [K, groups per vector]: the exact values of the binary16 scales
    zeros: np.ndarray  # uint8 [Z, groups per vector], the uniform family's zero points (Z may be 0)

    def decode(self, widths, family, group_size):
        """float32 [k, length]: row i = decoded vector i, zeros for a dropped component."""
        k = len(widths)
        out = np.zeros((k, self.length), dtype=np.float32)
        if self.length == 0:
            return out
        raw = np.frombuffer(self.codes, dtype=np.uint8)
        stream = None  # the whole bit stream, unpacked only when a component is not byte-aligned
        per_vector = groups_per_vector(self.length, group_size)
        padded = per_vector * group_size
        # Where each kept component's codes start, and its row among the scales and the zero points.
        start, kept, zero_row = {}, {}, {}
        bit = scale_index = zero_index = 0
        for i, w in enumerate(widths):
            if w == 0:
                continue
            start[i], kept[i] = bit, scale_index
            bit += w * self.length
            scale_index += 1
            if has_zero_points(family, w):
                zero_row[i] = zero_index
                zero_index += 1
        for w in sorted({w for w in widths if w > 0}):
            members = [i for i, wi in enumerate(widths) if wi == w]
            starts = np.array([start[i] for i in members])
            if (self.length * w) % 8 == 0 and not (starts % 8).any():
                # Whole bytes per component (the usual case, L a multiple of 8): gather them and unpack as
                # one stream, 8 / w codes a byte.
                at = starts[:, None] // 8 + np.arange(self.length * w // 8)[None, :]
                codes = unpack(raw[at].reshape(-1), len(members) * self.length, w).reshape(len(members), self.length)
            else:
                if stream is None:
                    stream = np.unpackbits(raw, bitorder="little", count=sum(widths) * self.length)
                bits = stream[starts[:, None] + np.arange(self.length * w)[None, :]].reshape(len(members),
                                                                                            self.length, w)
                codes = (bits << np.arange(w, dtype=np.uint8)).sum(axis=2, dtype=np.uint8)
            if padded != self.length:
                codes = np.pad(codes, ((0, 0), (0, padded - self.length)))
            codes = codes.reshape(len(members), per_vector, group_size)
            scales = self.scales[[kept[i] for i in members]][:, :, None]
            if w == 1:
                # (2q - 1) * s: s for q = 1 and exactly -s for q = 0 (-0.0 for a zero scale, as Java).
                sign = (codes ^ np.uint8(1)).astype(np.uint32) << np.uint32(31)
                values = (np.broadcast_to(scales, codes.shape).view(np.uint32) ^ sign).view(np.float32)
            elif family == UNIFORM:
                zeros = self.zeros[[zero_row[i] for i in members]][:, :, None]
                values = (codes.astype(np.int16) - zeros.astype(np.int16)).astype(np.float32) * scales
            else:
                values = LEVELS[w][codes] * scales
            out[members] = values.reshape(len(members), padded)[:, :self.length]
        return out


@dataclass
class BudgetLayer:
    module: str
    m: int
    n: int
    rank: int
    k: int
    family: int
    group_size: int
    width_list: list
    b: Side
    a: Side
    tensor_names: list = field(default_factory=list)  # the layout's tensors, in a fixed order
    stored_bytes: int = 0  # bytes of those tensors in the data area
    meta_tensor: str = ""
    h = None  # the paper mode's high tier; the budget mode has none

    def zero_padding_values(self):
        """Values of the zero components a layer of rank above k gets on decompression."""
        return (self.rank - self.k) * (self.m + self.n)

    def widths(self):
        """Width of each component 0..k-1 (0 = dropped)."""
        return list(self.width_list)

    def kept(self):
        return sum(1 for w in self.width_list if w > 0)

    def levels(self):
        return FAMILY_LABELS[self.family]

    def factors(self):
        """B^ as float32 [m, rank] and A^ as float32 [rank, n]; dropped components and k..rank-1 are zero."""
        b = np.zeros((self.m, self.rank), dtype=np.float32)
        a = np.zeros((self.rank, self.n), dtype=np.float32)
        b[:, :self.k] = self.b.decode(self.width_list, self.family, self.group_size).T
        a[:self.k, :] = self.a.decode(self.width_list, self.family, self.group_size)
        return b, a


class _Tensors:
    """Looks tensors up and checks them as the Java BudgetLayerLayout does, in the same order."""

    def __init__(self, model, file):
        self.model = model
        self.file = file
        self.used = []
        self.data = []
        self.bytes = 0

    def require(self, name, dtype, numel):
        info = self.model.tensor(name)
        if info is None:
            raise InvalidAdapterError(self.file, name, "missing from the compressed file")
        if info.dtype != dtype:
            raise InvalidAdapterError(self.file, name, f"dtype {info.dtype}, expected {dtype}")
        size = 4 if dtype == "I32" else 2 if dtype == "F16" else 1
        if tuple(info.shape) != (numel,) or info.byte_length != numel * size:
            raise InvalidAdapterError(self.file, name, f"shape {_java_list(info.shape)} ({info.byte_length}"
                                      f" bytes), expected [{numel}] for the layer's widths")
        data = self.model.data(info)
        self.used.append(name)
        self.bytes += info.byte_length
        return data

    def checked(self, name, dtype, numel):
        """A tensor the CRC covers."""
        data = self.require(name, dtype, numel)
        self.data.append(bytes(data))
        return data


def read_budget_layer(module, model, file):
    """Rebuilds a version 2 layer from its tensors; every size is checked before it is used, then the CRC, then
    that every scale is finite."""
    tensors = _Tensors(model, file)
    meta_tensor = meta_name(module)
    meta = [int(v) for v in np.frombuffer(tensors.checked(meta_tensor, "I32", META_LENGTH), dtype="<i4")]
    m, n, rank, k, family, group_size = meta
    if m < 0 or n < 0 or rank < 0 or k < 0 or k > min(rank, m, n) or group_size < 1:
        raise InvalidAdapterError(file, meta_tensor, f"inconsistent layer meta {_java_list(meta)} (expected m, n,"
                                  " rank, k, levels, group size with 0 <= k <= min(rank, m, n) and group size >= 1)")
    if family not in FAMILY_LABELS:
        raise InvalidAdapterError(file, meta_tensor, f"unknown level family id {family}; known: 1 (uniform),"
                                  " 2 (lloyd-max)")
    if m * rank > MAX_FACTOR_VALUES or rank * n > MAX_FACTOR_VALUES:
        raise InvalidAdapterError(file, meta_tensor, f"a {m} x {n} layer of rank {rank} decodes to factors of"
                                  f" {m * rank} and {rank * n} values; one factor may hold at most {MAX_FACTOR_VALUES}")
    widths_tensor = part_name(module, "widths")
    widths = list(bytes(tensors.checked(widths_tensor, "U8", k)))
    for i, w in enumerate(widths):
        if w > MAX_WIDTH:
            raise InvalidAdapterError(file, widths_tensor, f"component {i} has width {w}, expected 0..8")
    b, b_scale_bits = _read_side(tensors, module, "b.", widths, family, m, group_size)
    a, a_scale_bits = _read_side(tensors, module, "a.", widths, family, n, group_size)
    crc_tensor = part_name(module, "crc")
    stored = int(np.frombuffer(tensors.require(crc_tensor, "I32", 1), dtype="<u4")[0])
    computed = crc32c(b"".join(tensors.data))
    if stored != computed:
        raise InvalidAdapterError(file, crc_tensor, f"CRC-32C mismatch (stored {stored:08x}, computed"
                                  f" {computed:08x}): the layer's bytes are damaged")
    # After the CRC, so that a damaged byte is reported as damage; a crafted file whose CRC matches must
    # still not decode into non-finite weights.
    check_finite_scales(file, part_name(module, "b.scales"), b_scale_bits)
    check_finite_scales(file, part_name(module, "a.scales"), a_scale_bits)
    return BudgetLayer(module, m, n, rank, k, family, group_size, widths, b, a, tensors.used, tensors.bytes,
                       meta_tensor)


def _read_side(tensors, module, side, widths, family, length, group_size):
    groups = groups_per_vector(length, group_size)
    kept = sum(1 for w in widths if w > 0)
    with_zeros = sum(1 for w in widths if w > 0 and has_zero_points(family, w))
    code_bytes = (sum(widths) * length + 7) // 8
    codes = tensors.checked(part_name(module, side + "codes"), "U8", code_bytes)
    scale_bits = np.frombuffer(tensors.checked(part_name(module, side + "scales"), "F16", kept * groups),
                               dtype="<u2").reshape(kept, groups)
    zeros_name = part_name(module, side + "zeros")
    zeros = np.zeros((0, groups), dtype=np.uint8)
    if with_zeros * groups > 0:
        zeros = np.frombuffer(tensors.checked(zeros_name, "U8", with_zeros * groups),
                              dtype=np.uint8).reshape(with_zeros, groups)
    elif zeros_name in tensors.model:
        raise InvalidAdapterError(tensors.file, zeros_name, "present, but no component of this layer has zero points")
    return Side(length, codes, floats.f16_bits_to_f32(scale_bits), zeros), scale_bits
