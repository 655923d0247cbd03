package org.loraquant.testing;

import java.time.Duration;

/** Waiting between polls of a child process that is starting up or working. */
final class Polling {
  private Polling() {}

  /** Sleeps; an interrupt ends the wait with an exception (the test is being cancelled). */
  static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while waiting", e);
    }
  }
}
