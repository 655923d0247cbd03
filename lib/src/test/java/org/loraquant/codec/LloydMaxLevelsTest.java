package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LloydMaxLevelsTest {
  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8})
  void theFormatsTablesAreTheRecomputedLloydMaxLevelsRoundedToBinary32(int bits) {
    double[] designed = LloydMaxDesign.positiveLevels(bits);
    float[] stored = LloydMaxLevels.positiveLevels(bits);
    assertThat(stored).hasSize(1 << (bits - 1));
    for (int j = 0; j < stored.length; j++) {
      // Within one binary32 ulp: the design converges to about 1e-11, so a value next to a
      // rounding boundary may round either way.
      assertThat((double) stored[j]).as("level %d at %d bits", j, bits)
          .isCloseTo(designed[j], within((double) Math.ulp(stored[j])));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8})
  void everyStoredLevelIsTheCentroidOfItsCell(int bits) {
    float[] stored = LloydMaxLevels.positiveLevels(bits);
    double[] y = new double[stored.length];
    for (int j = 0; j < y.length; j++) {
      y[j] = stored[j];
    }
    for (int j = 0; j < y.length; j++) {
      double centroid = LloydMaxDesign.centroid(LloydMaxDesign.lower(y, j), LloydMaxDesign.upper(y, j));
      assertThat(y[j]).isCloseTo(centroid, within(1e-6));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 8})
  void codesNameTheLevelsInAscendingOrderSymmetricAboutZero(int bits) {
    int count = 1 << bits;
    for (int q = 1; q < count; q++) {
      assertThat(LloydMaxLevels.level(bits, q)).isGreaterThan(LloydMaxLevels.level(bits, q - 1));
    }
    for (int q = 0; q < count; q++) {
      assertThat(LloydMaxLevels.level(bits, q)).isEqualTo(-LloydMaxLevels.level(bits, count - 1 - q));
      // The nearest code of a level is that level's code.
      assertThat(LloydMaxLevels.nearestCode(bits, LloydMaxLevels.level(bits, q))).isEqualTo(q);
    }
  }

  /** The grid lookup gives exactly the binary search's code, at thresholds and cell edges too. */
  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8})
  void nearestCodeByGridIsNearestCodeBySearch(int bits) {
    java.util.Random random = new java.util.Random(bits);
    java.util.List<Double> probes = new java.util.ArrayList<>();
    for (int i = 0; i < 20000; i++) {
      probes.add(random.nextGaussian() * 2);
    }
    for (int q = 1; q < 1 << bits; q++) {
      double t = 0.5 * ((double) LloydMaxLevels.level(bits, q - 1) + LloydMaxLevels.level(bits, q));
      probes.add(t);
      probes.add(Math.nextUp(t));
      probes.add(Math.nextDown(t));
    }
    for (int c = 0; c <= 8192; c += 7) {
      double edge = -6.0 + c * (12.0 / 8192);
      probes.add(edge);
      probes.add(Math.nextDown(edge));
    }
    probes.addAll(java.util.List.of(-1e9, 1e9, -6.0, 6.0, 0.0, -0.0, Double.MAX_VALUE,
        -Double.MAX_VALUE));
    for (double t : probes) {
      assertThat(LloydMaxLevels.nearestCode(bits, t)).as("t = %s", t)
          .isEqualTo(LloydMaxLevels.nearestCodeBySearch(bits, t));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3})
  void publishedValues(int bits) {
    // Max (1960): 2 bits +-0.4528, +-1.510; 3 bits +-0.2451, 0.7560, 1.344, 2.152.
    double[] expected = bits == 2 ? new double[] {0.4528, 1.510}
        : new double[] {0.2451, 0.7560, 1.344, 2.152};
    float[] stored = LloydMaxLevels.positiveLevels(bits);
    for (int j = 0; j < expected.length; j++) {
      assertThat((double) stored[j]).isCloseTo(expected[j], within(6e-4));
    }
  }
}
