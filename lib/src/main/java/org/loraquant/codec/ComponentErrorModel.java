package org.loraquant.codec;

import dev.ludovic.netlib.blas.BLAS;
import org.loraquant.linalg.SkinnyProducts;

/**
 * The reconstruction error of a layer in the basis of its SVD components, from k x k Gram
 * matrices only (docs/ALGORITHM.md, "Measuring the error"). With B' = [b_1..b_k] (m x k), A' rows a_i, and
 * their reconstructions b^_i, a^_i:
 *
 * <pre>
 *   ||B'A' - B^A^||^2 = sum_i s_i^2 - 2 sum_ij P_ij Q_ij + sum_ij GB_ij GA_ij
 *   P_ij = b_i . b^_j   Q_ij = a_i . a^_j   GB_ij = b^_i . b^_j   GA_ij = a^_i . a^_j
 * </pre>
 *
 * using b_i . b_j = a_i . a_j = s_i delta_ij (orthonormal singular vectors). B'A' = B A to rounding,
 * so this is the error of the update. Restricting the sums to a component set T gives the error
 * when only T is quantized. The model also updates itself when one group of one component changes
 * (O(k * group) per change), which is what makes the layer-level refinement search affordable.
 *
 * <p>All arrays are column-major with components contiguous: {@code bp}, {@code bh} m x k,
 * {@code ap}, {@code ah} n x k (A' and A^ transposed); arrays of
 * {@link SkinnyProducts#paddedLength} values let the Grams run in row blocks (faster). The model
 * only reads them; whoever changes {@code bh} or {@code ah} reports the change through
 * {@link #apply} first.
 */
final class ComponentErrorModel {
  private final int m;
  private final int n;
  private final int k;
  private final double[] s;
  private final double[] bp;
  private final double[] ap;
  private final double[] bh;
  private final double[] ah;
  private final double[] p;
  private final double[] q;
  private final double[] gb;
  private final double[] ga;
  private final double[] scratchCross;
  private final double[] scratchGram;

  ComponentErrorModel(BLAS blas, int m, int n, double[] s, double[] bp, double[] ap, double[] bh,
      double[] ah) {
    this.m = m;
    this.n = n;
    this.k = s.length;
    this.s = s;
    this.bp = bp;
    this.ap = ap;
    this.bh = bh;
    this.ah = ah;
    this.p = cross(blas, m, bp, bh);
    this.q = cross(blas, n, ap, ah);
    this.gb = gram(blas, m, bh);
    this.ga = gram(blas, n, ah);
    this.scratchCross = new double[k];
    this.scratchGram = new double[k];
  }

  private double[] cross(BLAS blas, int rows, double[] x, double[] y) {
    double[] out = new double[k * k];
    SkinnyProducts.crossOfColumns(blas, rows, k, x, k, y, out);
    return out;
  }

  /** X^T X in full, exactly symmetric (the model updates both halves alike). */
  private double[] gram(BLAS blas, int rows, double[] x) {
    double[] out = new double[k * k];
    SkinnyProducts.gramOfColumns(blas, rows, k, x, out);
    return out;
  }

  /** ||B A||_F^2 = sum of squared singular values. */
  double energy() {
    double e = 0;
    for (double v : s) {
      e += v * v;
    }
    return e;
  }

  /**
   * Squared error when components [from, to) are quantized and the others exact; clamped at 0
   * because the expanded form can come out slightly negative by cancellation.
   */
  double squaredError(int from, int to) {
    double exact = 0;
    double cross = 0;
    double quantized = 0;
    for (int j = from; j < to; j++) {
      exact += s[j] * s[j];
      for (int i = from; i < to; i++) {
        cross += p[i + j * k] * q[i + j * k];
        quantized += gb[i + j * k] * ga[i + j * k];
      }
    }
    return Math.max(0, exact - 2 * cross + quantized);
  }

  /**
   * Change of the full squared error if values [start, start + len) of component c's vector on
   * the given side moved by {@code d[0..len)}.
   */
  double delta(boolean bSide, int c, int start, int len, double[] d) {
    project(bSide, c, start, len, d);
    double[] partnerCross = bSide ? q : p;
    double[] partnerGram = bSide ? ga : gb;
    double dd = sumOfSquares(d, len);
    double change = dd * partnerGram[c + c * k];
    for (int i = 0; i < k; i++) {
      change += -2 * scratchCross[i] * partnerCross[i + c * k]
          + 2 * scratchGram[i] * partnerGram[c + i * k];
    }
    return change;
  }

  /**
   * Applies a move to the Gram matrices. Call it while the reconstruction still holds the old
   * values, then store the new values (the model reads them, it does not write them).
   */
  void apply(boolean bSide, int c, int start, int len, double[] d) {
    project(bSide, c, start, len, d);
    double[] cross = bSide ? p : q;
    double[] gram = bSide ? gb : ga;
    double dd = sumOfSquares(d, len);
    for (int i = 0; i < k; i++) {
      cross[i + c * k] += scratchCross[i];
      if (i != c) {
        gram[c + i * k] += scratchGram[i];
        gram[i + c * k] += scratchGram[i];
      }
    }
    gram[c + c * k] += 2 * scratchGram[c] + dd;
  }

  /** scratchCross_i = exact_i[R] . d, scratchGram_i = recon_i[R] . d over the moved range R. */
  private void project(boolean bSide, int c, int start, int len, double[] d) {
    int rows = bSide ? m : n;
    double[] exact = bSide ? bp : ap;
    double[] recon = bSide ? bh : ah;
    for (int i = 0; i < k; i++) {
      int base = i * rows + start;
      double x = 0;
      double y = 0;
      for (int t = 0; t < len; t++) {
        x += exact[base + t] * d[t];
        y += recon[base + t] * d[t];
      }
      scratchCross[i] = x;
      scratchGram[i] = y;
    }
  }

  private static double sumOfSquares(double[] d, int len) {
    double sum = 0;
    for (int t = 0; t < len; t++) {
      sum += d[t] * d[t];
    }
    return sum;
  }
}
