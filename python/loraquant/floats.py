"""Float conversions bit for bit as the Java side does them (Binary16, FloatEncoding).

binary16 -> float32 is exact. float32 -> F16 / BF16 rounds to nearest, ties to even; NaN becomes
the canonical quiet NaN of the target type with its sign kept (0x7E00 / 0x7FC0), so output is
deterministic.
"""

import numpy as np

F16_QUIET_NAN = np.uint16(0x7E00)
BF16_QUIET_NAN = np.uint16(0x7FC0)


def f16_bits_to_f32(bits):
    """Little-endian binary16 bits (uint16) to their exact float32 values."""
    return np.asarray(bits, dtype="<u2").view("<f2").astype(np.float32)


def _sign16(values):
    return ((values.view(np.uint32) >> np.uint32(16)) & np.uint32(0x8000)).astype(np.uint16)


def to_f16_bits(values):
    """float32 values to binary16 bits, round to nearest even; overflow gives infinity."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    with np.errstate(over="ignore"):
        bits = values.astype(np.float16).view(np.uint16)
    nan = np.isnan(values)
    if nan.any():
        bits = np.where(nan, _sign16(values) | F16_QUIET_NAN, bits)
    return bits


def to_bf16_bits(values):
    """float32 values to bfloat16 bits, round to nearest even (Java: (bits + 0x7FFF + lsb) >>> 16)."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    bits = values.view(np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    rounded = ((bits + np.uint32(0x7FFF) + lsb) >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():
        rounded = np.where(nan, _sign16(values) | BF16_QUIET_NAN, rounded)
    return rounded


def encode(values, dtype):
    """float32 values as a contiguous array holding the little-endian bytes of ``dtype`` (F32, F16
    or BF16), ready to be written without another copy."""
    if dtype == "F32":
        return np.ascontiguousarray(values, dtype="<f4")
    if dtype == "F16":
        return to_f16_bits(values).astype("<u2", copy=False)
    if dtype == "BF16":
        return to_bf16_bits(values).astype("<u2", copy=False)
    raise ValueError(f"cannot encode floats as {dtype}; supported: F32, F16, BF16")
