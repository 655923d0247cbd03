package org.loraquant.linalg;

import org.junit.jupiter.api.BeforeAll;
import org.loraquant.testing.NativeLinalg;

/** {@link CodecRoutesJavaTest} on native LAPACK and BLAS (OpenBLAS where installed). */
class CodecRoutesNativeTest extends BalancedRouteContract {
  @BeforeAll
  static void requireNative() {
    NativeLinalg.assumeTested();
  }

  @Override
  ThinSvd.Balanced balanced(int m, int n, int r, double[] bRows, double[] at) {
    return CodecRoutesJavaTest.codecRoutes(new GramFactoredSvd(LinearAlgebra.nativeOnly()), m, n,
        r, bRows, at);
  }

  static class NoThreshold extends BalancedRouteContract {
    @BeforeAll
    static void requireNative() {
      NativeLinalg.assumeTested();
    }

    @Override
    ThinSvd.Balanced balanced(int m, int n, int r, double[] bRows, double[] at) {
      return CodecRoutesJavaTest.codecRoutes(new GramFactoredSvd(LinearAlgebra.nativeOnly(), 0),
          m, n, r, bRows, at);
    }
  }
}
