package org.loraquant.linalg;

/** The dense reference passes the same contract, so disagreements point at the fast path. */
class DenseReferenceSvdTest extends FactoredSvdContract {
  @Override
  FactoredSvd svd() {
    return new DenseReferenceSvd(LinearAlgebra.javaOnly());
  }
}
