package org.loraquant.codec;

import org.loraquant.linalg.GramFactoredSvd;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.linalg.SkinnyProducts;
import org.loraquant.linalg.ThinSvd;

/**
 * Steps 1 and 2 of docs/ALGORITHM.md for the budget mode, in arrays of its own (the paper mode's
 * per-thread workspace is reused from call to call and cannot be held across layers): the singular
 * values s (descending) and the balanced factors B' = U sqrt(S) ({@code bp}, m x k column-major)
 * and A'^T = V sqrt(S) ({@code ap}, n x k column-major), by the same routes and sign rule as
 * {@link LoraQuantCodec}, so both modes see the same components. The arrays may be longer than
 * m k / n k (padded for blocked products, {@link SkinnyProducts#paddedLength}).
 */
record BalancedLayer(int m, int n, int rank, double[] s, double[] bp, double[] ap) {
  int k() {
    return s.length;
  }

  /** ||B A||_F^2. */
  double energy() {
    double e = 0;
    for (double v : s) {
      e += v * v;
    }
    return e;
  }

  /**
   * @throws org.loraquant.errors.InvalidAdapterException if a factor holds NaN or infinity
   */
  static BalancedLayer of(LoraFactors factors, LinearAlgebra linalg) {
    int m = factors.m();
    int n = factors.n();
    int r = factors.r();
    // Padded as the paper mode's work arrays, so the skinny products take the same blocked path.
    double[] bRows = LoraQuantCodec.toDoubles(factors.b(),
        new double[SkinnyProducts.paddedLength(m, r)]);
    double[] at = LoraQuantCodec.toDoubles(factors.a(),
        new double[SkinnyProducts.paddedLength(n, r)]);
    int kMax = Math.min(r, Math.min(m, n));
    GramFactoredSvd routes = new GramFactoredSvd(linalg);
    ThinSvd.Balanced svd = routes.balancedGramRoute(m, n, r, bRows, at,
        new double[SkinnyProducts.paddedLength(m, kMax)],
        new double[SkinnyProducts.paddedLength(n, kMax)]);
    if (svd == null) {
      LoraQuantCodec.requireFinite(factors.b(), r, "B");
      LoraQuantCodec.requireFinite(factors.a(), n, "A");
      svd = routes.balancedHouseholderRoute(m, n, r, bRows, at);
    }
    return new BalancedLayer(m, n, r, svd.s(), svd.bp(), svd.ap());
  }
}
