package org.loraquant.linalg;

import org.junit.jupiter.api.BeforeAll;
import org.loraquant.testing.NativeLinalg;

/** The contract on the Cholesky-QR route with native LAPACK; minRows 0 so small inputs take it. */
class GramFactoredSvdNativeTest extends FactoredSvdContract {
  @BeforeAll
  static void requireNative() {
    NativeLinalg.assumeTested();
  }

  @Override
  FactoredSvd svd() {
    return new GramFactoredSvd(LinearAlgebra.nativeOnly(), 0);
  }
}
