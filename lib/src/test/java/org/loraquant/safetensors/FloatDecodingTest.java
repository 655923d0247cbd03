package org.loraquant.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class FloatDecodingTest {

  /**
   * IEEE 754 binary16 by its definition, independent of the bit tricks under test: the value is
   * computed in double (where every half is exact) and only then rounded to float (also exact).
   * NaNs keep sign and payload, moved to the top of the float mantissa (what PyTorch/NumPy do).
   */
  private static int referenceF16(int half) {
    int sign = half >>> 15;
    int exponent = (half >>> 10) & 0x1F;
    int fraction = half & 0x3FF;
    if (exponent == 0x1F && fraction != 0) {
      return (sign << 31) | 0x7F80_0000 | (fraction << 13);
    }
    double magnitude;
    if (exponent == 0x1F) {
      magnitude = Double.POSITIVE_INFINITY;
    } else if (exponent == 0) {
      magnitude = fraction * Math.pow(2, -24);
    } else {
      magnitude = (1 + fraction / 1024.0) * Math.pow(2, exponent - 15);
    }
    float value = (float) magnitude;
    assertThat((double) value).isEqualTo(magnitude);
    return Float.floatToRawIntBits(sign == 1 ? -value : value);
  }

  /** bfloat16 by its definition: 1 sign, 8 exponent (bias 127), 7 fraction bits. */
  private static int referenceBF16(int bf) {
    int sign = bf >>> 15;
    int exponent = (bf >>> 7) & 0xFF;
    int fraction = bf & 0x7F;
    if (exponent == 0xFF && fraction != 0) {
      return (sign << 31) | 0x7F80_0000 | (fraction << 16);
    }
    double magnitude;
    if (exponent == 0xFF) {
      magnitude = Double.POSITIVE_INFINITY;
    } else if (exponent == 0) {
      magnitude = fraction / 128.0 * Math.pow(2, -126);
    } else {
      magnitude = (1 + fraction / 128.0) * Math.pow(2, exponent - 127);
    }
    float value = (float) magnitude;
    assertThat((double) value).isEqualTo(magnitude);
    return Float.floatToRawIntBits(sign == 1 ? -value : value);
  }

  private static byte[] allSixteenBitPatterns() {
    ByteBuffer bb = ByteBuffer.allocate(2 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (int h = 0; h < 1 << 16; h++) {
      bb.putShort((short) h);
    }
    return bb.array();
  }

  @Test
  void everyF16BitPatternDecodesToItsExactValue() {
    float[] decoded = FloatDecoding.decode(DType.F16, allSixteenBitPatterns(), 0, 1 << 16);
    for (int h = 0; h < 1 << 16; h++) {
      int expected = referenceF16(h);
      int actual = Float.floatToRawIntBits(decoded[h]);
      if (actual != expected) {
        throw new AssertionError(
            String.format(
                "F16 0x%04x: expected float bits 0x%08x, got 0x%08x", h, expected, actual));
      }
      assertThat(FloatDecoding.halfToFloatBits(h)).isEqualTo(expected);
    }
  }

  @Test
  void everyBF16BitPatternDecodesToItsExactValue() {
    float[] decoded = FloatDecoding.decode(DType.BF16, allSixteenBitPatterns(), 0, 1 << 16);
    for (int h = 0; h < 1 << 16; h++) {
      int expected = referenceBF16(h);
      int actual = Float.floatToRawIntBits(decoded[h]);
      if (actual != expected) {
        throw new AssertionError(
            String.format(
                "BF16 0x%04x: expected float bits 0x%08x, got 0x%08x", h, expected, actual));
      }
    }
  }

  @Test
  void f16EdgeValues() {
    assertThat(FloatDecoding.halfToFloat(0x0001))
        .isEqualTo((float) Math.pow(2, -24)); // min subnormal
    assertThat(FloatDecoding.halfToFloat(0x03FF)).isEqualTo((float) (1023 * Math.pow(2, -24)));
    assertThat(FloatDecoding.halfToFloat(0x0400)).isEqualTo((float) Math.pow(2, -14)); // min normal
    assertThat(FloatDecoding.halfToFloat(0x7BFF)).isEqualTo(65504f); // max finite
    assertThat(FloatDecoding.halfToFloat(0x3C00)).isEqualTo(1f);
    assertThat(FloatDecoding.halfToFloat(0xC000)).isEqualTo(-2f);
    assertThat(FloatDecoding.halfToFloat(0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(FloatDecoding.halfToFloat(0xFC00)).isEqualTo(Float.NEGATIVE_INFINITY);
    assertThat(Float.floatToRawIntBits(FloatDecoding.halfToFloat(0x8000))).isEqualTo(0x8000_0000);
    assertThat(FloatDecoding.halfToFloatBits(0xFE01)).isEqualTo(0xFFC0_2000); // -qNaN, payload 1
  }

  @Test
  void f32KeepsEveryBitIncludingNaNPayloads() {
    int[] patterns = {
      0x0000_0000, 0x8000_0000, 0x0000_0001, 0x8000_0001, 0x007F_FFFF, 0x7F7F_FFFF, 0x7F80_0000,
      0xFF80_0000, 0x7F80_0001, 0x7FC0_0000, 0xFFC0_1234, 0x7FBF_FFFF, 0x3F80_0000, 0xC2F6_E979
    };
    ByteBuffer bb = ByteBuffer.allocate(4 + 4 * patterns.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.putInt(0xDEAD_BEEF); // one value of padding to exercise srcOffset
    for (int p : patterns) {
      bb.putInt(p);
    }
    float[] dst = new float[patterns.length + 1];
    FloatDecoding.decode(DType.F32, bb.array(), 4, dst, 1, patterns.length);
    assertThat(dst[0]).isEqualTo(0f);
    for (int i = 0; i < patterns.length; i++) {
      assertThat(Float.floatToRawIntBits(dst[i + 1]))
          .as("pattern %08x", patterns[i])
          .isEqualTo(patterns[i]);
    }
  }

  @Test
  void f32BulkCopyMatchesThePlainLoopOnRandomBits() {
    byte[] src = new byte[4 * 10_001 + 3];
    new java.util.SplittableRandom(7).nextBytes(src);
    float[] fast = new float[10_001];
    float[] plain = new float[10_001];
    FloatDecoding.decode(DType.F32, src, 3, fast, 0, fast.length);
    FloatDecoding.decodeF32Plain(src, 3, plain, 0, plain.length);
    for (int i = 0; i < fast.length; i++) {
      assertThat(Float.floatToRawIntBits(fast[i])).isEqualTo(Float.floatToRawIntBits(plain[i]));
    }
  }

  @Test
  void offsetsAreHonouredFor16BitTypes() {
    byte[] src = {0x55, 0x00, 0x3C, 0x00, (byte) 0xC0};
    assertThat(FloatDecoding.decode(DType.F16, src, 1, 2)).containsExactly(1f, -2f);
    assertThat(FloatDecoding.decode(DType.BF16, new byte[] {0x7F, (byte) 0x80, 0x3F}, 1, 1))
        .containsExactly(1f);
  }

  @Test
  void refusesOutOfRangeAndNonFloatTypes() {
    assertThatThrownBy(() -> FloatDecoding.decode(DType.F32, new byte[7], 0, 2))
        .isInstanceOf(IndexOutOfBoundsException.class)
        .hasMessage("2 F32 values at 0 do not fit 7 bytes");
    assertThatThrownBy(() -> FloatDecoding.decode(DType.I32, new byte[8], 0, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("not a float type we decode: I32");
  }
}
