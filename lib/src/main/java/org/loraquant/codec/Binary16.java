package org.loraquant.codec;

/**
 * IEEE 754 binary16 conversions (Java 17 has no Float.floatToFloat16). Range: largest finite
 * 65504; normal down to 2^-14 (6.1e-5); subnormal down to 2^-24 (6.0e-8) with fewer significant
 * bits; below 2^-25 rounds to zero.
 */
public final class Binary16 {
  /** Largest finite binary16 value, 65504. */
  public static final short MAX_FINITE_BITS = 0x7bff;
  /** Smallest positive binary16 value, 2^-24. */
  public static final short MIN_POSITIVE_BITS = 0x0001;

  private Binary16() {}

  /** Rounds to the nearest binary16, ties to even; overflow gives infinity, NaN stays NaN. */
  public static short fromFloat(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exponent = (bits >>> 23) & 0xff;
    int mantissa = bits & 0x7fffff;
    if (exponent == 0xff) {
      return (short) (sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0));
    }
    int e = exponent - 127 + 15;
    if (e >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) {
      if (e < -10) {
        return (short) sign;
      }
      // Subnormal result: value / 2^-24 = (1.mantissa) * 2^(e - 14 + 23) >> 23.
      int full = mantissa | 0x800000;
      int shift = 14 - e;
      int half = full >>> shift;
      int rest = full & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rest > halfway || (rest == halfway && (half & 1) != 0)) {
        half++;
      }
      return (short) (sign | half);
    }
    int half = (e << 10) | (mantissa >>> 13);
    int rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) {
      half++; // a carry into the exponent is the correct rounding, up to infinity
    }
    return (short) (sign | half);
  }

  /** The exact float value of binary16 bits. */
  public static float toFloat(short h) {
    int sign = (h & 0x8000) << 16;
    int e = (h >>> 10) & 0x1f;
    int mantissa = h & 0x3ff;
    if (e == 0) {
      float magnitude = mantissa * 0x1p-24f;
      return sign != 0 ? -magnitude : magnitude;
    }
    if (e == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
    }
    return Float.intBitsToFloat(sign | ((e - 15 + 127) << 23) | (mantissa << 13));
  }

  /**
   * A non-negative scale as stored: rounded to binary16 (via float), clamped to the largest finite
   * value instead of overflowing. A scale that rounds to zero stays zero.
   */
  public static short scaleBits(double scale) {
    short bits = fromFloat((float) scale);
    return (bits & 0x7fff) >= 0x7c00 ? MAX_FINITE_BITS : bits;
  }
}
