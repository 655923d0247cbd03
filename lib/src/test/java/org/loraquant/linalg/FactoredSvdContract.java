package org.loraquant.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What every {@link FactoredSvd} must do (after EJML's StandardSvdChecks): reconstruct B A,
 * orthonormal U and V, non-negative descending singular values, agreement with the dense
 * reference, and the awkward inputs: zero, tall, wide, rank above min(m, n), rank-deficient, tiny.
 */
abstract class FactoredSvdContract {
  static final double TOLERANCE = 1e-10;

  abstract FactoredSvd svd();

  /** Column-major B (m x r) and A^T (n x r) with Gaussian entries times {@code magnitude}. */
  static double[][] factors(long seed, int m, int n, int r, double magnitude) {
    Random random = new Random(seed);
    double[] b = new double[m * r];
    double[] at = new double[n * r];
    for (int i = 0; i < b.length; i++) {
      b[i] = magnitude * random.nextGaussian();
    }
    for (int i = 0; i < at.length; i++) {
      at[i] = magnitude * random.nextGaussian();
    }
    return new double[][] {b, at};
  }

  ThinSvd checked(int m, int n, int r, double[] b, double[] at) {
    double[] bCopy = b.clone();
    double[] atCopy = at.clone();
    ThinSvd svd = svd().decompose(m, n, r, b, at);
    assertThat(b).as("B not modified").containsExactly(bCopy);
    assertThat(at).as("A^T not modified").containsExactly(atCopy);
    assertThat(svd.k()).isEqualTo(Math.min(r, Math.min(m, n)));
    assertDescendingNonNegative(svd.s());
    assertOrthonormal(svd.u(), m, svd.k());
    assertOrthonormal(svd.v(), n, svd.k());
    assertReconstructs(svd, m, n, r, b, at);
    return svd;
  }

  static void assertDescendingNonNegative(double[] s) {
    for (int i = 0; i < s.length; i++) {
      assertThat(s[i]).isGreaterThanOrEqualTo(0.0);
      if (i > 0) {
        assertThat(s[i]).isLessThanOrEqualTo(s[i - 1]);
      }
    }
  }

  static void assertOrthonormal(double[] x, int rows, int k) {
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < k; j++) {
        double dot = 0;
        for (int p = 0; p < rows; p++) {
          dot += x[i * rows + p] * x[j * rows + p];
        }
        assertThat(dot).as("column %d . column %d", i, j).isCloseTo(i == j ? 1 : 0, within(TOLERANCE));
      }
    }
  }

  static void assertReconstructs(ThinSvd svd, int m, int n, int r, double[] b, double[] at) {
    double maxAbs = 0;
    double[] exact = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int l = 0; l < n; l++) {
        double sum = 0;
        for (int j = 0; j < r; j++) {
          sum += b[j * m + i] * at[j * n + l];
        }
        exact[i * n + l] = sum;
        maxAbs = Math.max(maxAbs, Math.abs(sum));
      }
    }
    for (int i = 0; i < m; i++) {
      for (int l = 0; l < n; l++) {
        double sum = 0;
        for (int c = 0; c < svd.k(); c++) {
          sum += svd.u()[c * m + i] * svd.s()[c] * svd.v()[c * n + l];
        }
        assertThat(sum).as("(U S V^T)(%d, %d)", i, l)
            .isCloseTo(exact[i * n + l], within(TOLERANCE * Math.max(maxAbs, Double.MIN_NORMAL)));
      }
    }
  }

  @Test
  void squareProductOfRandomFactors() {
    double[][] f = factors(1, 40, 40, 6, 1.0);
    checked(40, 40, 6, f[0], f[1]);
  }

  @Test
  void tall() {
    double[][] f = factors(2, 120, 9, 5, 1.0);
    checked(120, 9, 5, f[0], f[1]);
  }

  @Test
  void wide() {
    double[][] f = factors(3, 7, 150, 4, 1.0);
    checked(7, 150, 4, f[0], f[1]);
  }

  @Test
  void rankAboveMinDimensionKeepsMinDimensionComponents() {
    double[][] f = factors(4, 5, 30, 12, 1.0);
    ThinSvd svd = checked(5, 30, 12, f[0], f[1]);
    assertThat(svd.k()).isEqualTo(5);
  }

  @Test
  void rankDeficientProductHasZeroTrailingSingularValues() {
    int m = 25;
    int n = 18;
    int r = 5;
    double[][] f = factors(5, m, n, r, 1.0);
    // Columns 3 and 4 of B repeat column 0, so B A has rank 3.
    System.arraycopy(f[0], 0, f[0], 3 * m, m);
    System.arraycopy(f[0], 0, f[0], 4 * m, m);
    ThinSvd svd = checked(m, n, r, f[0], f[1]);
    assertThat(svd.s()[2]).isGreaterThan(1e-3 * svd.s()[0]);
    assertThat(svd.s()[3]).isLessThan(1e-12 * svd.s()[0]);
    assertThat(svd.s()[4]).isLessThan(1e-12 * svd.s()[0]);
  }

  @Test
  void zeroProduct() {
    double[] b = new double[20 * 3];
    double[][] f = factors(6, 20, 11, 3, 1.0);
    ThinSvd svd = checked(20, 11, 3, b, f[1]);
    assertThat(svd.s()).containsOnly(0.0);
  }

  @Test
  void tinyValuesKeepRelativeAccuracy() {
    double[][] f = factors(7, 30, 22, 4, 1e-30);
    ThinSvd svd = checked(30, 22, 4, f[0], f[1]);
    assertThat(svd.s()[0]).isGreaterThan(0.0);
  }

  @Test
  void rankOne() {
    double[][] f = factors(8, 16, 9, 1, 1.0);
    ThinSvd svd = checked(16, 9, 1, f[0], f[1]);
    double normB = 0;
    double normA = 0;
    for (double x : f[0]) {
      normB += x * x;
    }
    for (double x : f[1]) {
      normA += x * x;
    }
    assertThat(svd.s()[0]).isCloseTo(Math.sqrt(normB * normA), within(1e-12 * svd.s()[0]));
  }

  @Test
  void zeroSizeDimensionsGiveNoComponents() {
    assertThat(svd().decompose(0, 5, 3, new double[0], new double[15]).k()).isZero();
    assertThat(svd().decompose(4, 0, 3, new double[12], new double[0]).k()).isZero();
    assertThat(svd().decompose(4, 5, 0, new double[0], new double[0]).k()).isZero();
  }

  @Test
  void agreesWithTheDenseReference() {
    int m = 33;
    int n = 21;
    int r = 6;
    double[][] f = factors(9, m, n, r, 0.3);
    ThinSvd fast = svd().decompose(m, n, r, f[0], f[1]);
    ThinSvd dense = new DenseReferenceSvd(LinearAlgebra.javaOnly()).decompose(m, n, r, f[0], f[1]);
    for (int i = 0; i < fast.k(); i++) {
      assertThat(fast.s()[i]).isCloseTo(dense.s()[i], within(1e-12 * dense.s()[0]));
    }
    // Distinct singular values: vectors agree, signs included (same canonical convention).
    for (int p = 0; p < fast.u().length; p++) {
      assertThat(fast.u()[p]).isCloseTo(dense.u()[p], within(1e-9));
    }
    for (int p = 0; p < fast.v().length; p++) {
      assertThat(fast.v()[p]).isCloseTo(dense.v()[p], within(1e-9));
    }
  }

  @Test
  void sameInputGivesIdenticalOutput() {
    double[][] f = factors(10, 50, 40, 8, 1.0);
    ThinSvd first = svd().decompose(50, 40, 8, f[0], f[1]);
    ThinSvd second = svd().decompose(50, 40, 8, f[0], f[1]);
    assertThat(second.u()).containsExactly(first.u());
    assertThat(second.v()).containsExactly(first.v());
    assertThat(second.s()).containsExactly(first.s());
  }

  @Test
  void canonicalSignsMakeTheLargestEntryOfEachLeftVectorPositive() {
    double[][] f = factors(11, 30, 20, 5, 1.0);
    ThinSvd svd = svd().decompose(30, 20, 5, f[0], f[1]);
    for (int c = 0; c < svd.k(); c++) {
      double largest = 0;
      for (int p = 0; p < 30; p++) {
        double x = svd.u()[c * 30 + p];
        if (Math.abs(x) > Math.abs(largest)) {
          largest = x;
        }
      }
      assertThat(largest).isPositive();
    }
  }
}
