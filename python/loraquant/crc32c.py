"""CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, as ``java.util.zip.CRC32C``) in numpy.

Format version 2 stores one per layer. A byte-at-a-time loop in Python would cost about a second
per megabyte, so the message is cut into P chunks of L bytes that are run side by side (one numpy
step per byte position), and the chunk results are joined with the CRC's linearity: the state after
``X || Y`` is the state after ``X`` carried through ``len(Y)`` zero bytes, XOR the state of ``Y``
from zero. Carrying a state through L zero bytes is a linear map of its 32 bits; its columns are
computed in the same pass, as 32 extra chunks of zeros started from the unit states.
"""

import math

import numpy as np

_POLY = 0x82F63B78


def _table():
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


_TABLE = _table()
_TABLE_LIST = [int(v) for v in _TABLE]
_UNITS = np.uint32(1) << np.arange(32, dtype=np.uint32)


def _bytewise(state, data):
    table = _TABLE_LIST
    for byte in data:
        state = table[(state ^ byte) & 0xFF] ^ (state >> 8)
    return state


def crc32c(data):
    """The CRC-32C of ``data`` (bytes-like) as an unsigned 32-bit int."""
    raw = np.frombuffer(data, dtype=np.uint8)
    n = raw.size
    if n < 4096:
        return _bytewise(0xFFFFFFFF, raw.tobytes()) ^ 0xFFFFFFFF
    length = math.isqrt(n)
    chunks = n // length
    body = raw[:chunks * length].reshape(chunks, length)
    states = np.zeros(chunks + 32, dtype=np.uint32)
    states[0] = 0xFFFFFFFF  # the CRC's initial value starts the first chunk only
    states[chunks:] = _UNITS
    columns = np.zeros((chunks + 32, length), dtype=np.uint8)
    columns[:chunks] = body
    columns = np.ascontiguousarray(columns.T)
    for j in range(length):
        states = _TABLE[(states ^ columns[j]) & np.uint32(0xFF)] ^ (states >> np.uint32(8))
    # The zero-byte carry over L bytes as four byte-indexed tables: carry(s) = T0[s & 255] ^ T1[..] ...
    units = states[chunks:]
    byte_values = np.arange(256, dtype=np.uint32)
    carry = []
    for b in range(4):
        bits = (byte_values[:, None] >> np.arange(8, dtype=np.uint32)) & np.uint32(1)
        picked = np.where(bits.astype(bool), units[b * 8:(b + 1) * 8][None, :], np.uint32(0))
        carry.append([int(v) for v in np.bitwise_xor.reduce(picked, axis=1)])
    t0, t1, t2, t3 = carry
    state = 0
    for s in (int(v) for v in states[:chunks]):
        state = (t0[state & 0xFF] ^ t1[(state >> 8) & 0xFF] ^ t2[(state >> 16) & 0xFF] ^ t3[state >> 24]) ^ s
    return _bytewise(state, raw[chunks * length:].tobytes()) ^ 0xFFFFFFFF
