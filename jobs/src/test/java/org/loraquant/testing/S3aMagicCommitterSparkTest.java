package org.loraquant.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** A local[2] SparkSession writes Parquet to S3Proxy through the S3A magic committer. */
class S3aMagicCommitterSparkTest {

  @Test
  void writesParquetThroughTheMagicCommitterAndReadsItBack() throws IOException {
    try (S3ProxyServer s3 = S3ProxyServer.start()) {
      String bucket = S3aSettings.uniqueBucket("magic");
      s3.createBucket(bucket);
      String table = "s3a://" + bucket + "/x";

      SparkSession spark = localSpark(s3);
      try {
        spark.range(0, 1000, 1, 4).selectExpr("id", "id * 2 AS twice").write().parquet(table);

        Dataset<Row> back = spark.read().parquet(table);
        assertThat(back.count()).isEqualTo(1000);
        assertThat(back.selectExpr("sum(twice)").first().getLong(0)).isEqualTo(999_000L);
      } finally {
        spark.stop();
      }

      // The S3A committers write a JSON _SUCCESS naming themselves; the classic committer writes
      // an empty one. This is what proves the magic committer ran, not just that the data landed.
      try (FileSystem fs = S3ProxyHarnessTest.fileSystem(bucket, s3.hadoopSettings())) {
        JsonNode success;
        try (InputStream in = fs.open(new Path(table + "/_SUCCESS"))) {
          success = new ObjectMapper().readTree(in);
        }
        assertThat(success.path("committer").asText()).isEqualTo("magic");
        assertThat(success.path("success").asBoolean()).isTrue();
        assertThat(success.path("filenames")).hasSize(4);
        // Nothing left of the pending uploads: the job commit cleaned up the __magic directory.
        for (FileStatus status : fs.listStatus(new Path(table))) {
          assertThat(status.getPath().getName()).matches("_SUCCESS|part-.*\\.parquet");
        }
      }
    }
  }

  private static SparkSession localSpark(S3ProxyServer s3) {
    SparkSession.Builder builder =
        SparkSession.builder()
            .appName("s3a-magic-committer-test")
            .master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", LoopbackPorts.HOST)
            .config("spark.driver.bindAddress", LoopbackPorts.HOST)
            .config("spark.sql.shuffle.partitions", "2");
    s3.sparkSettings().forEach(builder::config);
    return builder.getOrCreate();
  }
}
