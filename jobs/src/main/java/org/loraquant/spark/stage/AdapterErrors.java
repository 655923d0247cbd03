package org.loraquant.spark.stage;

import org.loraquant.errors.Fault;
import org.loraquant.errors.LoraQuantException;
import org.loraquant.stats.AdapterStatus;

/**
 * Sorts an exception raised while handling one adapter into what the stats table says about it,
 * by its {@link Fault} (the exception's type, never its cause chain). Storage failures are not the
 * adapter's fault: they are rethrown so Spark retries the task, and the run fails cleanly when
 * retries run out. Everything else (a refused input, non-finite factors, a crash in the codec) is
 * this adapter's problem and must not stop the others.
 */
final class AdapterErrors {
  private AdapterErrors() {}

  /** Rethrows storage failures; otherwise the adapter's status. */
  static AdapterStatus classify(RuntimeException e) {
    return switch (Fault.of(e)) {
      case INCOMPLETE_INPUT -> AdapterStatus.INCOMPLETE;
      case STORAGE -> throw e;
      case INVALID_INPUT, OTHER -> AdapterStatus.FAILED;
    };
  }

  /** The message for the stats row: ours as is (they name file, tensor and problem). */
  static String message(RuntimeException e) {
    return e instanceof LoraQuantException ? e.getMessage() : e.toString();
  }
}
