"""F16 / BF16 rounding bit for bit as Java's FloatEncoding, and Java's Double.toString / Jackson JSON."""

import struct
import unittest

import numpy as np

from loraquant import floats, jackson


def java_to_f16(value_bits):
    """A line-by-line port of FloatEncoding.toF16 on float32 bits."""
    bits = value_bits
    sign = (bits >> 16) & 0x8000
    value = struct.unpack("<f", struct.pack("<I", bits))[0]
    if value != value:
        return sign | 0x7E00
    magnitude = bits & 0x7FFFFFFF
    abs_value = struct.unpack("<f", struct.pack("<I", magnitude))[0]
    if abs_value >= 65520.0:
        return sign | 0x7C00
    if abs_value <= 2.0 ** -25:
        return sign
    exponent = ((magnitude >> 23) & 0xFF) - 127 if magnitude >> 23 else -127  # Math.getExponent
    significand = bits & 0x007FFFFF
    shift = 13
    if exponent < -14:
        significand |= 0x00800000
        shift += -14 - exponent
        exponent = -15
    truncated = significand >> shift
    round_bit = (significand >> (shift - 1)) & 1
    sticky = significand & ((1 << (shift - 1)) - 1)
    if round_bit and (sticky or truncated & 1):
        truncated += 1
    return (sign | (((exponent + 15) << 10) + truncated)) & 0xFFFF


def java_to_bf16(value_bits):
    value = struct.unpack("<f", struct.pack("<I", value_bits))[0]
    if value != value:
        return ((value_bits >> 16) & 0x8000) | 0x7FC0
    lsb = (value_bits >> 16) & 1
    return ((value_bits + 0x7FFF + lsb) & 0xFFFFFFFF) >> 16


def sample_bits():
    rng = np.random.default_rng(7)
    edges = []
    for e16 in range(0, 32):  # around every binary16 exponent: ties, halfway points, subnormals
        for m in (0, 1, 0x1FF, 0x200, 0x3FF):
            h = (e16 << 10) | m
            f = np.array([h], dtype="<u2").view("<f2").astype(np.float32)[0]
            b = int(np.array([f], dtype=np.float32).view(np.uint32)[0])
            edges += [b, b + 1, b - 1, b + 0x1000, b + 0xFFF, b + 0x1001, b + 0x2000]
    edges += [0x7F800000, 0x7F800001, 0x7FC00000, 0x7F7FFFFF, 0x477FE000, 0x477FF000, 0x477FEFFF,
              0x33000000, 0x33000001, 0x32FFFFFF, 0x00000001, 0x3F808000, 0x3F818000, 0x3F808001]
    edges = [b & 0xFFFFFFFF for b in edges]
    edges += [b | 0x80000000 for b in edges]
    random = rng.integers(0, 1 << 32, size=20000, dtype=np.uint64).astype(np.uint32).tolist()
    return np.array(edges + random, dtype=np.uint32)


class FloatEncodingTest(unittest.TestCase):
    def test_f16_rounds_as_java(self):
        bits = sample_bits()
        got = floats.to_f16_bits(bits.view(np.float32))
        expected = np.array([java_to_f16(int(b)) for b in bits], dtype=np.uint16)
        mismatch = np.flatnonzero(got != expected)
        self.assertEqual(mismatch.size, 0, [hex(int(bits[i])) for i in mismatch[:5]])

    def test_bf16_rounds_as_java(self):
        bits = sample_bits()
        got = floats.to_bf16_bits(bits.view(np.float32))
        expected = np.array([java_to_bf16(int(b)) for b in bits], dtype=np.uint16)
        mismatch = np.flatnonzero(got != expected)
        self.assertEqual(mismatch.size, 0, [hex(int(bits[i])) for i in mismatch[:5]])

    def test_binary16_scales_convert_exactly(self):
        every = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
        finite = every[(every & 0x7C00) != 0x7C00]
        back = floats.to_f16_bits(floats.f16_bits_to_f32(finite))
        self.assertTrue(np.array_equal(back, finite))


class JacksonTest(unittest.TestCase):
    def test_doubles_print_as_java_double_to_string(self):
        cases = [(0.8, "0.8"), (1e-5, "1.0E-5"), (100.0, "100.0"), (1e7, "1.0E7"), (9999999.0, "9999999.0"),
                 (0.001, "0.001"), (0.0009, "9.0E-4"), (-3.25e-10, "-3.25E-10"), (0.0, "0.0"), (-0.0, "-0.0"),
                 (12345678.9, "1.23456789E7"), (0.41388236831676495, "0.41388236831676495"), (2.5, "2.5")]
        for value, text in cases:
            self.assertEqual(jackson.java_double(value), text, repr(value))

    def test_strings_escape_as_jackson(self):
        self.assertEqual(jackson.string('a"b\\c\n\x01é'), '"a\\"b\\\\c\\n\\u0001é"')

    def test_indented_output(self):
        doc = {"a": [1, 2.5], "b": {}, "c": [], "d": {"e": None, "f": [{"g": True}]}}
        self.assertEqual(jackson.indented(doc), '{\n  "a" : [ 1, 2.5 ],\n  "b" : { },\n  "c" : [ ],\n'
                         '  "d" : {\n    "e" : null,\n    "f" : [ {\n      "g" : true\n    } ]\n  }\n}')


if __name__ == "__main__":
    unittest.main()
