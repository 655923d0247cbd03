package org.loraquant.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.testing.S3ProxyServer;

/**
 * S3 credentials given as Spark settings (the way a test or an S3-compatible store gets them) never
 * show: not on the console, not in the log, not in the stats, not in the exception of a failed run
 * and not in the Spark UI's environment tab.
 */
class S3CredentialsHygieneIT {
  /** Distinctive, so a leak anywhere is found by a plain substring search. */
  private static final String WRONG_SECRET = "loraquant-wrong-secret-7Qz2vK";

  @TempDir Path work;

  @Test
  void credentialsAppearNowhereInASuccessfulOrAFailedRun() throws Exception {
    try (S3ProxyServer store = S3ProxyServer.start();
        S3DropFolder drop = S3DropFolder.create(store, work)) {
      drop.uploadFleet(2, 61);
      EnvironmentTabCapture.clear();
      S3DropFolder.Run good;
      S3DropFolder.Run refused;
      String log;
      try (CapturedLog captured = new CapturedLog()) {
        good = drop.recompress(
            "--conf", "spark.extraListeners=" + EnvironmentTabCapture.class.getName());
        // The store refuses a wrong secret: the run fails on its first request.
        refused = drop.recompressSignedWith(store.endpoint(), WRONG_SECRET, "--stacktrace");
        log = captured.text();
      }

      assertThat(good.exitCode()).as("exit code; stderr: %s", good.err()).isZero();
      assertThat(refused.exitCode()).isEqualTo(1);
      assertThat(refused.err()).as("the failed run's message").contains("failed");
      assertThat(log).as("captured log").contains("RecompressJob", "failed");

      for (String secret : List.of(S3ProxyServer.SECRET_KEY, WRONG_SECRET)) {
        assertThat(good.out() + good.err()).as("console of the good run").doesNotContain(secret);
        assertThat(refused.out() + refused.err())
            .as("console, exception and stack trace of the failed run")
            .doesNotContain(secret);
        assertThat(log).as("log4j output of both runs").doesNotContain(secret);
      }

      List<Map<String, Object>> rows = drop.query("SELECT * FROM adapters");
      rows.addAll(drop.query("SELECT * FROM layers"));
      assertThat(rows).isNotEmpty();
      assertThat(rows.toString()).as("stats rows").doesNotContain(S3ProxyServer.SECRET_KEY);

      List<String> environment = EnvironmentTabCapture.rows();
      assertThat(environment).as("environment tab")
          .anyMatch(row -> row.startsWith("Spark Properties: spark.hadoop.fs.s3a.secret.key="))
          .noneMatch(row -> row.contains(S3ProxyServer.SECRET_KEY));
      // The job's redaction pattern goes beyond Spark's default, which leaves credential
      // provider settings readable.
      assertThat(environment)
          .anyMatch(row -> row.startsWith(
              "Spark Properties: spark.hadoop.fs.s3a.aws.credentials.provider=*")
              && row.contains("redacted"));
    }
  }
}
