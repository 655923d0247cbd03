package org.loraquant.s3;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * A fault injected from a background thread as soon as a condition holds, unless the run ended
 * first: lets a test hit a job at a chosen stage (after its first output, say) without hooks in
 * the job.
 */
final class BackgroundFault {
  private static final Duration POLL = Duration.ofMillis(100);

  private final AtomicBoolean runEnded = new AtomicBoolean();
  private final AtomicBoolean injectedDuringRun = new AtomicBoolean();
  private final Thread thread;

  private BackgroundFault(BooleanSupplier condition, Runnable inject) {
    thread =
        new Thread(
            () -> {
              while (!runEnded.get()) {
                if (condition.getAsBoolean()) {
                  injectedDuringRun.set(!runEnded.get());
                  inject.run();
                  return;
                }
                pause(POLL);
              }
            },
            "fault-injector");
    thread.setDaemon(true);
  }

  static BackgroundFault when(BooleanSupplier condition, Runnable inject) {
    BackgroundFault fault = new BackgroundFault(condition, inject);
    fault.thread.start();
    return fault;
  }

  /** Stops waiting for the condition, and waits for a fault under way to end (store back up). */
  void runEnded() throws InterruptedException {
    runEnded.set(true);
    thread.join();
  }

  /** True if the fault began before {@link #runEnded()}; false if the run was over first. */
  boolean happenedDuringRun() {
    return injectedDuringRun.get();
  }

  static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
