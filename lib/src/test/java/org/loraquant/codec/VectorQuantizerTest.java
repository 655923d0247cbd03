package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class VectorQuantizerTest {
  private static double[] gaussian(long seed, int len, double sigma) {
    Random random = new Random(seed);
    double[] x = new double[len];
    for (int i = 0; i < len; i++) {
      x[i] = sigma * random.nextGaussian();
    }
    return x;
  }

  /** Decoding the stored codes gives exactly what the encoder measured, at every width. */
  @ParameterizedTest
  @CsvSource({"UNIFORM, 300, 128", "LLOYD_MAX, 300, 128", "UNIFORM, 7, 4", "LLOYD_MAX, 7, 4",
      "LLOYD_MAX, 1, 128", "UNIFORM, 1, 128"})
  void roundTripsAtEveryWidth(LevelFamily family, int len, int groupSize) {
    double[] x = gaussian(len, len + 5, 0.02);
    // An all-zero group in the middle when there is room.
    if (len >= 300) {
      for (int i = 128; i < 256; i++) {
        x[5 + i] = 0;
      }
    }
    for (int bits = 1; bits <= 8; bits++) {
      double[] recon = new double[len + 3];
      VectorCode code = VectorQuantizer.quantize(family, bits, groupSize, x, 5, len, recon, 3);
      assertThat(code.codes()).hasSize(len);
      assertThat(code.scales()).hasSize(GroupGeometry.groupsPerVector(len, groupSize));
      assertThat(code.zeros()).hasSize(family.hasZeroPoints(bits) ? code.scales().length : 0);
      for (byte q : code.codes()) {
        assertThat(q & 0xff).isLessThan(1 << bits);
      }
      float[] decoded = new float[len];
      VectorQuantizer.decode(family, code, groupSize, len, decoded, 0, 1);
      for (int i = 0; i < len; i++) {
        assertThat((double) decoded[i]).as("value %d at %d bits", i, bits).isEqualTo(recon[3 + i]);
      }
      // As a column of a row-major matrix (stride 3, from offset 2): the same values, and
      // nothing written between them.
      float[] column = new float[2 + 3 * len];
      VectorQuantizer.decode(family, code, groupSize, len, column, 2, 3);
      for (int i = 0; i < column.length; i++) {
        float expected = i >= 2 && (i - 2) % 3 == 0 ? decoded[(i - 2) / 3] : 0f;
        assertThat(column[i]).as("column entry %d at %d bits", i, bits).isEqualTo(expected);
      }
      double[] asDoubles = new double[len + 4];
      VectorQuantizer.decode(family, code, groupSize, len, asDoubles, 4);
      for (int i = 0; i < len; i++) {
        assertThat(asDoubles[4 + i]).as("double value %d at %d bits", i, bits)
            .isEqualTo(recon[3 + i]);
      }
      if (len >= 300) {
        for (int i = 128; i < 256; i++) {
          assertThat(decoded[i]).as("all-zero group at %d bits", bits).isZero();
        }
      }
    }
  }

  /** The rate-distortion table's path (values only, codes not kept) gives the very same values. */
  @ParameterizedTest
  @EnumSource(LevelFamily.class)
  void reconstructGivesTheValuesQuantizeGives(LevelFamily family) {
    double[] x = gaussian(3, 1000, 0.01);
    for (int bits = 1; bits <= 8; bits++) {
      double[] quantized = new double[1003];
      double[] reconstructed = new double[1003];
      VectorQuantizer.quantize(family, bits, 128, x, 7, 990, quantized, 2);
      VectorQuantizer.reconstruct(family, bits, 128, x, 7, 990, reconstructed, 2);
      assertThat(reconstructed).as("%d bits", bits).isEqualTo(quantized);
    }
  }

  @ParameterizedTest
  @EnumSource(LevelFamily.class)
  void oneBitIsTheSignCodeWithTheMeanMagnitude(LevelFamily family) {
    double[] x = {0.5, -1.0, 0.25, -0.25};
    double[] recon = new double[4];
    VectorCode code = VectorQuantizer.quantize(family, 1, 4, x, 0, 4, recon, 0);
    assertThat(code.codes()).containsExactly(1, 0, 1, 0);
    assertThat(recon).containsExactly(0.5, -0.5, 0.5, -0.5);
  }

  /**
   * On Gaussian data, the Lloyd-Max levels beat uniform levels at the widths the budget mode
   * chooses. (From about 6 bits the uniform levels over a group's actual [min, max] win: 128
   * samples reach about 2.6 sigma, while the Lloyd-Max levels cover the Gaussian's whole tail.)
   */
  @ParameterizedTest
  @CsvSource({"2", "3", "4"})
  void lloydMaxHasLowerErrorThanUniformOnGaussianGroups(int bits) {
    double[] x = gaussian(11, 4096, 0.03);
    assertThat(error(LevelFamily.LLOYD_MAX, bits, x)).isLessThan(error(LevelFamily.UNIFORM, bits, x));
  }

  /** A tail group of one value is exact: the least-squares scale fits it. */
  @ParameterizedTest
  @CsvSource({"2", "5", "8"})
  void aSingleValueGroupIsStoredExactlyByLloydMax(int bits) {
    double[] x = {0.375};
    double[] recon = new double[1];
    VectorQuantizer.quantize(LevelFamily.LLOYD_MAX, bits, 128, x, 0, 1, recon, 0);
    assertThat(recon[0]).isCloseTo(0.375, org.assertj.core.api.Assertions.within(0.375 / 1024));
  }

  private static double error(LevelFamily family, int bits, double[] x) {
    double[] recon = new double[x.length];
    VectorQuantizer.quantize(family, bits, 128, x, 0, x.length, recon, 0);
    double e = 0;
    for (int i = 0; i < x.length; i++) {
      e += (x[i] - recon[i]) * (x[i] - recon[i]);
    }
    return e;
  }
}
