package org.loraquant.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LinearAlgebraTest {
  @AfterEach
  void clearProperty() {
    System.clearProperty(LinearAlgebra.PROPERTY);
  }

  @Test
  void javaChoiceIsPureJava() {
    System.setProperty(LinearAlgebra.PROPERTY, "java");
    LinearAlgebra linalg = LinearAlgebra.current();
    assertThat(linalg.isNative()).isFalse();
    assertThat(linalg.describe()).contains("LAPACK=").contains("BLAS=");
  }

  @Test
  void unknownChoiceIsRejectedByName() {
    System.setProperty(LinearAlgebra.PROPERTY, "gpu");
    assertThatThrownBy(LinearAlgebra::current)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'gpu'");
  }

  @Test
  void nativeChoiceIsNativeOrFailsWithAFix() {
    if (LinearAlgebra.nativeAvailable()) {
      assertThat(LinearAlgebra.nativeOnly().isNative()).isTrue();
    } else {
      assertThatThrownBy(LinearAlgebra::nativeOnly).hasMessageContaining("libopenblas0");
    }
  }
}
