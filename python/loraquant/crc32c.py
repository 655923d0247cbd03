"""CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, as ``java.util.zip.CRC32C``) in numpy.

Format version 2 stores one per layer. A byte-at-a-time loop in Python would cost about a second per
megabyte, so the message is cut into chunks of ``CHUNK`` bytes that run side by side (one numpy step per
byte position), and the chunk results are then joined pairwise, level by level, with the CRC's
linearity: the state after ``X || Y`` is the state after ``X`` carried through ``len(Y)`` zero bytes,
XOR the state of ``Y`` started from zero. Carrying a state through a run of zero bytes is a linear map
of its 32 bits, applied as four byte-indexed tables; the tables for runs of ``CHUNK * 2^j`` bytes are
built once and kept.
"""

import numpy as np

_POLY = 0x82F63B78
CHUNK = 16  # bytes per chunk: few numpy steps per call, and few joining levels


def _table():
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


_TABLE = _table()
_TABLE_LIST = [int(v) for v in _TABLE]
_BYTE_BITS = ((np.arange(256, dtype=np.uint32)[:, None] >> np.arange(8, dtype=np.uint32)) & 1).astype(bool)


def _bytewise(state, data):
    table = _TABLE_LIST
    for byte in data:
        state = table[(state ^ byte) & 0xFF] ^ (state >> 8)
    return state


def _carry(tables, states):
    """The states carried through the zero-byte run ``tables`` stands for."""
    return (tables[0][states & 0xFF] ^ tables[1][(states >> 8) & 0xFF] ^ tables[2][(states >> 16) & 0xFF]
            ^ tables[3][states >> 24])


def _tables_of(columns):
    """Byte tables of the linear map whose images of the 32 unit states are ``columns``."""
    return [np.bitwise_xor.reduce(np.where(_BYTE_BITS, columns[8 * b:8 * b + 8][None, :], np.uint32(0)), axis=1)
            for b in range(4)]


def _chunk_carry():
    units = np.uint32(1) << np.arange(32, dtype=np.uint32)
    for _ in range(CHUNK):
        units = _TABLE[units & 0xFF] ^ (units >> 8)
    return _tables_of(units)


_CARRIES = [_chunk_carry()]  # _CARRIES[j]: a run of CHUNK * 2^j zero bytes


def _carry_tables(level):
    while len(_CARRIES) <= level:
        previous = _CARRIES[-1]
        units = np.uint32(1) << np.arange(32, dtype=np.uint32)
        _CARRIES.append(_tables_of(_carry(previous, _carry(previous, units))))
    return _CARRIES[level]


def crc32c(data):
    """The CRC-32C of ``data`` (bytes-like) as an unsigned 32-bit int."""
    raw = np.frombuffer(data, dtype=np.uint8)
    n = raw.size
    if n < 1024:
        return _bytewise(0xFFFFFFFF, raw.tobytes()) ^ 0xFFFFFFFF
    chunks = n // CHUNK
    columns = np.ascontiguousarray(raw[:chunks * CHUNK].reshape(chunks, CHUNK).T)
    states = np.zeros(chunks, dtype=np.uint32)
    states[0] = 0xFFFFFFFF  # the CRC's initial value starts the first chunk only
    for j in range(CHUNK):
        states = _TABLE[(states ^ columns[j]) & np.uint32(0xFF)] ^ (states >> np.uint32(8))
    level = 0
    while states.size > 1:
        if states.size % 2:
            # A zero state in front stands for nothing: carried anywhere it stays zero.
            states = np.concatenate([np.zeros(1, dtype=np.uint32), states])
        states = _carry(_carry_tables(level), states[0::2]) ^ states[1::2]
        level += 1
    return _bytewise(int(states[0]), raw[chunks * CHUNK:].tobytes()) ^ 0xFFFFFFFF
