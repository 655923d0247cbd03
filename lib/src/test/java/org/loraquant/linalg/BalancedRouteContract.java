package org.loraquant.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * What the entry points the codec calls must do: {@link GramFactoredSvd#balancedGramRoute} (B given
 * row-major, as a LoRA checkpoint stores it) and, where it declines, {@link
 * GramFactoredSvd#balancedHouseholderRoute}. The balanced factors B' = U sqrt(S) and A'^T =
 * V sqrt(S) must reproduce B A, be orthogonal with squared column norms equal to the singular
 * values, carry canonical signs, agree with the dense reference, and survive the same awkward
 * inputs as {@link FactoredSvdContract}.
 */
abstract class BalancedRouteContract {
  static final double TOLERANCE = 1e-10;

  /** The balanced factors of B A for B row-major (m x r) and A^T column-major (n x r). */
  abstract ThinSvd.Balanced balanced(int m, int n, int r, double[] bRows, double[] at);

  static double[] rowMajor(double[] b, int m, int r) {
    double[] out = new double[m * r];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        out[i * r + j] = b[j * m + i];
      }
    }
    return out;
  }

  /** Checks the contract for column-major B and A^T (as {@link FactoredSvdContract#factors}). */
  ThinSvd.Balanced checked(int m, int n, int r, double[] b, double[] at) {
    double[] bRows = rowMajor(b, m, r);
    double[] bRowsCopy = bRows.clone();
    double[] atCopy = at.clone();
    ThinSvd.Balanced result = balanced(m, n, r, bRows, at);
    assertThat(bRows).as("B not modified").containsExactly(bRowsCopy);
    assertThat(at).as("A^T not modified").containsExactly(atCopy);
    int k = Math.min(r, Math.min(m, n));
    assertThat(result.k()).isEqualTo(k);
    FactoredSvdContract.assertDescendingNonNegative(result.s());
    double scale = k == 0 ? 0 : result.s()[0];
    assertGram(result.bp(), m, result.s(), scale);
    assertGram(result.ap(), n, result.s(), scale);
    assertReconstructs(result, m, n, r, b, at);
    assertCanonicalSigns(result, m);
    return result;
  }

  /** x^T x = diag(s) for x rows x k (column-major): orthogonal columns, squared norms s_i. */
  private static void assertGram(double[] x, int rows, double[] s, double scale) {
    for (int i = 0; i < s.length; i++) {
      for (int j = 0; j < s.length; j++) {
        double dot = 0;
        for (int p = 0; p < rows; p++) {
          dot += x[i * rows + p] * x[j * rows + p];
        }
        assertThat(dot).as("column %d . column %d", i, j)
            .isCloseTo(i == j ? s[i] : 0, within(TOLERANCE * Math.max(scale, Double.MIN_NORMAL)));
      }
    }
  }

  private static void assertReconstructs(ThinSvd.Balanced result, int m, int n, int r,
      double[] b, double[] at) {
    double[] exact = new double[m * n];
    double maxAbs = 0;
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
        for (int c = 0; c < result.k(); c++) {
          sum += result.bp()[c * m + i] * result.ap()[c * n + l];
        }
        assertThat(sum).as("(B' A')(%d, %d)", i, l)
            .isCloseTo(exact[i * n + l], within(TOLERANCE * Math.max(maxAbs, Double.MIN_NORMAL)));
      }
    }
  }

  /** The entry of largest magnitude of each non-zero column of B' is positive. */
  private static void assertCanonicalSigns(ThinSvd.Balanced result, int m) {
    for (int c = 0; c < result.k(); c++) {
      if (result.s()[c] > 0) {
        assertThat(ThinSvd.largestEntryIsNegative(result.bp(), c * m, m))
            .as("component %d has its largest entry negative", c).isFalse();
      }
    }
  }

  @Test
  void squareProductOfRandomFactors() {
    double[][] f = FactoredSvdContract.factors(1, 40, 40, 6, 1.0);
    checked(40, 40, 6, f[0], f[1]);
  }

  @Test
  void tallAndWide() {
    double[][] tall = FactoredSvdContract.factors(2, 300, 9, 5, 1.0);
    checked(300, 9, 5, tall[0], tall[1]);
    double[][] wide = FactoredSvdContract.factors(3, 7, 320, 4, 1.0);
    checked(7, 320, 4, wide[0], wide[1]);
  }

  @Test
  void largeEnoughForTheGramRouteByDefault() {
    double[][] f = FactoredSvdContract.factors(12, 600, 300, 16, 0.02);
    checked(600, 300, 16, f[0], f[1]);
  }

  @Test
  void rankAboveMinDimensionKeepsMinDimensionComponents() {
    double[][] f = FactoredSvdContract.factors(4, 5, 30, 12, 1.0);
    assertThat(checked(5, 30, 12, f[0], f[1]).k()).isEqualTo(5);
  }

  @Test
  void rankDeficientProductHasZeroTrailingComponents() {
    int m = 25;
    double[][] f = FactoredSvdContract.factors(5, m, 18, 5, 1.0);
    System.arraycopy(f[0], 0, f[0], 3 * m, m);
    System.arraycopy(f[0], 0, f[0], 4 * m, m);
    ThinSvd.Balanced result = checked(m, 18, 5, f[0], f[1]);
    assertThat(result.s()[2]).isGreaterThan(1e-3 * result.s()[0]);
    assertThat(result.s()[3]).isLessThan(1e-12 * result.s()[0]);
  }

  @Test
  void zeroProductGivesZerosWithoutNaN() {
    double[][] f = FactoredSvdContract.factors(6, 20, 11, 3, 1.0);
    ThinSvd.Balanced result = checked(20, 11, 3, new double[20 * 3], f[1]);
    assertThat(result.s()).containsOnly(0.0);
    for (double x : result.bp()) {
      assertThat(x).isEqualTo(0.0);
    }
  }

  @Test
  void tinyValuesKeepRelativeAccuracy() {
    double[][] f = FactoredSvdContract.factors(7, 30, 22, 4, 1e-30);
    assertThat(checked(30, 22, 4, f[0], f[1]).s()[0]).isGreaterThan(0.0);
  }

  @Test
  void zeroSizeDimensionsGiveNoComponents() {
    assertThat(balanced(0, 5, 3, new double[0], new double[15]).k()).isZero();
    assertThat(balanced(4, 0, 3, new double[12], new double[0]).k()).isZero();
    assertThat(balanced(4, 5, 0, new double[0], new double[0]).k()).isZero();
  }

  @Test
  void agreesWithTheDenseReference() {
    int m = 33;
    int n = 21;
    int r = 6;
    double[][] f = FactoredSvdContract.factors(9, m, n, r, 0.3);
    ThinSvd.Balanced fast = balanced(m, n, r, rowMajor(f[0], m, r), f[1]);
    ThinSvd dense = new DenseReferenceSvd(LinearAlgebra.javaOnly()).decompose(m, n, r, f[0], f[1]);
    for (int c = 0; c < fast.k(); c++) {
      assertThat(fast.s()[c]).isCloseTo(dense.s()[c], within(1e-12 * dense.s()[0]));
      double root = Math.sqrt(dense.s()[c]);
      for (int p = 0; p < m; p++) {
        assertThat(fast.bp()[c * m + p]).isCloseTo(dense.u()[c * m + p] * root, within(1e-9));
      }
      for (int p = 0; p < n; p++) {
        assertThat(fast.ap()[c * n + p]).isCloseTo(dense.v()[c * n + p] * root, within(1e-9));
      }
    }
  }

  @Test
  void sameInputGivesIdenticalOutput() {
    double[][] f = FactoredSvdContract.factors(10, 300, 280, 8, 1.0);
    double[] bRows = rowMajor(f[0], 300, 8);
    ThinSvd.Balanced first = balanced(300, 280, 8, bRows, f[1]);
    ThinSvd.Balanced second = balanced(300, 280, 8, bRows, f[1]);
    assertThat(second.bp()).containsExactly(first.bp());
    assertThat(second.ap()).containsExactly(first.ap());
    assertThat(second.s()).containsExactly(first.s());
  }
}
