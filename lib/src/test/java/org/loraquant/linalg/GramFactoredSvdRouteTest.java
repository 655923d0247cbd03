package org.loraquant.linalg;

import static org.assertj.core.api.Assertions.assertThat;

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
  void rowMajorBGivesTheSameResultOnBothRoutes() {
    int m = 70;
    int n = 45;
    int r = 5;
    double[][] f = FactoredSvdContract.factors(27, m, n, r, 1.0);
    ThinSvd columns = svd.decompose(m, n, r, f[0], f[1]);
    ThinSvd rows = svd.decomposeRowMajorB(m, n, r, rowMajor(f[0], m, r), f[1]);
    FactoredSvdContract.assertOrthonormal(rows.u(), m, r);
    FactoredSvdContract.assertReconstructs(rows, m, n, r, f[0], f[1]);
    for (int i = 0; i < r; i++) {
      assertThat(rows.s()[i]).isCloseTo(columns.s()[i], org.assertj.core.api.Assertions.within(1e-12 * columns.s()[0]));
    }
    // Zero B: fallback from the row-major entry point.
    ThinSvd zero = svd.decomposeRowMajorB(m, n, r, new double[m * r], f[1]);
    assertThat(zero.s()).containsOnly(0.0);
    assertThat(zero.u()).doesNotContain(Double.NaN);
  }
}
