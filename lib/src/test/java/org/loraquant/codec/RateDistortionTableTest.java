package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.loraquant.linalg.LinearAlgebra;

class RateDistortionTableTest {
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();

  @ParameterizedTest
  @EnumSource(LevelFamily.class)
  void eachEntryIsTheErrorOfThatComponentsProductQuantizedAtThatWidth(LevelFamily family) {
    int m = 70;
    int n = 45;
    int groupSize = 16;
    BalancedLayer layer = BalancedLayer.of(TestFactors.decaying(3, m, n, 4), LINALG);
    RateDistortionTable table = RateDistortionTable.measure(layer, family, groupSize);
    assertThat(table.components()).isEqualTo(4);
    for (int i = 0; i < 4; i++) {
      double s = layer.s()[i];
      assertThat(table.distortion(i, 0)).isEqualTo(s * s);
      assertThat(table.maxWidth(i)).isEqualTo(RateDistortionTable.MAX_WIDTH);
      for (int b = 1; b <= RateDistortionTable.MAX_WIDTH; b++) {
        double[] bh = new double[m];
        double[] ah = new double[n];
        VectorQuantizer.quantize(family, b, groupSize, layer.bp(), i * m, m, bh, 0);
        VectorQuantizer.quantize(family, b, groupSize, layer.ap(), i * n, n, ah, 0);
        double dense = 0;
        for (int x = 0; x < m; x++) {
          for (int y = 0; y < n; y++) {
            double d = layer.bp()[i * m + x] * layer.ap()[i * n + y] - bh[x] * ah[y];
            dense += d * d;
          }
        }
        assertThat(table.distortion(i, b)).as("component %d at %d bits", i, b)
            .isCloseTo(dense, within(1e-9 * s * s));
      }
      // More bits, less error, from 2 bits on (1 bit is a different code).
      for (int b = 3; b <= RateDistortionTable.MAX_WIDTH; b++) {
        assertThat(table.distortion(i, b)).isLessThan(table.distortion(i, b - 1));
      }
    }
  }

  @Test
  void costCountsCodesScalesZeroPointsAndTheWidthMapEntry() {
    BalancedLayer layer = BalancedLayer.of(TestFactors.decaying(4, 300, 130, 3), LINALG);
    // 300 values: 3 groups of 128 (the last 44); 130: 2 groups.
    RateDistortionTable uniform = RateDistortionTable.measure(layer, LevelFamily.UNIFORM, 128);
    RateDistortionTable lloyd = RateDistortionTable.measure(layer, LevelFamily.LLOYD_MAX, 128);
    assertThat(uniform.cost(0)).isEqualTo(8);
    assertThat(lloyd.cost(0)).isEqualTo(8);
    assertThat(uniform.cost(1)).isEqualTo(8 + 430 + 5 * 16);
    assertThat(lloyd.cost(1)).isEqualTo(8 + 430 + 5 * 16);
    assertThat(uniform.cost(3)).isEqualTo(8 + 3 * 430 + 5 * (16 + 8));
    assertThat(lloyd.cost(3)).isEqualTo(8 + 3 * 430 + 5 * 16);
    assertThat(lloyd.params()).isEqualTo(3L * 430);
    assertThat(lloyd.storedBits(new int[] {3, 1, 0}))
        .isEqualTo(RateDistortionTable.LAYER_FIXED_BITS + lloyd.cost(3) + lloyd.cost(1) + 8);
  }

  @Test
  void zeroComponentsAreOnlyDroppedAndTheFirstReachesTheGuardWidth() {
    // Rank 4, but B column 2 repeats column 0 (with A row 2 = row 0) and B column 3 is zero:
    // B A = 2 b0 a0 + b1 a1 has rank 2.
    LoraFactors f = TestFactors.gaussian(9, 60, 50, 4);
    for (int x = 0; x < 60; x++) {
      f.b()[x * 4 + 2] = f.b()[x * 4];
      f.b()[x * 4 + 3] = 0;
    }
    for (int y = 0; y < 50; y++) {
      f.a()[2 * 50 + y] = f.a()[y];
    }
    BalancedLayer layer = BalancedLayer.of(f, LINALG);
    RateDistortionTable table = RateDistortionTable.measure(layer, LevelFamily.LLOYD_MAX, 32);
    assertThat(table.maxWidth(0)).isEqualTo(RateDistortionTable.MAX_WIDTH);
    assertThat(table.maxWidth(1)).isEqualTo(RateDistortionTable.MAX_WIDTH);
    assertThat(table.maxWidth(2)).isZero();
    assertThat(table.maxWidth(3)).isZero();

    LoraFactors zero = new LoraFactors(20, 30, 2, new float[40], TestFactors.gaussian(1, 20, 30, 2).a());
    RateDistortionTable zeroTable =
        RateDistortionTable.measure(BalancedLayer.of(zero, LINALG), LevelFamily.LLOYD_MAX, 32);
    assertThat(zeroTable.maxWidth(0)).isEqualTo(RateDistortionTable.GUARD_WIDTH);
    assertThat(zeroTable.distortion(0, 2)).isZero();
    assertThat(zeroTable.maxWidth(1)).isZero();
  }
}
