package org.loraquant.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.ludovic.netlib.blas.BLAS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.linalg.SkinnyProducts;

/** The budget mode's error model over the kept components (dropped ones get no products). */
class KeptErrorModelTest {
  private static final LinearAlgebra LINALG = LinearAlgebra.javaOnly();

  /** A layer, its widths (dropped components inside, not only at the end) and reconstructions. */
  private record Case(BalancedLayer layer, int[] kept, double[] bhKept, double[] ahKept,
      double[] bhFull, double[] ahFull) {
    static Case of(int m, int n, int r, int seed) {
      BalancedLayer layer = BalancedLayer.of(TestFactors.decaying(seed, m, n, r), LINALG);
      int k = layer.k();
      int[] widths = new int[k];
      for (int i = 0; i < k; i++) {
        widths[i] = i % 3 == 1 ? 0 : 1 + (i * 5 + seed) % 4;
      }
      int[] kept = LeastSquaresRefit.keptComponents(widths);
      int p = kept.length;
      double[] bhKept = new double[SkinnyProducts.paddedLength(m, p)];
      double[] ahKept = new double[SkinnyProducts.paddedLength(n, p)];
      double[] bhFull = new double[SkinnyProducts.paddedLength(m, k)];
      double[] ahFull = new double[SkinnyProducts.paddedLength(n, k)];
      for (int c = 0; c < p; c++) {
        int i = kept[c];
        VectorQuantizer.quantize(LevelFamily.LLOYD_MAX, widths[i], 16, layer.bp(), i * m, m,
            bhKept, c * m);
        VectorQuantizer.quantize(LevelFamily.LLOYD_MAX, widths[i], 16, layer.ap(), i * n, n,
            ahKept, c * n);
        System.arraycopy(bhKept, c * m, bhFull, i * m, m);
        System.arraycopy(ahKept, c * n, ahFull, i * n, n);
      }
      return new Case(layer, kept, bhKept, ahKept, bhFull, ahFull);
    }

    /** ||B'A' - B^A^||_F^2 from the m x n matrices. */
    double denseError() {
      int m = layer.m();
      int n = layer.n();
      double sum = 0;
      for (int row = 0; row < m; row++) {
        for (int col = 0; col < n; col++) {
          double d = 0;
          for (int i = 0; i < layer.k(); i++) {
            d += layer.bp()[i * m + row] * layer.ap()[i * n + col]
                - bhFull[i * m + row] * ahFull[i * n + col];
          }
          sum += d * d;
        }
      }
      return sum;
    }
  }

  @ParameterizedTest
  @CsvSource({"40, 27, 12, 1", "700, 600, 10, 2", "300, 1100, 40, 3"})
  void errorIsTheDenseErrorAndTheFullModelsWithDroppedComponentsAsZeroColumns(int m, int n,
      int r, int seed) {
    Case c = Case.of(m, n, r, seed);
    BLAS blas = LINALG.blas();
    KeptErrorModel model = KeptErrorModel.of(blas, c.layer(), c.kept().length, c.bhKept(),
        c.ahKept());
    double full = new ComponentErrorModel(blas, m, n, c.layer().s(), c.layer().bp(),
        c.layer().ap(), c.bhFull(), c.ahFull()).squaredError(0, c.layer().k());
    double dense = c.denseError();
    assertThat(model.kept()).isLessThan(c.layer().k());
    assertThat(model.squaredError()).isCloseTo(dense, within(1e-9 * c.layer().energy()));
    assertThat(model.squaredError()).isCloseTo(full, within(1e-12 * c.layer().energy()));
  }

  @ParameterizedTest
  @CsvSource({"true, 700, 600, 10, 2", "false, 700, 600, 10, 2", "true, 300, 1100, 40, 3",
      "false, 300, 1100, 40, 3"})
  void aSideReplacedGivesTheNumbersOfANewModelAndLeavesTheOtherSide(boolean bSide, int m, int n,
      int r, int seed) {
    Case c = Case.of(m, n, r, seed);
    Case other = Case.of(m, n, r, seed + 10);
    BLAS blas = LINALG.blas();
    int p = c.kept().length;
    // The other case's reconstruction of one side, of the same kept count, as a refit's candidate.
    double[] recon = (bSide ? other.bhKept() : other.ahKept()).clone();
    KeptErrorModel before = KeptErrorModel.of(blas, c.layer(), p, c.bhKept(), c.ahKept());
    KeptErrorModel replaced = before.withSide(blas, bSide, bSide ? m : n, recon);
    KeptErrorModel fresh = KeptErrorModel.of(blas, c.layer(), p,
        bSide ? recon : c.bhKept(), bSide ? c.ahKept() : recon);
    assertThat(replaced.squaredError()).isEqualTo(fresh.squaredError());
    for (boolean side : new boolean[] {true, false}) {
      assertThat(replaced.cross(side)).containsExactly(fresh.cross(side));
      assertThat(replaced.gram(side)).containsExactly(fresh.gram(side));
    }
    assertThat(before.cross(!bSide)).isSameAs(replaced.cross(!bSide));
  }
}
