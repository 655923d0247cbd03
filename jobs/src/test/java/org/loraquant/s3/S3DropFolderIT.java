package org.loraquant.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.LoopbackPorts;
import org.loraquant.testing.S3ProxyServer;

/**
 * The drop-folder workflow of issue 6 against a real S3 server (S3Proxy in a child process): the
 * whole job from s3a:// to s3a://, uploads still in progress, and adapters replaced by a new
 * upload. Each test has a bucket of its own; every run is {@code loraquant recompress} with its own
 * SparkSession, as bin/loraquant runs it. An integration test (failsafe) because each run starts
 * and stops Spark, which the shared session of the surefire JVM must not see.
 */
class S3DropFolderIT {
  private static S3ProxyServer store;

  @TempDir Path work;

  @BeforeAll
  static void startStore() {
    store = S3ProxyServer.start();
  }

  @AfterAll
  static void stopStore() {
    if (store != null) {
      store.close();
    }
  }

  @Test
  void compressesAFleetFromS3ToS3AndWritesEachStatsFileWhole() throws Exception {
    try (S3DropFolder drop = S3DropFolder.create(store, work)) {
      List<String> adapters = drop.uploadFleet(3, 11);
      Map<String, String> inputBefore = drop.checksums("in");

      S3DropFolder.Run run = drop.recompress();

      assertThat(run.exitCode()).as("exit code; stderr: %s", run.err()).isZero();
      assertThat(run.out()).contains("3 adapters compressed, 0 skipped");
      assertThat(drop.checksums("in")).as("input prefix after the run").isEqualTo(inputBefore);
      FleetInvariants.assertEveryAdapterPresentOnce(drop, adapters);
      assertThat(drop.statuses(drop.lastRunId())).containsOnlyKeys(adapters).allSatisfy(
          (adapter, status) -> assertThat(status).isEqualTo("compressed"));

      // Each table got one data file for the run's date, written whole by the driver (one PUT),
      // and nothing else: no committer's _SUCCESS, __magic or _temporary.
      for (String table : List.of("layers", "adapters")) {
        assertThat(drop.keys("stats/" + table)).as("objects under stats/%s", table)
            .singleElement()
            .asString()
            .matches("stats/" + table + "/run_date=\\d{4}-\\d{2}-\\d{2}/part-[0-9a-f-]{36}"
                + "\\.snappy\\.parquet");
      }

      assertSparkSqlReadsTheStats(drop, adapters.size());
    }
  }

  @Test
  void uploadsInProgressAreIncompleteNotFailedAndArePickedUpOnceComplete() throws Exception {
    try (S3DropFolder drop = S3DropFolder.create(store, work)) {
      List<String> complete = drop.uploadFleet(2, 21);
      Path configOnly = drop.generateLocally(22);
      Path truncated = drop.generateLocally(23);
      byte[] config = Files.readAllBytes(configOnly.resolve(S3DropFolder.CONFIG));
      drop.upload(config, "in/uploading/config-only/" + S3DropFolder.CONFIG);
      byte[] weights = Files.readAllBytes(truncated.resolve(S3DropFolder.WEIGHTS));
      drop.upload(Files.readAllBytes(truncated.resolve(S3DropFolder.CONFIG)),
          "in/uploading/truncated/" + S3DropFolder.CONFIG);
      // Header and part of the data: shorter than the header declares.
      drop.upload(Arrays.copyOf(weights, weights.length / 2),
          "in/uploading/truncated/" + S3DropFolder.WEIGHTS);
      Map<String, String> inputBefore = drop.checksums("in");

      // Default --max-failed 0: an incomplete upload must not fail the run.
      S3DropFolder.Run first = drop.recompress();

      assertThat(first.exitCode()).as("exit code; stderr: %s", first.err()).isZero();
      assertThat(first.out()).contains("2 adapters compressed", "0 failed", "2 incomplete");
      assertThat(drop.checksums("in")).as("input prefix after the run").isEqualTo(inputBefore);
      Map<String, String> statuses = drop.statuses(drop.lastRunId());
      assertThat(statuses)
          .containsEntry("uploading/config-only", "incomplete")
          .containsEntry("uploading/truncated", "incomplete");
      complete.forEach(a -> assertThat(statuses).containsEntry(a, "compressed"));
      assertThat(drop.keys("out")).noneMatch(key -> key.startsWith("out/uploading/"));

      drop.uploadFolder(configOnly, "uploading/config-only");
      drop.upload(weights, "in/uploading/truncated/" + S3DropFolder.WEIGHTS);
      S3DropFolder.Run second = drop.recompress();

      assertThat(second.exitCode()).as("exit code; stderr: %s", second.err()).isZero();
      assertThat(second.out()).contains("2 adapters compressed, 2 skipped", "0 incomplete");
      Map<String, String> after = drop.statuses(drop.lastRunId());
      assertThat(after)
          .containsEntry("uploading/config-only", "compressed")
          .containsEntry("uploading/truncated", "compressed");
      complete.forEach(a -> assertThat(after).containsEntry(a, "skipped"));
      FleetInvariants.assertEveryAdapterPresentOnce(drop,
          concat(complete, List.of("uploading/config-only", "uploading/truncated")));
    }
  }

  @Test
  void anAdapterReplacedByANewUploadIsCompressedAgainAndOnlyIt() throws Exception {
    try (S3DropFolder drop = S3DropFolder.create(store, work)) {
      List<String> adapters = drop.uploadFleet(3, 31);
      assertThat(drop.recompress().exitCode()).isZero();
      String replaced = adapters.get(1);
      String oldFingerprint = fingerprint(drop, replaced);

      drop.uploadFolder(drop.generateLocally(32), replaced);
      S3DropFolder.Run rerun = drop.recompress();

      assertThat(rerun.exitCode()).as("exit code; stderr: %s", rerun.err()).isZero();
      assertThat(rerun.out()).contains("1 adapters compressed, 2 skipped");
      Map<String, String> statuses = drop.statuses(drop.lastRunId());
      assertThat(statuses).containsEntry(replaced, "compressed");
      adapters.stream().filter(a -> !a.equals(replaced))
          .forEach(a -> assertThat(statuses).containsEntry(a, "skipped"));
      assertThat(fingerprint(drop, replaced)).isNotEqualTo(oldFingerprint);
      FleetInvariants.assertEveryAdapterPresentOnce(drop, adapters);
    }
  }

  /** Spark SQL, in a session of its own, reads the tables the job committed. */
  private static void assertSparkSqlReadsTheStats(S3DropFolder drop, int adapters) {
    SparkSession.Builder builder = SparkSession.builder()
        .appName("s3-stats-reader")
        .master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", LoopbackPorts.HOST)
        .config("spark.driver.bindAddress", LoopbackPorts.HOST);
    store.sparkSettings().forEach(builder::config);
    SparkSession spark = builder.getOrCreate();
    try {
      spark.read().parquet(drop.stats() + "/adapters").createOrReplaceTempView("adapters");
      spark.read().parquet(drop.stats() + "/layers").createOrReplaceTempView("layers");
      assertThat(spark.sql("SELECT count(*) FROM adapters WHERE status = 'compressed'")
          .first().getLong(0)).isEqualTo(adapters);
      assertThat(spark.sql("SELECT count(DISTINCT adapter), min(rel_error) >= 0 FROM layers")
          .first().toSeq().mkString(",")).isEqualTo(adapters + ",true");
    } finally {
      spark.stop();
    }
  }

  private static String fingerprint(S3DropFolder drop, String adapter)
      throws IOException, SQLException {
    return (String) drop.query("SELECT input_fingerprint FROM adapters WHERE adapter = '"
        + adapter + "' ORDER BY run_id DESC LIMIT 1").get(0).get("input_fingerprint");
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }
}
