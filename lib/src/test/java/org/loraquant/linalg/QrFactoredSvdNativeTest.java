package org.loraquant.linalg;

import org.junit.jupiter.api.BeforeAll;
import org.loraquant.testing.NativeLinalg;

/** The contract with native LAPACK; skipped where no system BLAS/LAPACK loads. */
class QrFactoredSvdNativeTest extends FactoredSvdContract {
  @BeforeAll
  static void requireNative() {
    NativeLinalg.assumeTested();
  }

  @Override
  FactoredSvd svd() {
    return new QrFactoredSvd(LinearAlgebra.nativeOnly());
  }
}
