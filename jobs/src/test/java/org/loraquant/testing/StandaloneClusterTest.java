package org.loraquant.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.StandaloneCluster.DeployMode;
import org.loraquant.testing.StandaloneCluster.SubmitResult;

/** spark-submit of a small test-built jar to a master and two workers, in both deploy modes. */
class StandaloneClusterTest {
  private static final Duration SUBMIT_TIMEOUT = Duration.ofSeconds(120);

  @TempDir static Path baseDir;
  private static StandaloneCluster cluster;
  private static Path appJar;

  @BeforeAll
  static void startCluster() {
    appJar =
        TestJar.build(
            baseDir.resolve("app/cluster-smoke.jar"),
            TestPaths.testClasses(),
            ClusterSmokeApp.class);
    cluster = StandaloneCluster.start(baseDir.resolve("cluster"));
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void clientModeRunsOnExecutorsOfBothWorkers() throws IOException {
    Path output = baseDir.resolve("out-client");
    // Wait for both executors before the first task, so the work is spread over both workers.
    Map<String, String> conf =
        Map.of(
            "spark.cores.max", "2",
            "spark.scheduler.minRegisteredResourcesRatio", "1.0",
            "spark.scheduler.maxRegisteredResourcesWaitingTime", "60s");

    SubmitResult result = submit(DeployMode.CLIENT, output, "client", conf);

    assertThat(result.succeeded()).as(result.describe()).isTrue();
    List<String> report = Files.readAllLines(output.resolve("client.txt"));
    assertThat(report).containsExactly("sum=500500", "executors=0,1");
  }

  @Test
  void clusterModeRunsTheDriverOnAWorker() throws IOException {
    Path output = baseDir.resolve("out-cluster");

    SubmitResult result = submit(DeployMode.CLUSTER, output, "cluster", Map.of());

    assertThat(result.succeeded()).as(result.describe()).isTrue();
    assertThat(result.driverState()).isEqualTo("FINISHED");
    // The driver holds one worker's only core, so the executor runs on the other.
    List<String> report = Files.readAllLines(output.resolve("cluster.txt"));
    assertThat(report).containsExactly("sum=500500", "executors=0");
  }

  @Test
  void clusterModeFailureShowsInTheDriverStateNotInTheExitCode() {
    Path output = baseDir.resolve("out-failure");

    SubmitResult result = submit(DeployMode.CLUSTER, output, ClusterSmokeApp.FAIL_LABEL, Map.of());

    // spark-submit exits 0 in standalone cluster mode whatever becomes of the driver: a scheduler
    // must look at the driver state (or use client mode, as conf/nightly.cron.example does).
    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.driverState()).as(result.describe()).isEqualTo("FAILED");
    assertThat(result.succeeded()).isFalse();
    assertThat(result.driverLog()).contains("Failing on purpose");
  }

  private static SubmitResult submit(
      DeployMode mode, Path output, String label, Map<String, String> conf) {
    return cluster.submit(
        mode,
        appJar,
        ClusterSmokeApp.class.getName(),
        List.of(output.toString(), label),
        conf,
        SUBMIT_TIMEOUT);
  }
}
