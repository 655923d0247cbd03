package org.loraquant.linalg;

/** The contract on the Cholesky-QR route, pure Java; minRows 0 so that small inputs take it. */
class GramFactoredSvdJavaTest extends FactoredSvdContract {
  @Override
  FactoredSvd svd() {
    return new GramFactoredSvd(LinearAlgebra.javaOnly(), 0);
  }
}
