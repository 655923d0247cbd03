package org.loraquant.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Which inputs the Cholesky-QR route accepts, and that the others still get a correct SVD. */
class GramFactoredSvdRouteTest {
  private final GramFactoredSvd svd = new GramFactoredSvd(LinearAlgebra.javaOnly(), 0);

  private static double[] rowMajor(double[] b, int m, int r) {
    double[] out = new double[m * r];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        out[i * r + j] = b[j * m + i];
      }
    }
    return out;
  }

  @Test
  void wellConditionedFactorsTakeTheGramRoute() {
    double[][] f = FactoredSvdContract.factors(21, 60, 50, 6, 1.0);
    assertThat(svd.takesGramRoute(60, 50, 6, f[0], f[1])).isTrue();
  }

  @Test
  void columnScalingAloneDoesNotCountAsIllConditioning() {
    int m = 60;
    double[][] f = FactoredSvdContract.factors(22, m, 50, 6, 1.0);
    for (int j = 0; j < 6; j++) {
      for (int i = 0; i < m; i++) {
        f[0][j * m + i] *= Math.pow(1e-3, j);
      }
    }
    assertThat(svd.takesGramRoute(m, 50, 6, f[0], f[1])).isTrue();
  }

  @Test
  void illConditionedFactorsFallBackToHouseholderAndStayAccurate() {
    int m = 60;
    int n = 50;
    int r = 6;
    double[][] f = FactoredSvdContract.factors(23, m, n, r, 1.0);
    // Column 5 of B = column 0 + 1e-7 noise: kappa(B) about 1e7, far too much for Cholesky QR.
    double[] noise = FactoredSvdContract.factors(24, m, n, 1, 1e-7)[0];
    for (int i = 0; i < m; i++) {
      f[0][5 * m + i] = f[0][i] + noise[i];
    }
    assertThat(svd.takesGramRoute(m, n, r, f[0], f[1])).isFalse();
    ThinSvd result = svd.decompose(m, n, r, f[0], f[1]);
    FactoredSvdContract.assertOrthonormal(result.u(), m, r);
    FactoredSvdContract.assertOrthonormal(result.v(), n, r);
    FactoredSvdContract.assertReconstructs(result, m, n, r, f[0], f[1]);
    ThinSvd householder = new QrFactoredSvd(LinearAlgebra.javaOnly()).decompose(m, n, r, f[0], f[1]);
    assertThat(result.u()).containsExactly(householder.u());
    assertThat(result.s()).containsExactly(householder.s());
  }

  @Test
  void zeroAndRankDeficientFactorsFallBack() {
    double[][] f = FactoredSvdContract.factors(25, 40, 30, 4, 1.0);
    assertThat(svd.takesGramRoute(40, 30, 4, new double[40 * 4], f[1])).isFalse();
    System.arraycopy(f[0], 0, f[0], 3 * 40, 40);
    assertThat(svd.takesGramRoute(40, 30, 4, f[0], f[1])).isFalse();
  }

  @Test
  void smallLayersUseHouseholderByDefault() {
    double[][] f = FactoredSvdContract.factors(26, 60, 50, 6, 1.0);
    GramFactoredSvd byDefault = new GramFactoredSvd(LinearAlgebra.javaOnly());
    assertThat(byDefault.takesGramRoute(60, 50, 6, f[0], f[1])).isFalse();
  }

  @Test
  void balancedRoutesFromRowMajorBAgreeWithEachOtherAndReconstruct() {
    int m = 70;
    int n = 45;
    int r = 5;
    double[][] f = FactoredSvdContract.factors(27, m, n, r, 1.0);
    double[] bRows = rowMajor(f[0], m, r);
    ThinSvd.Balanced gram = svd.balancedGramRoute(m, n, r, bRows, f[1], null, null);
    ThinSvd.Balanced householder = svd.balancedHouseholderRoute(m, n, r, bRows, f[1]);
    assertThat(gram).as("the Gram route takes these factors").isNotNull();
    for (ThinSvd.Balanced b : new ThinSvd.Balanced[] {gram, householder}) {
      assertThat(b.k()).isEqualTo(r);
      FactoredSvdContract.assertDescendingNonNegative(b.s());
      assertBalancedReconstructs(b, f[0], f[1], r);
      for (int i = 0; i < r; i++) {
        // B' = U sqrt(S) and A'^T = V sqrt(S): column norms squared are the singular values.
        assertThat(dot(b.bp(), i, b.bp(), i, m)).isCloseTo(b.s()[i], within(1e-10 * b.s()[0]));
        assertThat(dot(b.ap(), i, b.ap(), i, n)).isCloseTo(b.s()[i], within(1e-10 * b.s()[0]));
        assertThat(gram.s()[i]).isCloseTo(householder.s()[i], within(1e-12 * householder.s()[0]));
      }
    }
    // Zero B: the Gram route declines, the Householder route gives zeros without NaN.
    double[] zeroRows = new double[m * r];
    assertThat(svd.balancedGramRoute(m, n, r, zeroRows, f[1], null, null)).isNull();
    ThinSvd.Balanced zero = svd.balancedHouseholderRoute(m, n, r, zeroRows, f[1]);
    assertThat(zero.s()).containsOnly(0.0);
    assertThat(zero.bp()).doesNotContain(Double.NaN);
    assertThat(zero.ap()).doesNotContain(Double.NaN);
  }

  /** B' A' equals B A (b column-major m x r, at = A^T column-major n x r). */
  private static void assertBalancedReconstructs(ThinSvd.Balanced x, double[] b, double[] at,
      int r) {
    int m = x.m();
    int n = x.n();
    double scale = 0;
    double worst = 0;
    for (int i = 0; i < m; i++) {
      for (int l = 0; l < n; l++) {
        double exact = 0;
        for (int j = 0; j < r; j++) {
          exact += b[j * m + i] * at[j * n + l];
        }
        double approx = 0;
        for (int c = 0; c < x.k(); c++) {
          approx += x.bp()[c * m + i] * x.ap()[c * n + l];
        }
        scale = Math.max(scale, Math.abs(exact));
        worst = Math.max(worst, Math.abs(exact - approx));
      }
    }
    assertThat(worst).isLessThanOrEqualTo(1e-12 * scale);
  }

  private static double dot(double[] x, int i, double[] y, int j, int rows) {
    double sum = 0;
    for (int p = 0; p < rows; p++) {
      sum += x[i * rows + p] * y[j * rows + p];
    }
    return sum;
  }
}
