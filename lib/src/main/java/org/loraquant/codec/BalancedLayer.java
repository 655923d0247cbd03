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
    return of(factors, linalg, null);
  }

  /**
   * As {@link #of(LoraFactors, LinearAlgebra)}, B' and A' in spare arrays of this thread's
   * workspace where it has some ({@link CodecWorkspace#factorArray}, the same lengths as new
   * ones); {@link #release} gives them back once the layer is done with.
   *
   * @param spares this thread's workspace, or null for new arrays
   */
  static BalancedLayer of(LoraFactors factors, LinearAlgebra linalg, CodecWorkspace spares) {
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
    int bpLength = SkinnyProducts.paddedLength(m, kMax);
    int apLength = SkinnyProducts.paddedLength(n, kMax);
    // Every value a reader looks at is written: the route writes all m k / n k values of B' and
    // A', and the spare column (the padding) is never read.
    double[] bpOut = spares == null ? new double[bpLength] : spares.factorArray(bpLength);
    double[] apOut = spares == null ? new double[apLength] : spares.factorArray(apLength);
    ThinSvd.Balanced svd = routes.balancedGramRoute(m, n, r, bRows, at, bpOut, apOut);
    if (spares != null && (svd == null || svd.bp() != bpOut)) {
      spares.giveBack(bpOut);
      spares.giveBack(apOut);
    }
    if (svd == null) {
      LoraQuantCodec.requireFinite(factors.b(), r, "B");
      LoraQuantCodec.requireFinite(factors.a(), n, "A");
      svd = routes.balancedHouseholderRoute(m, n, r, bRows, at);
    }
    return new BalancedLayer(m, n, r, svd.s(), svd.bp(), svd.ap());
  }

  /**
   * Gives B' and A' to this thread's workspace for a later layer ({@link #of(LoraFactors,
   * LinearAlgebra, CodecWorkspace)}); the caller holds no reference to this layer or its arrays
   * any more.
   */
  void release(CodecWorkspace spares) {
    spares.giveBack(bp);
    spares.giveBack(ap);
  }
}
