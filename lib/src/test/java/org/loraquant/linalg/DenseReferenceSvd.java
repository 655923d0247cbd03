package org.loraquant.linalg;

import java.util.Arrays;

/**
 * Test-only reference: forms the m x n product B A and runs dgesdd on it, O(m n min(m, n)). Keeps
 * the first k = min(r, m, n) components and the same sign convention as the fast path.
 */
public final class DenseReferenceSvd implements FactoredSvd {
  private final LinearAlgebra linalg;

  public DenseReferenceSvd(LinearAlgebra linalg) {
    this.linalg = linalg;
  }

  /** B A as a column-major m x n matrix. */
  public double[] product(int m, int n, int r, double[] b, double[] at) {
    double[] product = new double[m * n];
    if (m > 0 && n > 0 && r > 0) {
      linalg.blas().dgemm("N", "T", m, n, r, 1.0, b, m, at, n, 0.0, product, m);
    }
    return product;
  }

  @Override
  public ThinSvd decompose(int m, int n, int r, double[] b, double[] at) {
    int k = Math.min(r, Math.min(m, n));
    if (k == 0) {
      return new ThinSvd(m, n, 0, new double[0], new double[0], new double[0]);
    }
    int full = Math.min(m, n);
    double[] product = product(m, n, r, b, at);
    double[] s = new double[full];
    double[] u = new double[m * full];
    double[] vt = new double[full * n];
    Lapack.dgesdd(linalg.lapack(), m, n, product, s, u, vt);

    double[] uk = Arrays.copyOf(u, m * k);
    double[] vk = new double[n * k];
    for (int i = 0; i < k; i++) {
      for (int l = 0; l < n; l++) {
        vk[i * n + l] = vt[i + l * full];
      }
    }
    ThinSvd.canonicalizeSigns(m, n, k, uk, vk);
    return new ThinSvd(m, n, k, uk, Arrays.copyOf(s, k), vk);
  }
}
