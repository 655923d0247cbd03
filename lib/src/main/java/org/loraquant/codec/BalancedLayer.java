package org.loraquant.codec;

import org.loraquant.linalg.GramFactoredSvd;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.linalg.SkinnyProducts;
import org.loraquant.linalg.ThinSvd;

/**
 * Steps 1 and 2 of docs/ALGORITHM.md for the budget mode, in arrays of its own (the per-thread
 * {@link CodecWorkspace} is reused from call to call and cannot be held across layers; only the
 * decomposition's inputs, read and done with inside {@link #of}, come from it): the singular
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
    // The paper mode's work arrays (padded, so the skinny products take the same blocked path):
    // no result below refers to them, and no caller of this is inside a paper-mode call.
    CodecWorkspace work = CodecWorkspace.forCurrentThread();
    double[] bRows = LoraQuantCodec.toDoubles(factors.b(), work.bRows(m, r));
    double[] at = LoraQuantCodec.toDoubles(factors.a(), work.at(n, r));
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
