package org.loraquant.codec;

import dev.ludovic.netlib.blas.BLAS;
import org.loraquant.linalg.SkinnyProducts;

/**
 * The refit of the budget mode (docs/ALGORITHM.md, "Budget mode", step B4): with one side
 * quantized, the other side's best factor is a least-squares fit, not its SVD factor. For the kept
 * components K (p of them) and B^_K the quantized columns of B':
 *
 * <pre>
 *   A* = argmin ||B' A' - B^_K A||_F = (B^_K^T B^_K)^-1 (B^_K^T B') A'      (p x n)
 * </pre>
 *
 * a p x p solve and products of skinny matrices, never an m x n matrix. A* is quantized at the
 * components' widths; then B is refitted against the quantized A, and so on, alternately. A step
 * is kept only if the layer's measured error ({@link KeptErrorModel}) falls. G and the
 * cross product B^_K^T B' are the error model's own products, so a step computes only the
 * product with A' and its candidate's products.
 */
final class LeastSquaresRefit {
  private LeastSquaresRefit() {}

  /**
   * Runs up to {@code steps} refit steps (A first) on the layer's reconstruction {@code bh} /
   * {@code ah} (the kept components' columns, contiguous: m x p and n x p) and codes
   * {@code bCodes} / {@code aCodes} (k each, null where dropped); the codes are replaced where a
   * step is kept. {@code model} is the error model of {@code bh} / {@code ah}: its products are
   * the normal equations of each step, and a step's candidate model reuses the products of the
   * side it does not change ({@link KeptErrorModel#withSide}). Returns the number of steps kept;
   * {@code error[0]} holds the squared error before and is updated.
   *
   * <p>The reconstruction is scratch to the caller, which reads neither {@code bh} nor {@code ah}
   * afterwards: a candidate is written to a spare array of this thread's {@link CodecWorkspace}
   * and a kept one takes the current one's place (the arrays swap, no copy), so the caller's
   * arrays may be overwritten. They must not be the spares.
   */
  static int refit(BLAS blas, BalancedLayer layer, int[] widths, LevelFamily levels,
      int groupSize, int steps, double[] bh, double[] ah, VectorCode[] bCodes,
      VectorCode[] aCodes, KeptErrorModel model, double[] error) {
    int m = layer.m();
    int n = layer.n();
    int k = layer.k();
    int[] kept = keptComponents(widths);
    int p = kept.length;
    if (p == 0 || layer.energy() == 0) {
      return 0;
    }
    CodecWorkspace work = CodecWorkspace.forCurrentThread();
    double[] currentB = bh;
    double[] currentA = ah;
    double[] spareB = work.spareB(m, p);
    double[] spareA = work.spareA(n, p);
    int keptSteps = 0;
    KeptErrorModel current = model;
    for (int step = 0; step < steps; step++) {
      boolean refitA = step % 2 == 0;
      // Refit side S (rows x p) against the quantized other side, whose products with itself
      // and with its exact factor are the current model's.
      int rows = refitA ? n : m;
      double[] fitted = fit(blas, work, current.gram(refitA), current.cross(refitA), k, p, rows,
          refitA ? layer.ap() : layer.bp());
      if (fitted == null) {
        return keptSteps;
      }
      double[] recon = refitA ? spareA : spareB;
      VectorCode[] codes = new VectorCode[k];
      for (int c = 0; c < p; c++) {
        codes[kept[c]] = VectorQuantizer.quantize(levels, widths[kept[c]], groupSize, fitted,
            c * rows, rows, recon, c * rows);
      }
      KeptErrorModel candidateModel = current.withSide(blas, !refitA, rows, recon);
      double candidate = candidateModel.squaredError();
      if (candidate < error[0]) {
        error[0] = candidate;
        current = candidateModel;
        if (refitA) {
          spareA = currentA;
          currentA = recon;
        } else {
          spareB = currentB;
          currentB = recon;
        }
        System.arraycopy(codes, 0, refitA ? aCodes : bCodes, 0, k);
        keptSteps++;
      }
    }
    return keptSteps;
  }

  /** The indices of the components with a width above 0, ascending. */
  static int[] keptComponents(int[] widths) {
    int p = 0;
    for (int w : widths) {
      p += w > 0 ? 1 : 0;
    }
    int[] kept = new int[p];
    p = 0;
    for (int i = 0; i < widths.length; i++) {
      if (widths[i] > 0) {
        kept[p++] = i;
      }
    }
    return kept;
  }

  /**
   * The least-squares factor (rows x p, column-major, in this thread's workspace) of the refitted
   * side: S X^T with X = G^-1 C^T, G = Q_K^T Q_K ({@code gram}, p x p) and C = P^T Q_K
   * ({@code cross}, k x p) for the quantized other side Q_K and its exact factor P; null when G
   * is not safely positive definite.
   */
  private static double[] fit(BLAS blas, CodecWorkspace work, double[] gram, double[] cross,
      int k, int p, int rows, double[] exactThis) {
    double[] x = new double[p * k];
    for (int j = 0; j < k; j++) {
      for (int c = 0; c < p; c++) {
        x[c + j * p] = cross[j + c * k];
      }
    }
    if (!choleskySolve(gram, p, x, k)) {
      return null;
    }
    // x now holds X (p x k); the product needs X^T (k x p).
    double[] xt = new double[k * p];
    for (int c = 0; c < p; c++) {
      for (int j = 0; j < k; j++) {
        xt[j + c * k] = x[c + j * p];
      }
    }
    double[] out = work.fitted(rows, p);
    SkinnyProducts.productOfColumns(blas, rows, k, exactThis, p, xt, out);
    return out;
  }

  /**
   * Solves G X = C in place of C (p x cols, column-major) for symmetric G (p x p) by Cholesky;
   * false when a pivot is not above 1e-12 of the largest diagonal entry (a quantized side that
   * lost a direction), and nothing is refitted then.
   */
  static boolean choleskySolve(double[] g, int p, double[] c, int cols) {
    double[] l = g.clone();
    double largest = 0;
    for (int i = 0; i < p; i++) {
      largest = Math.max(largest, g[i + i * p]);
    }
    for (int j = 0; j < p; j++) {
      double d = l[j + j * p];
      for (int t = 0; t < j; t++) {
        d -= l[j + t * p] * l[j + t * p];
      }
      if (!(d > 1e-12 * largest)) {
        return false;
      }
      d = Math.sqrt(d);
      l[j + j * p] = d;
      for (int i = j + 1; i < p; i++) {
        double v = l[i + j * p];
        for (int t = 0; t < j; t++) {
          v -= l[i + t * p] * l[j + t * p];
        }
        l[i + j * p] = v / d;
      }
    }
    for (int col = 0; col < cols; col++) {
      int off = col * p;
      for (int i = 0; i < p; i++) {
        double v = c[off + i];
        for (int t = 0; t < i; t++) {
          v -= l[i + t * p] * c[off + t];
        }
        c[off + i] = v / l[i + i * p];
      }
      for (int i = p - 1; i >= 0; i--) {
        double v = c[off + i];
        for (int t = i + 1; t < p; t++) {
          v -= l[t + i * p] * c[off + t];
        }
        c[off + i] = v / l[i + i * p];
      }
    }
    return true;
  }
}
