package org.loraquant.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.FaultInjectingProxy;
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
        S3DropFolder drop = S3DropFolder.create(store, work);
        FaultInjectingProxy proxy = FaultInjectingProxy.start(store.endpoint())) {
      List<String> adapters = drop.uploadFleet(4, 51);
      Map<String, String> inputBefore = drop.checksums("in");

      // Outage from the moment the first output is complete (the proxy answers its manifest's
      // PUT, then hangs up on every request): the other outputs and the stats are still due,
      // however fast the job is. The store itself is stopped, and two seconds later restarted.
      CountDownLatch restarted = new CountDownLatch(1);
      proxy.goDownAfter(
          line -> line.startsWith("PUT ") && line.contains("/" + FleetInvariants.MANIFEST),
          () -> {
            store.stop();
            Thread restart =
                new Thread(
                    () -> {
                      pause(Duration.ofSeconds(2));
                      store.restart();
                      proxy.heal();
                      restarted.countDown();
                    },
                    "store-restart");
            restart.setDaemon(true);
            restart.start();
          });
      S3DropFolder.Run run = drop.recompress(proxy.endpoint());
      assertThat(proxy.wentDown()).as("outage began while the job ran").isTrue();
      assertThat(restarted.await(2, TimeUnit.MINUTES)).as("store restarted").isTrue();
      FleetInvariants.assertCompletedOrFailedCleanly(run);

      FleetInvariants.assertARerunCompletes(drop, adapters);
      assertThat(drop.checksums("in")).as("input prefix after both runs").isEqualTo(inputBefore);
    }
  }

  private static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
