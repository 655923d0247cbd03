package org.loraquant.linalg;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.lapack.LAPACK;

/**
 * The step both factored SVD routes share: with B = Qb Rb and A^T = Qa Ra, the SVD of the small
 * core Rb Ra^T (p x q, Rb p x r, Ra q x r, both column-major), k = min(p, q) components: singular
 * values {@code s}, left vectors {@code u} (p x k) and right vectors transposed {@code vt} (k x q).
 */
record CoreSvd(double[] s, double[] u, double[] vt) {
  static CoreSvd of(BLAS blas, LAPACK lapack, int p, int q, int r, double[] rb, double[] ra) {
    int k = Math.min(p, q);
    double[] core = new double[p * q];
    blas.dgemm("N", "T", p, q, r, 1.0, rb, p, ra, q, 0.0, core, p);
    double[] s = new double[k];
    double[] u = new double[p * k];
    double[] vt = new double[k * q];
    Lapack.dgesdd(lapack, p, q, core, s, u, vt);
    return new CoreSvd(s, u, vt);
  }
}
