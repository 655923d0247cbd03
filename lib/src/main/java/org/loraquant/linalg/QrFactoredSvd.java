package org.loraquant.linalg;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.lapack.LAPACK;
import java.util.Arrays;
import org.netlib.util.intW;

/**
 * SVD of B A without forming the m x n product: B = Qb Rb and A^T = Qa Ra (Householder QR,
 * dgeqrf + dorgqr), the p x q core C = Rb Ra^T goes through dgesdd, and U = Qb Uc, V = Qa Vc.
 * Cost O((m + n) r^2); memory O((m + n) r).
 *
 * <p>When m < r (or n < r) the QR is of a wide matrix: Qb is m x m and Rb is m x r upper
 * trapezoidal, and the core is min(m, r) x min(n, r), so k = min(r, m, n) falls out directly.
 */
public final class QrFactoredSvd implements FactoredSvd {
  private final LAPACK lapack;
  private final BLAS blas;

  public QrFactoredSvd(LinearAlgebra linalg) {
    this.lapack = linalg.lapack();
    this.blas = linalg.blas();
  }

  @Override
  public ThinSvd decompose(int m, int n, int r, double[] b, double[] at) {
    int k = Math.min(r, Math.min(m, n));
    if (k == 0) {
      return new ThinSvd(m, n, 0, new double[0], new double[0], new double[0]);
    }
    Orthogonalized qb = orthogonalize(m, r, b);
    Orthogonalized qa = orthogonalize(n, r, at);
    int p = qb.rank;
    int q = qa.rank;

    CoreSvd core = CoreSvd.of(blas, lapack, p, q, r, qb.r, qa.r);
    double[] s = core.s();
    double[] uc = core.u();
    double[] vct = core.vt();

    double[] u = new double[m * k];
    double[] v = new double[n * k];
    blas.dgemm("N", "N", m, k, p, 1.0, qb.q, m, uc, p, 0.0, u, m);
    blas.dgemm("N", "T", n, k, q, 1.0, qa.q, n, vct, k, 0.0, v, n);
    ThinSvd.canonicalizeSigns(m, n, k, u, v);
    return new ThinSvd(m, n, k, u, s, v);
  }

  /** Q (rows x rank, orthonormal columns) and R (rank x cols, upper trapezoidal), rank = min. */
  private record Orthogonalized(int rank, double[] q, double[] r) {}

  private Orthogonalized orthogonalize(int rows, int cols, double[] x) {
    int rank = Math.min(rows, cols);
    double[] work = x.clone();
    double[] tau = new double[rank];
    int lwork = Math.max(1, cols * 64);
    double[] buf = new double[lwork];
    intW info = new intW(0);
    lapack.dgeqrf(rows, cols, work, Math.max(1, rows), tau, buf, lwork, info);
    Lapack.check("dgeqrf", info);

    double[] r = new double[rank * cols];
    for (int j = 0; j < cols; j++) {
      int top = Math.min(j + 1, rank);
      for (int i = 0; i < top; i++) {
        r[j * rank + i] = work[j * rows + i];
      }
    }
    lapack.dorgqr(rows, rank, rank, work, Math.max(1, rows), tau, buf, lwork, info);
    Lapack.check("dorgqr", info);
    double[] q = rows * rank == work.length ? work : Arrays.copyOf(work, rows * rank);
    return new Orthogonalized(rank, q, r);
  }
}
