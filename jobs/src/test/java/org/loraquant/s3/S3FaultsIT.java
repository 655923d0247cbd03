package org.loraquant.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.FaultInjectingProxy;
import org.loraquant.testing.S3ProxyServer;

/**
 * The job against a store that misbehaves mid-run: throttling (503 SlowDown for a while, from a
 * proxy in front of the store) and an outage (the store killed and restarted). The run either
 * completes, S3A's retries having covered the fault, or fails cleanly: exit code 1 and one line on
 * stderr. Either way a rerun on healthy storage completes with every adapter present exactly once.
 */
class S3FaultsIT {
  private static final Duration POLL = Duration.ofMillis(100);

  @TempDir Path work;
  private S3ProxyServer store;

  @BeforeEach
  void startStore() {
    store = S3ProxyServer.start();
  }

  @AfterEach
  void stopStore() {
    store.close();
  }

  @Test
  void aWindowOf503sDuringTheRunIsRetriedOrFailsCleanlyAndARerunCompletes() throws Exception {
    try (S3DropFolder drop = S3DropFolder.create(store, work);
        FaultInjectingProxy proxy = FaultInjectingProxy.start(store.endpoint())) {
      List<String> adapters = drop.uploadFleet(4, 41);
      Map<String, String> inputBefore = drop.checksums("in");

      // Throttle once the job is past its first listing, so that reads, writes and the stats
      // commit meet the 503s rather than Spark's start-up.
      S3DropFolder.Run run;
      Fault fault = Fault.when(() -> proxy.requestCount() >= 10,
          () -> proxy.failFor(Duration.ofSeconds(3)));
      try {
        run = drop.recompress(proxy.endpoint());
      } finally {
        fault.runEnded();
      }
      assertThat(fault.happenedDuringRun()).as("503 window opened while the job ran").isTrue();
      assertThat(proxy.injectedFailureCount()).as("503s answered").isPositive();
      assertCompletedOrFailedCleanly(run);

      assertARerunCompletes(drop, adapters);
      assertThat(drop.checksums("in")).as("input prefix after both runs").isEqualTo(inputBefore);
    }
  }

  @Test
  void theStoreGoingAwayMidRunFailsCleanlyOrIsRetriedAndARerunCompletes() throws Exception {
    try (S3DropFolder drop = S3DropFolder.create(store, work)) {
      List<String> adapters = drop.uploadFleet(4, 51);
      Map<String, String> inputBefore = drop.checksums("in");

      // Outage once the first output is complete: the other outputs and the stats are still due.
      S3DropFolder.Run run;
      Fault fault = Fault.when(() -> hasAnOutput(drop), this::outage);
      try {
        run = drop.recompress();
      } finally {
        fault.runEnded();
      }
      assertThat(fault.happenedDuringRun()).as("outage began while the job ran").isTrue();
      assertCompletedOrFailedCleanly(run);

      assertARerunCompletes(drop, adapters);
      assertThat(drop.checksums("in")).as("input prefix after both runs").isEqualTo(inputBefore);
    }
  }

  @Test
  void aStoreThatStaysDownFailsTheRunCleanlyAndARerunRecoversTheStats() throws Exception {
    try (S3DropFolder drop = S3DropFolder.create(store, work)) {
      List<String> adapters = drop.uploadFleet(3, 71);

      // Down from the first complete output to the end of the run: retries run out.
      S3DropFolder.Run run;
      Fault fault = Fault.when(() -> hasAnOutput(drop), store::stop);
      try {
        run = drop.recompress();
      } finally {
        fault.runEnded();
        store.restart();
      }
      assertThat(fault.happenedDuringRun()).as("outage began while the job ran").isTrue();
      assertThat(run.exitCode()).as("exit code; stdout: %s", run.out()).isEqualTo(1);
      assertCompletedOrFailedCleanly(run);

      // Outputs written before the outage are kept (skipped), their stats recovered from the
      // sidecars; the rest are compressed now.
      assertARerunCompletes(drop, adapters);
    }
  }

  private void outage() {
    store.stop();
    pause(Duration.ofSeconds(2));
    store.restart();
  }

  private static boolean hasAnOutput(S3DropFolder drop) {
    try {
      return drop.keys("out").stream()
          .anyMatch(key -> key.endsWith("/" + FleetInvariants.MANIFEST));
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static void assertCompletedOrFailedCleanly(S3DropFolder.Run run) {
    assertThat(run.exitCode()).as("exit code; stderr: %s", run.err()).isIn(0, 1);
    if (run.exitCode() == 1) {
      // Clean: the run says it failed and why, in one line; no stack trace on the console.
      assertThat(run.err().lines().filter(line -> !line.isBlank()))
          .as("stderr of the failed run")
          .singleElement()
          .asString()
          .contains("failed");
    }
  }

  private static void assertARerunCompletes(S3DropFolder drop, List<String> adapters)
      throws Exception {
    S3DropFolder.Run rerun = drop.recompress();
    assertThat(rerun.exitCode()).as("rerun exit code; stderr: %s", rerun.err()).isZero();
    assertThat(rerun.out()).contains("0 failed, 0 incomplete");
    FleetInvariants.assertEveryAdapterPresentOnce(drop, adapters);
  }

  private static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * A fault injected from a background thread as soon as a condition holds, unless the run ended
   * first.
   */
  private static final class Fault {
    private final AtomicBoolean runEnded = new AtomicBoolean();
    private final AtomicBoolean injectedDuringRun = new AtomicBoolean();
    private final Thread thread;

    private Fault(BooleanSupplier condition, Runnable inject) {
      thread = new Thread(() -> {
        while (!runEnded.get()) {
          if (condition.getAsBoolean()) {
            injectedDuringRun.set(!runEnded.get());
            inject.run();
            return;
          }
          pause(POLL);
        }
      }, "fault-injector");
      thread.setDaemon(true);
    }

    static Fault when(BooleanSupplier condition, Runnable inject) {
      Fault fault = new Fault(condition, inject);
      fault.thread.start();
      return fault;
    }

    /** Stops waiting for the condition, and waits for a fault under way to end (store back up). */
    void runEnded() throws InterruptedException {
      runEnded.set(true);
      thread.join();
    }

    boolean happenedDuringRun() {
      return injectedDuringRun.get();
    }
  }
}
