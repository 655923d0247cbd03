package org.loraquant.linalg;

/**
 * The codec's composition of the routes ({@code LoraQuantCodec.compress}): the Gram route, and
 * the Householder route where it declines; pure-Java LAPACK, with the default and with no
 * size threshold, so both routes are exercised on every case that allows them.
 */
class CodecRoutesJavaTest extends BalancedRouteContract {
  static ThinSvd.Balanced codecRoutes(GramFactoredSvd routes, int m, int n, int r, double[] bRows,
      double[] at) {
    ThinSvd.Balanced gram = routes.balancedGramRoute(m, n, r, bRows, at, null, null);
    return gram != null ? gram : routes.balancedHouseholderRoute(m, n, r, bRows, at);
  }

  @Override
  ThinSvd.Balanced balanced(int m, int n, int r, double[] bRows, double[] at) {
    return codecRoutes(new GramFactoredSvd(LinearAlgebra.javaOnly()), m, n, r, bRows, at);
  }

  /** Every input that the Gram route accepts takes it. */
  static class NoThreshold extends BalancedRouteContract {
    @Override
    ThinSvd.Balanced balanced(int m, int n, int r, double[] bRows, double[] at) {
      return codecRoutes(new GramFactoredSvd(LinearAlgebra.javaOnly(), 0), m, n, r, bRows, at);
    }
  }

  /** The Householder route alone, for every input. */
  static class HouseholderOnly extends BalancedRouteContract {
    @Override
    ThinSvd.Balanced balanced(int m, int n, int r, double[] bRows, double[] at) {
      return new GramFactoredSvd(LinearAlgebra.javaOnly()).balancedHouseholderRoute(m, n, r,
          bRows, at);
    }
  }
}
