package org.loraquant.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.loraquant.errors.IncompleteAdapterException;
import org.loraquant.errors.LoraQuantException;

/**
 * Sorts an exception raised while handling one adapter into what the stats table says about it.
 * Storage failures are not the adapter's fault: they are rethrown so Spark retries the task, and
 * the run fails cleanly when retries run out. Everything else (a refused input, NaN factors, a
 * crash in the codec) is this adapter's problem and must not stop the others.
 */
final class AdapterErrors {
  private AdapterErrors() {}

  /** Rethrows storage failures; otherwise the adapter's status. */
  static AdapterStatus classify(RuntimeException e) {
    if (e instanceof IncompleteAdapterException) {
      return AdapterStatus.INCOMPLETE;
    }
    if (e instanceof LoraQuantException) {
      return AdapterStatus.FAILED;
    }
    if (e instanceof UncheckedIOException || e.getCause() instanceof IOException) {
      throw e;
    }
    return AdapterStatus.FAILED;
  }

  /** The message for the stats row: ours as is (they name file, tensor and problem). */
  static String message(RuntimeException e) {
    return e instanceof LoraQuantException ? e.getMessage() : e.toString();
  }
}
