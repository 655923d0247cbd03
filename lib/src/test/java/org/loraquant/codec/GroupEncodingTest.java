package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class GroupEncodingTest {
  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 8})
  void valuesOnTheGridComeBackUnchanged(int bits) {
    Random random = new Random(bits);
    int qmax = (1 << bits) - 1;
    double scale = 0x1p-7;
    int zero = qmax / 3;
    double[] x = new double[37];
    for (int i = 0; i < x.length; i++) {
      x[i] = (random.nextInt(qmax + 1) - zero) * scale;
    }
    x[0] = -zero * scale; // the grid's ends, so min/max span the whole grid
    x[1] = (qmax - zero) * scale;
    double[] recon = new double[x.length];
    byte[] codes = new byte[x.length];
    int params = GroupEncoding.encodeAffine(x, 0, x.length, bits, -zero * scale,
        (qmax - zero) * scale, codes, 0, recon, 0);
    assertThat(recon).containsExactly(x);
    assertThat(params >>> 16).isEqualTo(zero);
    assertThat(Binary16.toFloat((short) params)).isEqualTo((float) scale);
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 8})
  void roundingErrorIsAtMostHalfAStep(int bits) {
    Random random = new Random(100 + bits);
    for (int trial = 0; trial < 50; trial++) {
      double[] x = new double[128];
      double lo = Double.POSITIVE_INFINITY;
      double hi = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < x.length; i++) {
        x[i] = 0.03 * random.nextGaussian();
        lo = Math.min(lo, x[i]);
        hi = Math.max(hi, x[i]);
      }
      double[] recon = new double[x.length];
      byte[] codes = new byte[x.length];
      int params = GroupEncoding.encodeAffine(x, 0, x.length, bits, lo, hi, codes, 0, recon, 0);
      double step = Binary16.toFloat((short) params);
      // Half a step, plus what the binary16 rounding of the step (relative 2^-11) can shift the ends.
      double bound = 0.5 * step + (hi - lo) * 0x1p-10;
      for (int i = 0; i < x.length; i++) {
        assertThat(Math.abs(x[i] - recon[i])).isLessThanOrEqualTo(bound);
        assertThat(codes[i] & 0xff).isLessThan(1 << bits);
      }
    }
  }

  @Test
  void allZeroGroupsDecodeToZeroAtEveryWidth() {
    double[] x = new double[10];
    double[] recon = new double[10];
    java.util.Arrays.fill(recon, 7);
    byte[] codes = new byte[10];
    short scale = GroupEncoding.encodeSign(x, 0, 10, 1.0, codes, 0, recon, 0);
    assertThat(scale).isZero();
    assertThat(recon).containsOnly(0.0);
    for (int bits = 2; bits <= 8; bits++) {
      java.util.Arrays.fill(recon, 7);
      GroupEncoding.encodeAffine(x, 0, 10, bits, 0, 0, codes, 0, recon, 0);
      assertThat(recon).containsOnly(0.0);
    }
  }

  @Test
  void signCodeUsesMeanAbsoluteValueAndStoresAnIsolatedZeroAsPlusScale() {
    double[] x = {0.5, -0.25, 0.0, 0.75};
    double[] recon = new double[4];
    byte[] codes = new byte[4];
    short scale = GroupEncoding.encodeSign(x, 0, 4, 1.0, codes, 0, recon, 0);
    assertThat(Binary16.toFloat(scale)).isEqualTo(0.375f);
    assertThat(codes).containsExactly(1, 0, 1, 1);
    assertThat(recon).containsExactly(0.375, -0.375, 0.375, 0.375);
  }

  @Test
  void encodingOfAGroupSliceLeavesItsNeighboursAlone() {
    double[] x = {9, 0.1, -0.2, 0.3, 9};
    double[] recon = {5, 0, 0, 0, 5};
    byte[] codes = new byte[3];
    GroupEncoding.encodeSign(x, 1, 3, 1.0, codes, 0, recon, 1);
    assertThat(recon[0]).isEqualTo(5);
    assertThat(recon[4]).isEqualTo(5);
  }

  /** The 2-bit threshold loop gives exactly the codes of the division formula, boundaries included. */
  @Test
  void twoBitThresholdCodesEqualDivisionCodes() {
    Random random = new Random(302);
    int qmax = 3;
    for (int trial = 0; trial < 600; trial++) {
      double[] x = new double[64];
      double width = Math.pow(10, -7 + 7 * random.nextDouble());
      double center = (random.nextDouble() - 0.5) * width * (trial % 3);
      for (int i = 0; i < x.length; i++) {
        x[i] = center + (random.nextDouble() - 0.5) * width;
      }
      double lo = Double.POSITIVE_INFINITY;
      double hi = Double.NEGATIVE_INFINITY;
      for (double v : x) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      float scale = Binary16.toFloat(Binary16.scaleBits(Math.max(hi - lo, GroupEncoding.MIN_RANGE) / qmax));
      int zero = (int) Math.max(0, Math.min(qmax, Math.rint(-lo / scale)));
      // Values exactly at, and one ulp around, rounding boundaries (some outside [lo, hi]).
      for (int i = 0; i + 3 <= 24; i += 3) {
        double b = (random.nextInt(qmax + 3) - zero - 1.5) * scale;
        x[i] = b;
        x[i + 1] = Math.nextUp(b);
        x[i + 2] = Math.nextDown(b);
      }
      x[30] = 0.0;
      x[31] = -0.0;
      byte[] codes = new byte[x.length];
      double[] recon = new double[x.length];
      GroupEncoding.encodeAffine(x, 0, x.length, 2, lo, hi, codes, 0, recon, 0);
      for (int i = 0; i < x.length; i++) {
        int expected = GroupEncoding.codeByDivision(x[i], qmax, scale, zero);
        assertThat(codes[i]).as("x=%s scale=%s zero=%d", x[i], scale, zero).isEqualTo((byte) expected);
        assertThat(recon[i]).isEqualTo((double) GroupEncoding.affineValue(expected, zero, scale));
      }
    }
  }
}
