package org.loraquant.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.S3ProxyServer;

/**
 * The store killed and restarted (same port, same data) while the job writes its outputs: S3A's
 * retries cover the gap or the run fails cleanly, and a rerun completes with every adapter present
 * exactly once.
 */
class S3StoreRestartIT {
  @TempDir Path work;

  @Test
  void theStoreGoingAwayMidRunIsRetriedOrFailsCleanlyAndARerunCompletes() throws Exception {
    try (S3ProxyServer store = S3ProxyServer.start();
        S3DropFolder drop = S3DropFolder.create(store, work)) {
      List<String> adapters = drop.uploadFleet(4, 51);
      Map<String, String> inputBefore = drop.checksums("in");

      // Outage once the first output is complete: the other outputs and the stats are still due.
      S3DropFolder.Run run;
      BackgroundFault fault = BackgroundFault.when(drop::hasCompleteOutput, () -> {
        store.stop();
        BackgroundFault.pause(Duration.ofSeconds(2));
        store.restart();
      });
      try {
        run = drop.recompress();
      } finally {
        fault.runEnded();
      }
      assertThat(fault.happenedDuringRun()).as("outage began while the job ran").isTrue();
      FleetInvariants.assertCompletedOrFailedCleanly(run);

      FleetInvariants.assertARerunCompletes(drop, adapters);
      assertThat(drop.checksums("in")).as("input prefix after both runs").isEqualTo(inputBefore);
    }
  }
}
