package org.loraquant.linalg;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeAll;

/** The contract on the Cholesky-QR route with native LAPACK; minRows 0 so small inputs take it. */
class GramFactoredSvdNativeTest extends FactoredSvdContract {
  @BeforeAll
  static void requireNative() {
    assumeTrue(LinearAlgebra.nativeAvailable(), "native LAPACK not available");
  }

  @Override
  FactoredSvd svd() {
    return new GramFactoredSvd(LinearAlgebra.nativeOnly(), 0);
  }
}
