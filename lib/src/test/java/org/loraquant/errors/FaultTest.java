package org.loraquant.errors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.loraquant.codec.BudgetCodec;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.CodecSettings;
import org.loraquant.codec.LoraFactors;
import org.loraquant.codec.LoraQuantCodec;
import org.loraquant.linalg.LinearAlgebra;

class FaultTest {
  @Test
  void nonFiniteFactorsAreAnInputFaultInBothModes() {
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
      LoraFactors f = factors(40, 30, 4);
      f.a()[7] = bad;
      Throwable paper = catchThrowable(
          () -> LoraQuantCodec.compress(f, CodecSettings.defaults(), LinearAlgebra.javaOnly()));
      Throwable budget = catchThrowable(
          () -> BudgetCodec.compress(List.of(f), BudgetSettings.of(2), LinearAlgebra.javaOnly()));
      for (Throwable t : new Throwable[] {paper, budget}) {
        assertThat(t).isInstanceOf(InvalidAdapterException.class)
            .hasMessageStartingWith("LoRA factor A holds a non-finite value " + bad + " at (0, 7)");
        assertThat(Fault.of(t)).isEqualTo(Fault.INVALID_INPUT);
      }
    }
  }

  @Test
  void storageFaultsAreIoExceptionsCheckedOrNot() {
    assertThat(Fault.of(new AccessDeniedException("/x"))).isEqualTo(Fault.STORAGE);
    assertThat(Fault.of(new UncheckedIOException("Cannot read /x", new IOException("reset"))))
        .isEqualTo(Fault.STORAGE);
  }

  @Test
  void theDecisionIgnoresTheCauseChain() {
    // A bug that happens to wrap an IOException is not a storage fault to retry ...
    assertThat(Fault.of(new IllegalStateException(new IOException("parse")))).isEqualTo(Fault.OTHER);
    // ... and an input fault that carries one is still the input's fault.
    assertThat(Fault.of(new InvalidAdapterException("f", "t", "bad", new IOException("x"))))
        .isEqualTo(Fault.INVALID_INPUT);
    assertThat(Fault.of(new IncompleteAdapterException("f", null, "uploading")))
        .isEqualTo(Fault.INCOMPLETE_INPUT);
    assertThat(Fault.of(new IllegalArgumentException("budget too small"))).isEqualTo(Fault.OTHER);
  }

  @Test
  void aFaultWithoutAFileIsItsProblemAlone() {
    assertThat(InvalidAdapterException.inFactors("LoRA factor B holds NaN").getMessage())
        .isEqualTo("LoRA factor B holds NaN");
    assertThat(InvalidAdapterException.inFactors("x").file()).isNull();
  }

  private static LoraFactors factors(int m, int n, int r) {
    Random random = new Random(5);
    float[] b = new float[m * r];
    float[] a = new float[r * n];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) random.nextGaussian();
    }
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) random.nextGaussian();
    }
    return new LoraFactors(m, n, r, b, a);
  }
}
