package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

/**
 * What the fleet scope persists of a layer between measuring and encoding: its factors in 2 bytes
 * a value when they came from bfloat16 or float16, 4 otherwise, and every float back bit for bit
 * after a trip through Java serialisation (the engine's disk).
 */
class CompactFactorsTest {
  /** Every float's bit pattern in the array, so that -0.0 and 0.0 count as different. */
  private static int[] bits(float[] values) {
    int[] out = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = Float.floatToRawIntBits(values[i]);
    }
    return out;
  }

  /** The value cut to bfloat16 (as a bfloat16 tensor decodes). */
  static float bfloat16(float v) {
    return Float.intBitsToFloat(Float.floatToRawIntBits(v) & 0xFFFF0000);
  }

  /** The value rounded to binary16 (as a float16 tensor decodes). */
  static float float16(float v) {
    return Binary16.toFloat(Binary16.fromFloat(v));
  }

  /** The factors with each value of B and A mapped. */
  static LoraFactors rounded(LoraFactors f, java.util.function.UnaryOperator<Float> b,
      java.util.function.UnaryOperator<Float> a) {
    float[] bs = f.b().clone();
    float[] as = f.a().clone();
    for (int i = 0; i < bs.length; i++) {
      bs[i] = b.apply(bs[i]);
    }
    for (int i = 0; i < as.length; i++) {
      as[i] = a.apply(as[i]);
    }
    return new LoraFactors(f.m(), f.n(), f.r(), bs, as);
  }

  private static void assertExact(LoraFactors expected, CompactFactors compact) throws Exception {
    LoraFactors back = roundTrip(compact).factors();
    assertThat(back.m()).isEqualTo(expected.m());
    assertThat(back.n()).isEqualTo(expected.n());
    assertThat(back.r()).isEqualTo(expected.r());
    assertThat(bits(back.b())).isEqualTo(bits(expected.b()));
    assertThat(bits(back.a())).isEqualTo(bits(expected.a()));
  }

  @Test
  void bfloat16ValuesTakeTwoBytesAndComeBackBitForBit() throws Exception {
    LoraFactors f = rounded(TestFactors.gaussian(1, 70, 33, 6), CompactFactorsTest::bfloat16,
        CompactFactorsTest::bfloat16);
    f.b()[0] = -0.0f;
    f.b()[1] = Float.MIN_NORMAL; // low 16 bits zero: bfloat16's smallest normal
    f.a()[0] = bfloat16(3.0e38f); // beyond binary16's range
    f.a()[1] = bfloat16(1.0e-40f); // a float subnormal that bfloat16 holds
    CompactFactors compact = CompactFactors.of(f);
    assertThat(compact.bForm()).isEqualTo(CompactFactors.Form.BFLOAT16);
    assertThat(compact.aForm()).isEqualTo(CompactFactors.Form.BFLOAT16);
    assertThat(compact.bytes()).isEqualTo(2L * 6 * (70 + 33));
    assertExact(f, compact);
  }

  @Test
  void float16ValuesTakeTwoBytesAndComeBackBitForBit() throws Exception {
    LoraFactors f = rounded(TestFactors.gaussian(2, 40, 50, 4), CompactFactorsTest::float16,
        CompactFactorsTest::float16);
    f.b()[0] = -0.0f;
    f.b()[1] = Binary16.toFloat(Binary16.MIN_POSITIVE_BITS); // binary16 subnormal, 2^-24
    f.a()[0] = Binary16.toFloat(Binary16.MAX_FINITE_BITS); // 65504
    f.a()[1] = -Binary16.toFloat((short) 0x03ff); // largest binary16 subnormal
    CompactFactors compact = CompactFactors.of(f);
    assertThat(compact.bForm()).isEqualTo(CompactFactors.Form.FLOAT16);
    assertThat(compact.aForm()).isEqualTo(CompactFactors.Form.FLOAT16);
    assertThat(compact.bytes()).isEqualTo(2L * 4 * (40 + 50));
    assertExact(f, compact);
  }

  @Test
  void anyOtherFloatKeepsItsFourBytes() throws Exception {
    // float32 values; and a float16 factor whose last value alone is not one (checked to the end).
    LoraFactors f = rounded(TestFactors.gaussian(3, 30, 20, 5), v -> v,
        CompactFactorsTest::float16);
    f.a()[f.a().length - 1] = 1.0e-30f;
    f.b()[0] = Float.MIN_VALUE;
    CompactFactors compact = CompactFactors.of(f);
    assertThat(compact.bForm()).isEqualTo(CompactFactors.Form.FLOAT32);
    assertThat(compact.aForm()).isEqualTo(CompactFactors.Form.FLOAT32);
    assertThat(compact.bytes()).isEqualTo(4L * 5 * (30 + 20));
    assertExact(f, compact);
  }

  @Test
  void eachFactorTakesItsOwnFormAndEmptyFactorsAreHeld() throws Exception {
    LoraFactors f = rounded(TestFactors.gaussian(4, 16, 24, 3), CompactFactorsTest::bfloat16,
        v -> v);
    CompactFactors compact = CompactFactors.of(f);
    assertThat(compact.bForm()).isEqualTo(CompactFactors.Form.BFLOAT16);
    assertThat(compact.aForm()).isEqualTo(CompactFactors.Form.FLOAT32);
    assertThat(compact.bytes()).isEqualTo(2L * 16 * 3 + 4L * 3 * 24);
    assertExact(f, compact);

    LoraFactors empty = new LoraFactors(0, 5, 2, new float[0], new float[10]);
    assertExact(empty, CompactFactors.of(empty));
  }

  private static CompactFactors roundTrip(CompactFactors factors) throws IOException,
      ClassNotFoundException {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(buffer)) {
      out.writeObject(factors);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(buffer.toByteArray()))) {
      return (CompactFactors) in.readObject();
    }
  }
}
