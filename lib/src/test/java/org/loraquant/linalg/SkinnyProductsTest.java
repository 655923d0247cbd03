package org.loraquant.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.ludovic.netlib.blas.BLAS;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The blocked products against plain sums, on block boundaries, narrow and wide, with and without
 * padding; with the pure-Java BLAS, and with the native one too where it is installed (Grams of
 * more than 64 columns, or of more than 32 on 512 rows or fewer, take dsyrk there).
 */
class SkinnyProductsTest {
  private static java.util.List<BLAS> backends() {
    return org.loraquant.testing.NativeLinalg.tested()
        ? java.util.List.of(LinearAlgebra.javaOnly().blas(), LinearAlgebra.nativeOnly().blas())
        : java.util.List.of(LinearAlgebra.javaOnly().blas());
  }

  private static double[] random(long seed, int length, int used) {
    Random random = new Random(seed);
    double[] x = new double[length];
    for (int i = 0; i < used; i++) {
      x[i] = random.nextGaussian();
    }
    return x;
  }

  @ParameterizedTest
  @CsvSource({"1, 3, 2", "512, 4, 3", "513, 5, 5", "1500, 7, 2", "2048, 3, 6", "1500, 40, 33"})
  void crossOfColumnsIsXTransposeY(int rows, int kx, int ky) {
    for (BLAS blas : backends()) {
      crossOfColumns(blas, rows, kx, ky);
    }
  }

  private static void crossOfColumns(BLAS blas, int rows, int kx, int ky) {
    for (boolean padded : new boolean[] {true, false}) {
      double[] x = random(1, padded ? SkinnyProducts.paddedLength(rows, kx) : rows * kx, rows * kx);
      double[] y = random(2, padded ? SkinnyProducts.paddedLength(rows, ky) : rows * ky, rows * ky);
      double[] out = new double[kx * ky];
      java.util.Arrays.fill(out, 99); // overwritten, not accumulated into
      SkinnyProducts.crossOfColumns(blas, rows, kx, x, ky, y, out);
      for (int i = 0; i < kx; i++) {
        for (int j = 0; j < ky; j++) {
          double expected = 0;
          for (int p = 0; p < rows; p++) {
            expected += x[i * rows + p] * y[j * rows + p];
          }
          assertThat(out[i + j * kx]).isCloseTo(expected, within(1e-10 * rows));
        }
      }
    }
  }

  /** Triangle panels (padded, over 512 rows, up to 64 columns) on row-block and panel edges. */
  @ParameterizedTest
  @CsvSource({"1, 3", "512, 4", "1025, 6", "700, 40", "513, 1", "2048, 4", "2049, 5", "4097, 16",
      "3000, 32", "2100, 64", "600, 65"})
  void gramOfRowMajorIsXTransposeX(int rows, int cols) {
    for (BLAS blas : backends()) {
      gramOfRowMajor(blas, rows, cols);
    }
  }

  private static void gramOfRowMajor(BLAS blas, int rows, int cols) {
    for (boolean padded : new boolean[] {true, false}) {
      double[] x =
          random(3, padded ? SkinnyProducts.paddedLength(rows, cols) : rows * cols, rows * cols);
      double[] out = new double[cols * cols];
      java.util.Arrays.fill(out, 99); // overwritten, not accumulated into
      SkinnyProducts.gramOfRowMajor(blas, rows, cols, x, out);
      assertIsGram(out, rows, cols, (p, i) -> x[p * cols + i]);
    }
  }

  /** X(row, column) of a matrix under test. */
  private interface Entries {
    double at(int row, int column);
  }

  /** out (cols x cols, column-major) is X^T X, in full and exactly symmetric. */
  private static void assertIsGram(double[] out, int rows, int cols, Entries x) {
    for (int i = 0; i < cols; i++) {
      for (int j = 0; j < cols; j++) {
        double expected = 0;
        for (int p = 0; p < rows; p++) {
          expected += x.at(p, i) * x.at(p, j);
        }
        assertThat(out[i + j * cols]).isCloseTo(expected, within(1e-10 * rows))
            .isEqualTo(out[j + i * cols]);
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"1, 3, 2", "512, 4, 4", "1300, 5, 3", "900, 8, 40"})
  void productOfColumnsIsXW(int rows, int r, int k) {
    for (BLAS blas : backends()) {
      productOfColumns(blas, rows, r, k);
    }
  }

  private static void productOfColumns(BLAS blas, int rows, int r, int k) {
    for (boolean padded : new boolean[] {true, false}) {
      double[] x = random(4, padded ? SkinnyProducts.paddedLength(rows, r) : rows * r, rows * r);
      double[] w = random(5, r * k, r * k);
      double[] y = new double[rows * k];
      SkinnyProducts.productOfColumns(blas, rows, r, x, k, w, y);
      for (int p = 0; p < rows; p++) {
        for (int c = 0; c < k; c++) {
          double expected = 0;
          for (int i = 0; i < r; i++) {
            expected += x[i * rows + p] * w[c * r + i];
          }
          assertThat(y[c * rows + p]).isCloseTo(expected, within(1e-12 * r));
        }
      }
    }
  }

  /** Triangle panels (padded, over 512 rows, up to 64 columns) on row-block and panel edges. */
  @ParameterizedTest
  @CsvSource({"300, 6", "600, 5", "1100, 40", "513, 1", "2048, 4", "2049, 7", "4097, 16",
      "3000, 32", "2100, 64", "600, 65", "400, 50"})
  void gramOfColumnsIsFullAndExactlySymmetric(int rows, int k) {
    for (BLAS blas : backends()) {
      gramOfColumns(blas, rows, k);
    }
  }

  private static void gramOfColumns(BLAS blas, int rows, int k) {
    for (boolean padded : new boolean[] {true, false}) {
      double[] x = random(6, padded ? SkinnyProducts.paddedLength(rows, k) : rows * k, rows * k);
      double[] out = new double[k * k];
      java.util.Arrays.fill(out, 99); // overwritten, not accumulated into
      SkinnyProducts.gramOfColumns(blas, rows, k, x, out);
      assertIsGram(out, rows, k, (p, i) -> x[i * rows + p]);
    }
  }
}
