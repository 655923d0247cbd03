package org.loraquant.linalg;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.lapack.LAPACK;
import org.netlib.util.doubleW;
import org.netlib.util.intW;

/**
 * SVD of B A without forming the product and without Householder panels (Cholesky QR): the Gram
 * matrices B^T B and A A^T ({@link SkinnyProducts}) are scaled to unit diagonal and factored by
 * dpotrf, giving B = Qb Rb and A^T = Qa Ra with Qb, Qa never formed; the r x r core Rb Ra^T goes
 * through dgesdd, and U = B (Rb^-1 Uc), V = A^T (Ra^-1 Vc) are one product each. About
 * 3 (m + n) r^2 flops, all BLAS-3, against about 8 (m + n) r^2, mostly BLAS-2, for
 * {@link QrFactoredSvd}.
 *
 * <p>Forming the Gram matrix squares the condition number, so the route is guarded: it is taken
 * only when both Cholesky factors exist and the reciprocal condition estimate (dtrcon, 1-norm) of
 * each column-scaled factor is at least {@link #MIN_RCOND}, where the loss of orthogonality of U
 * and V, about eps / rcond^2, stays near 1e-12. Everything else (zero or rank-deficient factors,
 * r > min(m, n), ill-conditioned factors, Gram entries out of range) goes to
 * {@link QrFactoredSvd}, as do small layers (m or n below the {@code minRows} given at
 * construction), where the Householder route costs next to nothing and is the more accurate one.
 * The choice depends only on the input, so output stays deterministic.
 */
public final class GramFactoredSvd implements FactoredSvd {
  /** Smallest accepted reciprocal condition number of a column-scaled Cholesky factor. */
  public static final double MIN_RCOND = 1e-2;
  /** Default {@code minRows}: below it the Householder route is used. */
  public static final int DEFAULT_MIN_ROWS = 256;

  private final LAPACK lapack;
  private final BLAS blas;
  private final QrFactoredSvd fallback;
  private final int minRows;

  public GramFactoredSvd(LinearAlgebra linalg) {
    this(linalg, DEFAULT_MIN_ROWS);
  }

  /** @param minRows the Gram route is tried only when m and n are both at least this */
  public GramFactoredSvd(LinearAlgebra linalg, int minRows) {
    this.lapack = linalg.lapack();
    this.blas = linalg.blas();
    this.fallback = new QrFactoredSvd(linalg);
    this.minRows = minRows;
  }

  @Override
  public ThinSvd decompose(int m, int n, int r, double[] b, double[] at) {
    ThinSvd svd = gramSvd(m, n, r, b, at);
    return svd != null ? svd : fallback.decompose(m, n, r, b, at);
  }

  private static double[] columnMajor(int m, int r, double[] bRows) {
    double[] b = new double[m * r];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < r; j++) {
        b[j * m + i] = bRows[i * r + j];
      }
    }
    return b;
  }

  /**
   * The balanced factors B' = U sqrt(S) (m x k) and A'^T = V sqrt(S) (n x k) of B A, column-major,
   * with B given row-major ({@code bRows[i * r + j]} = B(i, j), i.e. B^T column-major: the layout
   * of a LoRA checkpoint, which saves a transpose) and A^T column-major, by the Gram route; null
   * when the route is not safe for these factors (then use {@link #balancedHouseholderRoute}).
   * sqrt(S) is folded into the small r x k matrices before the final products, which saves a pass
   * over U and V. Results go to {@code bpOut} / {@code apOut} when they hold at least m k / n k
   * values (callers reusing buffers pass {@link SkinnyProducts#paddedLength} arrays), else to new
   * arrays. Signs are canonical as in {@link ThinSvd#canonicalizeSigns}, applied to B' and A'.
   *
   * <p>The route accepts only finite factors: a NaN or infinite entry makes its column's sum of
   * squares (a Gram diagonal, which finite float-range values cannot overflow) non-finite, and
   * that is rejected. So a caller that checks finiteness itself needs to do so only before
   * {@link #balancedHouseholderRoute}.
   */
  public ThinSvd.Balanced balancedGramRoute(int m, int n, int r, double[] bRows, double[] at,
      double[] bpOut, double[] apOut) {
    Transforms t = gramTransforms(m, n, r, bRows, true, at);
    if (t == null) {
      return null;
    }
    t.balance();
    double[] bp = bpOut != null && bpOut.length >= (long) m * t.k ? bpOut : new double[m * t.k];
    double[] ap = apOut != null && apOut.length >= (long) n * t.k ? apOut : new double[n * t.k];
    applyTransforms(m, n, r, bRows, true, at, t, bp, ap);
    return new ThinSvd.Balanced(m, n, t.k, t.s, bp, ap);
  }

  /** The balanced factors by the Householder route ({@link QrFactoredSvd}), in new arrays. */
  public ThinSvd.Balanced balancedHouseholderRoute(int m, int n, int r, double[] bRows,
      double[] at) {
    ThinSvd svd = fallback.decompose(m, n, r, columnMajor(m, r, bRows), at);
    scaleColumns(svd.u(), m, svd.s());
    scaleColumns(svd.v(), n, svd.s());
    return new ThinSvd.Balanced(m, n, svd.k(), svd.s(), svd.u(), svd.v());
  }

  private static void scaleColumns(double[] x, int rows, double[] s) {
    for (int i = 0; i < s.length; i++) {
      double f = Math.sqrt(s[i]);
      for (int p = i * rows, end = p + rows; p < end; p++) {
        x[p] *= f;
      }
    }
  }

  /** Whether the last-level guard would accept these factors; for tests. */
  boolean takesGramRoute(int m, int n, int r, double[] b, double[] at) {
    return gramTransforms(m, n, r, b, false, at) != null;
  }

  /** The Gram route for column-major B; null when it is not safe. */
  private ThinSvd gramSvd(int m, int n, int r, double[] b, double[] at) {
    Transforms t = gramTransforms(m, n, r, b, false, at);
    if (t == null) {
      return null;
    }
    double[] u = new double[m * t.k];
    double[] v = new double[n * t.k];
    applyTransforms(m, n, r, b, false, at, t, u, v);
    return new ThinSvd(m, n, t.k, u, t.s, v);
  }

  /**
   * Singular values of B A and the r x k matrices Wb = Rb^-1 Uc, Wa = Ra^-1 Vc that take B to U
   * and A^T to V; with {@link #balance}, to U sqrt(S) and V sqrt(S).
   */
  private static final class Transforms {
    final int k;
    final double[] s;
    final double[] wb;
    final double[] wa;

    Transforms(int k, double[] s, double[] wb, double[] wa) {
      this.k = k;
      this.s = s;
      this.wb = wb;
      this.wa = wa;
    }

    /** Folds sqrt(S) into both transforms. */
    void balance() {
      int r = wb.length / k;
      for (int c = 0; c < k; c++) {
        double f = Math.sqrt(s[c]);
        for (int i = c * r; i < (c + 1) * r; i++) {
          wb[i] *= f;
          wa[i] *= f;
        }
      }
    }
  }

  /** The Gram route's transforms, or null when the route is not safe for this input. */
  private Transforms gramTransforms(int m, int n, int r, double[] b, boolean bRowMajor,
      double[] at) {
    if (r == 0 || m < Math.max(r, minRows) || n < Math.max(r, minRows)) {
      return null;
    }
    Factor rb = cholesky(m, r, b, bRowMajor);
    if (rb == null) {
      return null;
    }
    Factor ra = cholesky(n, r, at, false);
    if (ra == null) {
      return null;
    }
    int k = r;
    // Core Rb Ra^T (r x r); both factors upper triangular with zeros below the diagonal.
    CoreSvd core = CoreSvd.of(blas, lapack, r, r, r, rb.r, ra.r);
    double[] s = core.s();
    double[] uc = core.u();
    double[] vct = core.vt();

    // Wb = Rb^-1 Uc, Wa = Ra^-1 Vc (r x k).
    double[] vc = new double[r * k];
    for (int c = 0; c < k; c++) {
      for (int i = 0; i < r; i++) {
        vc[c * r + i] = vct[i * k + c];
      }
    }
    blas.dtrsm("L", "U", "N", "N", r, k, 1.0, rb.r, r, uc, r);
    blas.dtrsm("L", "U", "N", "N", r, k, 1.0, ra.r, r, vc, r);
    return new Transforms(k, s, uc, vc);
  }

  /**
   * u (m x k) = B Wb, v (n x k) = A^T Wa, column-major, with canonical signs: a column of u whose
   * largest entry is negative is negated together with its column of Wa before v is formed
   * (negation is exact, so this equals negating v afterwards, without the pass over v).
   */
  private void applyTransforms(int m, int n, int r, double[] b, boolean bRowMajor, double[] at,
      Transforms t, double[] u, double[] v) {
    int k = t.k;
    if (bRowMajor) {
      // Row-major B: one call; blocking did not help this layout (docs/BENCHMARKS.md).
      blas.dgemm("T", "N", m, k, r, 1.0, b, 0, r, t.wb, 0, r, 0.0, u, 0, m);
    } else {
      SkinnyProducts.productOfColumns(blas, m, r, b, k, t.wb, u);
    }
    for (int c = 0; c < k; c++) {
      if (ThinSvd.largestEntryIsNegative(u, c * m, m)) {
        ThinSvd.negate(u, c * m, m);
        ThinSvd.negate(t.wa, c * r, r);
      }
    }
    SkinnyProducts.productOfColumns(blas, n, r, at, k, t.wa, v);
  }

  /** Upper triangular R (r x r, column-major, zeros below) with X^T X = R^T R. */
  private record Factor(double[] r) {}

  /**
   * Cholesky factor of X^T X for X rows x cols (column-major, or row-major if asked), or null if
   * it does not exist or is too ill-conditioned. The Gram matrix is scaled to unit diagonal
   * (D G D, D = diag(G)^-1/2) before dpotrf, so the condition test measures the conditioning that
   * matters (column scaling is free) and R = R' D^-1.
   */
  private Factor cholesky(int rows, int cols, double[] x, boolean rowMajor) {
    double[] g = new double[cols * cols];
    if (rowMajor) {
      SkinnyProducts.gramOfRowMajor(blas, rows, cols, x, g);
    } else {
      SkinnyProducts.gramOfColumns(blas, rows, cols, x, g);
    }
    double[] d = new double[cols];
    for (int j = 0; j < cols; j++) {
      double diag = g[j * cols + j];
      // Zero, subnormal, overflowed or NaN columns: leave them to the Householder route.
      if (!(diag >= Double.MIN_NORMAL * 0x1p60) || diag == Double.POSITIVE_INFINITY) {
        return null;
      }
      d[j] = 1 / Math.sqrt(diag);
    }
    for (int j = 0; j < cols; j++) {
      for (int i = 0; i <= j; i++) {
        g[j * cols + i] *= d[i] * d[j];
      }
      for (int i = j + 1; i < cols; i++) {
        g[j * cols + i] = 0;
      }
    }
    intW info = new intW(0);
    lapack.dpotrf("U", cols, g, cols, info);
    if (info.val != 0) {
      return null;
    }
    doubleW rcond = new doubleW(0);
    lapack.dtrcon("1", "U", "N", cols, g, cols, rcond, new double[3 * cols], new int[cols], info);
    if (info.val != 0 || !(rcond.val >= MIN_RCOND)) {
      return null;
    }
    // R = R' D^-1: column j of R' divided by d_j.
    for (int j = 0; j < cols; j++) {
      double f = 1 / d[j];
      for (int i = 0; i <= j; i++) {
        g[j * cols + i] *= f;
      }
    }
    return new Factor(g);
  }
}
