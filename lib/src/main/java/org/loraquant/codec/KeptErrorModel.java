package org.loraquant.codec;

import dev.ludovic.netlib.blas.BLAS;
import org.loraquant.linalg.SkinnyProducts;

/**
 * The budget mode's measured error of a layer, from products over its kept components only
 * (docs/ALGORITHM.md, "Measuring the error"). The formula of {@link ComponentErrorModel} with
 * every dropped component's reconstruction zero: for the k components' exact factors B' = [b_i]
 * (m x k) and A'^T = [a_i] (n x k), and the p kept components' reconstructions B^_K = [b^_c]
 * (m x p) and A^_K^T = [a^_c] (n x p),
 *
 * <pre>
 *   ||B'A' - B^_K A^_K||^2 = sum_i s_i^2 - 2 sum_ic P_ic Q_ic + sum_cd GB_cd GA_cd
 *   P = B'^T B^_K (k x p)   Q = A' A^_K^T (k x p)   GB = B^_K^T B^_K   GA = A^_K A^_K^T (p x p)
 * </pre>
 *
 * A dropped component adds its s_i^2 and nothing else, so its zero columns need no products:
 * at rank 16 with 7 kept, P and GB cost about a third of the full k x k ones. The least-squares
 * refit ({@link LeastSquaresRefit}) reads its normal equations from the same products: GB is
 * B^_K^T B^_K and P^T is B^_K^T B'.
 *
 * <p>Reconstructions are column-major with the kept components contiguous (column c is the c-th
 * kept component); arrays of {@link SkinnyProducts#paddedLength} values let the products run in
 * row blocks. The model only reads them.
 */
final class KeptErrorModel {
  private final int k;
  private final int p;
  private final double[] s;
  private final double[] bp;
  private final double[] ap;
  private final double[] bCross;
  private final double[] aCross;
  private final double[] bGram;
  private final double[] aGram;

  private KeptErrorModel(double[] s, int p, double[] bp, double[] ap, double[] bCross,
      double[] aCross, double[] bGram, double[] aGram) {
    this.k = s.length;
    this.p = p;
    this.s = s;
    this.bp = bp;
    this.ap = ap;
    this.bCross = bCross;
    this.aCross = aCross;
    this.bGram = bGram;
    this.aGram = aGram;
  }

  /**
   * The model of the layer's p kept components reconstructed as {@code bh} (m x p) and
   * {@code ah} (n x p).
   */
  static KeptErrorModel of(BLAS blas, BalancedLayer layer, int p, double[] bh, double[] ah) {
    int m = layer.m();
    int n = layer.n();
    return new KeptErrorModel(layer.s(), p, layer.bp(), layer.ap(),
        cross(blas, m, layer.k(), layer.bp(), p, bh), cross(blas, n, layer.k(), layer.ap(), p, ah),
        gram(blas, m, p, bh), gram(blas, n, p, ah));
  }

  /**
   * The model with one side's reconstruction replaced by {@code recon} (rows x p): only that
   * side's two products are computed, the other side's are shared (neither is ever changed).
   */
  KeptErrorModel withSide(BLAS blas, boolean bSide, int rows, double[] recon) {
    double[] exact = bSide ? bp : ap;
    double[] cross = cross(blas, rows, k, exact, p, recon);
    double[] gram = gram(blas, rows, p, recon);
    return bSide ? new KeptErrorModel(s, p, bp, ap, cross, aCross, gram, aGram)
        : new KeptErrorModel(s, p, bp, ap, bCross, cross, bGram, gram);
  }

  private static double[] cross(BLAS blas, int rows, int k, double[] exact, int p,
      double[] recon) {
    double[] out = new double[k * p];
    SkinnyProducts.crossOfColumns(blas, rows, k, exact, p, recon, out);
    return out;
  }

  private static double[] gram(BLAS blas, int rows, int p, double[] recon) {
    double[] out = new double[p * p];
    SkinnyProducts.gramOfColumns(blas, rows, p, recon, out);
    return out;
  }

  /** Kept components. */
  int kept() {
    return p;
  }

  /** The side's exact factor transposed times its reconstruction (k x p, column-major). */
  double[] cross(boolean bSide) {
    return bSide ? bCross : aCross;
  }

  /** The Gram matrix of the side's reconstruction (p x p, column-major, exactly symmetric). */
  double[] gram(boolean bSide) {
    return bSide ? bGram : aGram;
  }

  /**
   * The squared error ||B A - B^ A^||_F^2; clamped at 0 because the expanded form can come out
   * slightly negative by cancellation.
   */
  double squaredError() {
    double exact = 0;
    for (double v : s) {
      exact += v * v;
    }
    double cross = 0;
    for (int t = 0; t < k * p; t++) {
      cross += bCross[t] * aCross[t];
    }
    double quantized = 0;
    for (int t = 0; t < p * p; t++) {
      quantized += bGram[t] * aGram[t];
    }
    return Math.max(0, exact - 2 * cross + quantized);
  }
}
