package org.loraquant.linalg;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeAll;

/** The contract with native LAPACK; skipped where no system BLAS/LAPACK loads. */
class QrFactoredSvdNativeTest extends FactoredSvdContract {
  @BeforeAll
  static void requireNative() {
    assumeTrue(LinearAlgebra.nativeAvailable(), "native LAPACK not available");
  }

  @Override
  FactoredSvd svd() {
    return new QrFactoredSvd(LinearAlgebra.nativeOnly());
  }
}
