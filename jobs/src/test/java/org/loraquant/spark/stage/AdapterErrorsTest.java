package org.loraquant.spark.stage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.InvalidAdapterException;
import org.loraquant.stats.AdapterStatus;

class AdapterErrorsTest {
  @Test
  void storageFailuresAreRethrownForSparkToRetry() {
    UncheckedIOException e = new UncheckedIOException("Cannot read s3a://b/x", new IOException());
    assertThatThrownBy(() -> AdapterErrors.classify(e)).isSameAs(e);
  }

  @Test
  void inputFaultsAreTheAdaptersOwn() {
    assertThat(AdapterErrors.classify(new InvalidAdapterException("f", "t", "bad")))
        .isEqualTo(AdapterStatus.FAILED);
    assertThat(AdapterErrors.classify(new IncompleteAdapterException("f", null, "uploading")))
        .isEqualTo(AdapterStatus.INCOMPLETE);
  }

  @Test
  void aWrappedIoExceptionDoesNotMakeABugRetryable() {
    // Decided by type, not by getCause(): this was retried (and failed the run) before.
    assertThat(AdapterErrors.classify(new IllegalStateException(new IOException("in a parser"))))
        .isEqualTo(AdapterStatus.FAILED);
  }
}
