package org.loraquant.safetensors;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Decodes little-endian F32, F16 and BF16 bytes to float, exactly: every input bit pattern maps to
 * the float of the same value (subnormals, infinities, signed zeros), and NaNs keep their sign and
 * payload (shifted into the float's mantissa, as PyTorch and NumPy do).
 *
 * <p>F32 is a bulk copy through a little-endian float view; F16 and BF16 read shorts through a
 * little-endian byte-array view, BF16 by a shift and F16 through a 65536-entry table built from
 * {@link #halfToFloatBits}, the plain bit-level definition. No allocation per element.
 */
public final class FloatDecoding {
  private static final VarHandle SHORT_LE =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT_LE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  /** float bits of every half-precision bit pattern, indexed by the unsigned 16-bit pattern. */
  private static final int[] HALF_TO_FLOAT_BITS = buildHalfTable();

  private FloatDecoding() {}

  /**
   * Decodes {@code count} elements of {@code dtype} starting at {@code src[srcOffset]} into a new
   * array. {@code dtype} must be F32, F16 or BF16.
   */
  public static float[] decode(DType dtype, byte[] src, int srcOffset, int count) {
    float[] dst = new float[count];
    decode(dtype, src, srcOffset, dst, 0, count);
    return dst;
  }

  /** Decodes {@code count} elements into {@code dst[dstOffset..]}. */
  public static void decode(
      DType dtype, byte[] src, int srcOffset, float[] dst, int dstOffset, int count) {
    long srcBytes = (long) count * dtype.size();
    if (count < 0 || srcOffset < 0 || srcOffset + srcBytes > src.length) {
      throw new IndexOutOfBoundsException(
          count + " " + dtype + " values at " + srcOffset + " do not fit " + src.length + " bytes");
    }
    Objects.checkFromIndexSize(dstOffset, count, dst.length);
    switch (dtype) {
      case F32 -> decodeF32(src, srcOffset, dst, dstOffset, count);
      case F16 -> decodeF16(src, srcOffset, dst, dstOffset, count);
      case BF16 -> decodeBF16(src, srcOffset, dst, dstOffset, count);
      default -> throw new IllegalArgumentException("not a float type we decode: " + dtype);
    }
  }

  static void decodeF32(byte[] src, int srcOffset, float[] dst, int dstOffset, int count) {
    // A bulk get from a little-endian float view is a plain memory copy on little-endian machines
    // (several times faster than a per-element loop) and copies NaN payloads bit for bit.
    ByteBuffer.wrap(src, srcOffset, count * 4)
        .slice()
        .order(ByteOrder.LITTLE_ENDIAN)
        .asFloatBuffer()
        .get(dst, dstOffset, count);
  }

  /** The plain per-element F32 path, kept as the reference the bulk copy is checked against. */
  static void decodeF32Plain(byte[] src, int srcOffset, float[] dst, int dstOffset, int count) {
    for (int i = 0; i < count; i++) {
      dst[dstOffset + i] = Float.intBitsToFloat((int) INT_LE.get(src, srcOffset + 4 * i));
    }
  }

  static void decodeF16(byte[] src, int srcOffset, float[] dst, int dstOffset, int count) {
    int[] table = HALF_TO_FLOAT_BITS;
    for (int i = 0; i < count; i++) {
      short h = (short) SHORT_LE.get(src, srcOffset + 2 * i);
      dst[dstOffset + i] = Float.intBitsToFloat(table[h & 0xFFFF]);
    }
  }

  static void decodeBF16(byte[] src, int srcOffset, float[] dst, int dstOffset, int count) {
    for (int i = 0; i < count; i++) {
      short h = (short) SHORT_LE.get(src, srcOffset + 2 * i);
      // bfloat16 is the upper half of a float32.
      dst[dstOffset + i] = Float.intBitsToFloat((h & 0xFFFF) << 16);
    }
  }

  /**
   * The float bits of a half-precision bit pattern: the plain definition, used to build the table.
   */
  public static int halfToFloatBits(int half) {
    int sign = (half & 0x8000) << 16;
    int exponent = (half >>> 10) & 0x1F;
    int mantissa = half & 0x3FF;
    if (exponent == 0x1F) {
      // Infinity (mantissa 0) or NaN: all-ones exponent, payload moved to the top of the mantissa.
      return sign | 0x7F80_0000 | (mantissa << 13);
    }
    if (exponent == 0) {
      if (mantissa == 0) {
        return sign;
      }
      // Subnormal half: value = mantissa * 2^-24. Normalise so the leading 1 becomes implicit.
      int shift = Integer.numberOfLeadingZeros(mantissa) - 21; // leading 1 moved to bit 10
      mantissa = (mantissa << shift) & 0x3FF;
      int floatExponent = 127 - 15 + 1 - shift;
      return sign | (floatExponent << 23) | (mantissa << 13);
    }
    return sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
  }

  /** The float value of a half-precision bit pattern. */
  public static float halfToFloat(int half) {
    return Float.intBitsToFloat(halfToFloatBits(half));
  }

  private static int[] buildHalfTable() {
    int[] table = new int[1 << 16];
    for (int h = 0; h < table.length; h++) {
      table[h] = halfToFloatBits(h);
    }
    return table;
  }
}
