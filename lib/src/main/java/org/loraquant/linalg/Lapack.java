package org.loraquant.linalg;

import dev.ludovic.netlib.lapack.LAPACK;
import org.netlib.util.intW;

/** Small helpers around netlib calls: workspace queries and info checks. */
final class Lapack {
  private Lapack() {}

  static void check(String routine, intW info) {
    if (info.val != 0) {
      throw new ArithmeticException(routine + " failed with info=" + info.val
          + (info.val > 0 ? " (did not converge)" : " (illegal argument)"));
    }
  }

  /**
   * Thin SVD of the column-major rows x cols matrix {@code a} (destroyed): singular values into
   * {@code s} (min(rows, cols)), U into {@code u} (rows x k), V^T into {@code vt} (k x cols).
   */
  static void dgesdd(LAPACK lapack, int rows, int cols, double[] a, double[] s, double[] u,
      double[] vt) {
    int k = Math.min(rows, cols);
    int[] iwork = new int[8 * k];
    intW info = new intW(0);
    double[] query = new double[1];
    int ldu = Math.max(1, rows);
    int ldvt = Math.max(1, k);
    lapack.dgesdd("S", rows, cols, a, Math.max(1, rows), s, u, ldu, vt, ldvt, query, -1, iwork, info);
    check("dgesdd (workspace query)", info);
    int lwork = Math.max(1, (int) query[0]);
    double[] work = new double[lwork];
    lapack.dgesdd("S", rows, cols, a, Math.max(1, rows), s, u, ldu, vt, ldvt, work, lwork, iwork, info);
    check("dgesdd", info);
  }
}
