package org.loraquant.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.FaultInjectingProxy;
import org.loraquant.testing.S3ProxyServer;

/**
 * The job against a store that throttles (503 SlowDown for a while, from a proxy in front of it)
 * or goes away for good mid-run. The run either completes, S3A's retries having covered the
 * fault, or fails cleanly: exit code 1 and one line on stderr. Either way a rerun on healthy
 * storage completes with every adapter present exactly once. See also {@link S3StoreRestartIT}.
 */
class S3FaultsIT {
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

      // Throttle from the job's tenth request (past its first listing), so that reads, writes and
      // the stats meet the 503s rather than Spark's start-up.
      proxy.failFor(Duration.ofSeconds(3), 10);
      S3DropFolder.Run run = drop.recompress(proxy.endpoint());
      assertThat(proxy.injectedFailureCount()).as("503s answered while the job ran").isPositive();
      FleetInvariants.assertCompletedOrFailedCleanly(run);

      FleetInvariants.assertARerunCompletes(drop, adapters);
      assertThat(drop.checksums("in")).as("input prefix after both runs").isEqualTo(inputBefore);
    }
  }

  @Test
  void aStoreThatStaysDownFailsTheRunCleanlyAndARerunRecoversTheStats() throws Exception {
    try (S3DropFolder drop = S3DropFolder.create(store, work);
        FaultInjectingProxy proxy = FaultInjectingProxy.start(store.endpoint())) {
      List<String> adapters = drop.uploadFleet(3, 71);
      Map<String, String> inputBefore = drop.checksums("in");

      // Down from the first complete output to the end of the run: retries run out. The proxy
      // goes down as it answers the first manifest's PUT, so the other outputs or at least the
      // stats are still due however fast the job is.
      proxy.goDownAfter(
          line -> line.startsWith("PUT ") && line.contains("/" + FleetInvariants.MANIFEST));
      S3DropFolder.Run run = drop.recompress(proxy.endpoint());
      assertThat(proxy.wentDown()).as("outage began while the job ran").isTrue();
      assertThat(run.exitCode()).as("exit code; stdout: %s", run.out()).isEqualTo(1);
      FleetInvariants.assertCompletedOrFailedCleanly(run);
      proxy.heal();

      // Outputs written before the outage are kept (skipped), their stats recovered from the
      // sidecars; the rest are compressed now.
      FleetInvariants.assertARerunCompletes(drop, adapters);
      assertThat(drop.checksums("in")).as("input prefix after both runs").isEqualTo(inputBefore);
    }
  }
}
