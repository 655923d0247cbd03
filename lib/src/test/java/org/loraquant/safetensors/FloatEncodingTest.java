package org.loraquant.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * Checks the encoders bit for bit against a plain reference: the nearest representable value found
 * by binary search over every finite code (ties to the even code), infinity standing in for the
 * first value past the largest finite one, exactly as IEEE 754 rounds with an unbounded exponent.
 */
class FloatEncodingTest {

  /** Exact value of a binary16 code in 0..0x7C00; 0x7C00 (infinity) stands for 2^16. */
  private static double f16Value(int code) {
    int exponent = code >>> 10;
    int mantissa = code & 0x3FF;
    if (exponent == 0) {
      return Math.scalb((double) mantissa, -24);
    }
    return Math.scalb((double) (1024 + mantissa), exponent - 25);
  }

  /** Exact value of a bfloat16 code in 0..0x7F80; 0x7F80 (infinity) stands for 2^128. */
  private static double bf16Value(int code) {
    if (code == 0x7F80) {
      return Math.scalb(1.0, 128);
    }
    return Float.intBitsToFloat(code << 16);
  }

  /**
   * Reference rounding: codes 0..maxCode have increasing values; returns the nearest, ties even.
   */
  private static short reference(float x, int maxCode, IntToDoubleFunction value) {
    int sign = Float.floatToRawIntBits(x) < 0 ? 0x8000 : 0;
    double a = Math.abs((double) x);
    int lo = 0;
    int hi = maxCode;
    if (a >= value.applyAsDouble(maxCode)) {
      return (short) (sign | maxCode);
    }
    while (hi - lo > 1) { // invariant: value(lo) <= a < value(hi)
      int mid = (lo + hi) >>> 1;
      if (value.applyAsDouble(mid) <= a) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    double below = a - value.applyAsDouble(lo);
    double above = value.applyAsDouble(hi) - a;
    int code = below < above ? lo : above < below ? hi : ((lo & 1) == 0 ? lo : hi);
    return (short) (sign | code);
  }

  private static short referenceF16(float x) {
    return reference(x, 0x7C00, FloatEncodingTest::f16Value);
  }

  private static short referenceBF16(float x) {
    return reference(x, 0x7F80, FloatEncodingTest::bf16Value);
  }

  /** Every code, every midpoint between neighbours, one float either side of each, both signs. */
  private static List<Float> edgeValues(int maxCode, IntToDoubleFunction value) {
    List<Float> values = new ArrayList<>();
    for (int code = 0; code < maxCode; code++) {
      float v = (float) value.applyAsDouble(code);
      float mid = (float) ((value.applyAsDouble(code) + value.applyAsDouble(code + 1)) / 2);
      for (float x : new float[] {v, mid, Math.nextUp(mid), Math.nextDown(mid)}) {
        values.add(x);
        values.add(-x);
      }
    }
    float[] specials = {
      0f,
      Float.MIN_VALUE,
      Float.MIN_NORMAL,
      Float.MAX_VALUE,
      Float.POSITIVE_INFINITY,
      65504f,
      65519.996f,
      65520f,
      65536f,
      0x1.0p-25f,
      Math.nextUp(0x1.0p-25f),
      0x1.0p-24f,
      0x1.8p-24f,
      0x1.0p-14f,
      Math.nextDown(0x1.0p-14f),
      1f,
      1.00048828125f,
      3.4e38f
    };
    for (float s : specials) {
      values.add(s);
      values.add(-s);
    }
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 200_000; i++) {
      float x = Float.intBitsToFloat(random.nextInt());
      if (!Float.isNaN(x)) {
        values.add(x);
      }
    }
    return values;
  }

  @Test
  void f16MatchesReferenceOnEveryMidpointAndRandomFloats() {
    for (float x : edgeValues(0x7C00, FloatEncodingTest::f16Value)) {
      short expected = referenceF16(x);
      short actual = FloatEncoding.toF16(x);
      if (actual != expected) {
        assertThat(Integer.toHexString(actual & 0xFFFF))
            .as("toF16(%s) [bits %08x]", x, Float.floatToRawIntBits(x))
            .isEqualTo(Integer.toHexString(expected & 0xFFFF));
      }
    }
  }

  @Test
  void bf16MatchesReferenceOnEveryMidpointAndRandomFloats() {
    for (float x : edgeValues(0x7F80, FloatEncodingTest::bf16Value)) {
      short expected = referenceBF16(x);
      short actual = FloatEncoding.toBF16(x);
      if (actual != expected) {
        assertThat(Integer.toHexString(actual & 0xFFFF))
            .as("toBF16(%s) [bits %08x]", x, Float.floatToRawIntBits(x))
            .isEqualTo(Integer.toHexString(expected & 0xFFFF));
      }
    }
  }

  @Test
  void knownCodes() {
    assertThat(FloatEncoding.toF16(1f)).isEqualTo((short) 0x3C00);
    assertThat(FloatEncoding.toF16(-2f)).isEqualTo((short) 0xC000);
    assertThat(FloatEncoding.toF16(65504f)).isEqualTo((short) 0x7BFF);
    assertThat(FloatEncoding.toF16(65520f)).isEqualTo((short) 0x7C00);
    assertThat(FloatEncoding.toF16(0x1.0p-24f)).isEqualTo((short) 0x0001);
    assertThat(FloatEncoding.toF16(0x1.0p-25f)).isEqualTo((short) 0x0000);
    assertThat(FloatEncoding.toF16(-0f)).isEqualTo((short) 0x8000);
    assertThat(FloatEncoding.toBF16(1f)).isEqualTo((short) 0x3F80);
    assertThat(FloatEncoding.toBF16(Float.MAX_VALUE)).isEqualTo((short) 0x7F80);
    assertThat(FloatEncoding.toBF16(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xFF80);
  }

  @Test
  void nanBecomesCanonicalQuietNanWithItsSign() {
    float negativeSignallingNan = Float.intBitsToFloat(0xFF800001);
    assertThat(FloatEncoding.toF16(Float.NaN)).isEqualTo((short) 0x7E00);
    assertThat(FloatEncoding.toF16(negativeSignallingNan)).isEqualTo((short) 0xFE00);
    assertThat(FloatEncoding.toBF16(Float.NaN)).isEqualTo((short) 0x7FC0);
    assertThat(FloatEncoding.toBF16(negativeSignallingNan)).isEqualTo((short) 0xFFC0);
  }

  @Test
  void encodeWritesLittleEndianBytes() {
    float[] values = {1f, -2f};
    assertThat(FloatEncoding.encode(values, DType.F16))
        .containsExactly(0x00, 0x3C, 0x00, 0xC0 - 256);
    assertThat(FloatEncoding.encode(values, DType.BF16))
        .containsExactly(0x80, 0x3F, 0x00, 0xC0 - 256);
    assertThat(FloatEncoding.encode(new float[] {1f}, DType.F32))
        .containsExactly(0x00, 0x00, 0x80, 0x3F);
    assertThatThrownBy(() -> FloatEncoding.encode(values, DType.I8)).hasMessageContaining("I8");
  }
}
