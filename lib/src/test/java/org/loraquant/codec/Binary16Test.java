package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

class Binary16Test {
  @Test
  void everyFiniteValueRoundTrips() {
    for (int bits = 0; bits < 0x10000; bits++) {
      short h = (short) bits;
      float f = Binary16.toFloat(h);
      if (Float.isNaN(f)) {
        assertThat((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff) != 0).isTrue();
        continue;
      }
      assertThat(Binary16.fromFloat(f)).as("bits %04x", bits).isEqualTo(h);
    }
  }

  @Test
  void midpointsRoundToEvenAndNeighboursToNearest() {
    for (int bits = 0; bits < 0x7bff; bits++) {
      float lower = Binary16.toFloat((short) bits);
      float upper = Binary16.toFloat((short) (bits + 1));
      float mid = new BigDecimal(lower).add(new BigDecimal(upper)).divide(BigDecimal.valueOf(2)).floatValue();
      short even = (short) ((bits & 1) == 0 ? bits : bits + 1);
      assertThat(Binary16.fromFloat(mid)).as("midpoint above %04x", bits).isEqualTo(even);
      assertThat(Binary16.fromFloat(Math.nextDown(mid))).isEqualTo((short) bits);
      assertThat(Binary16.fromFloat(Math.nextUp(mid))).isEqualTo((short) (bits + 1));
    }
  }

  @Test
  void knownValues() {
    assertThat(Binary16.toFloat((short) 0x7bff)).isEqualTo(65504f);
    assertThat(Binary16.toFloat((short) 0x0400)).isEqualTo(0x1p-14f);
    assertThat(Binary16.toFloat((short) 0x0001)).isEqualTo(0x1p-24f);
    assertThat(Binary16.fromFloat(1f)).isEqualTo((short) 0x3c00);
    assertThat(Binary16.fromFloat(-2f)).isEqualTo((short) 0xc000);
    assertThat(Binary16.fromFloat(70000f)).isEqualTo((short) 0x7c00);
    assertThat(Binary16.fromFloat(0x1p-26f)).isEqualTo((short) 0);
  }

  @Test
  void scalesClampInsteadOfOverflowing() {
    assertThat(Binary16.scaleBits(1e6)).isEqualTo(Binary16.MAX_FINITE_BITS);
    assertThat(Binary16.scaleBits(0)).isEqualTo((short) 0);
    assertThat(Binary16.toFloat(Binary16.scaleBits(0.1))).isCloseTo(0.1f,
        org.assertj.core.api.Assertions.within(0.1f / 2048));
  }
}
