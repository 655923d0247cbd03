package org.loraquant.safetensors;

/**
 * Encodes float values as IEEE binary16 (F16) and bfloat16 (BF16) bits, rounding to nearest with
 * ties to even, as PyTorch's {@code tensor.half()} / {@code tensor.bfloat16()} do. Java 17 has no
 * {@code Float.floatToFloat16} (it arrived in Java 20); this is the same algorithm.
 *
 * <p>NaN becomes the canonical quiet NaN of the target type (sign kept, payload dropped): the
 * payload carries no meaning in model weights and dropping it keeps output deterministic.
 */
public final class FloatEncoding {
  private FloatEncoding() {}

  /** Canonical quiet NaN of binary16, without the sign bit. */
  static final short F16_QUIET_NAN = 0x7E00;

  /** Canonical quiet NaN of bfloat16, without the sign bit. */
  static final short BF16_QUIET_NAN = 0x7FC0;

  /** The binary16 bits nearest to {@code value} (ties to even); overflow gives infinity. */
  public static short toF16(float value) {
    int bits = Float.floatToRawIntBits(value);
    int sign = (bits >>> 16) & 0x8000;
    if (Float.isNaN(value)) {
      return (short) (sign | F16_QUIET_NAN);
    }
    float abs = Math.abs(value);
    // 65504 (largest binary16) plus half an ulp (16): that and above rounds to infinity.
    if (abs >= 65520f) {
      return (short) (sign | 0x7C00);
    }
    // Half the smallest binary16 subnormal (2^-24); the tie at exactly 2^-25 goes to even (zero).
    if (abs <= 0x1.0p-25f) {
      return (short) sign;
    }
    int exponent = Math.getExponent(abs);
    int significand = bits & 0x007F_FFFF;
    int shift = 13;
    if (exponent < -14) {
      // A binary16 subnormal: make the implicit bit explicit and shift it into place.
      significand |= 0x0080_0000;
      shift += -14 - exponent;
      exponent = -15;
    }
    int truncated = significand >>> shift;
    int roundBit = (significand >>> (shift - 1)) & 1;
    int sticky = significand & ((1 << (shift - 1)) - 1);
    if (roundBit != 0 && (sticky != 0 || (truncated & 1) != 0)) {
      truncated++; // a carry out of the significand correctly bumps the exponent
    }
    return (short) (sign | (((exponent + 15) << 10) + truncated));
  }

  /** The bfloat16 bits nearest to {@code value} (ties to even); overflow gives infinity. */
  public static short toBF16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      return (short) (((bits >>> 16) & 0x8000) | BF16_QUIET_NAN);
    }
    int lsb = (bits >>> 16) & 1;
    return (short) ((bits + 0x7FFF + lsb) >>> 16);
  }

  /**
   * Writes {@code values} as little-endian F16, BF16 or F32 bytes, ready for a safetensors file.
   */
  public static byte[] encode(float[] values, DType dtype) {
    byte[] out = new byte[Math.multiplyExact(values.length, dtype.size())];
    switch (dtype) {
      case F32 -> {
        for (int i = 0, o = 0; i < values.length; i++, o += 4) {
          int b = Float.floatToRawIntBits(values[i]);
          out[o] = (byte) b;
          out[o + 1] = (byte) (b >>> 8);
          out[o + 2] = (byte) (b >>> 16);
          out[o + 3] = (byte) (b >>> 24);
        }
      }
      case F16 -> {
        for (int i = 0, o = 0; i < values.length; i++, o += 2) {
          short h = toF16(values[i]);
          out[o] = (byte) h;
          out[o + 1] = (byte) (h >>> 8);
        }
      }
      case BF16 -> {
        for (int i = 0, o = 0; i < values.length; i++, o += 2) {
          short h = toBF16(values[i]);
          out[o] = (byte) h;
          out[o + 1] = (byte) (h >>> 8);
        }
      }
      default ->
          throw new IllegalArgumentException(
              "cannot encode floats as " + dtype + "; supported: F32, F16, BF16");
    }
    return out;
  }
}
