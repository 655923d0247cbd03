package org.loraquant.linalg;

class QrFactoredSvdJavaTest extends FactoredSvdContract {
  @Override
  FactoredSvd svd() {
    return new QrFactoredSvd(LinearAlgebra.javaOnly());
  }
}
