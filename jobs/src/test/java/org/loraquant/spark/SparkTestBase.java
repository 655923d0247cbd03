package org.loraquant.spark;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.loraquant.stats.StatsSchema;

/**
 * One SparkSession for every Spark test in the JVM: local[2], no UI, loopback only (surefire also
 * sets SPARK_LOCAL_IP=127.0.0.1), two shuffle partitions, UTC, and the settings the stats writer
 * needs. Starting Spark takes seconds, so it is never stopped between test classes; Spark's own
 * shutdown hook stops it when the JVM exits. Tests must not stop it either.
 */
public abstract class SparkTestBase {
  private static SparkSession spark;

  @BeforeAll
  static void startSpark() {
    spark();
  }

  protected static synchronized SparkSession spark() {
    if (spark == null) {
      SparkSession.Builder builder =
          SparkSession.builder()
              .master("local[2]")
              .appName("loraquant-tests")
              .config("spark.ui.enabled", "false")
              .config("spark.ui.showConsoleProgress", "false")
              .config("spark.driver.host", "127.0.0.1")
              .config("spark.driver.bindAddress", "127.0.0.1")
              .config("spark.sql.shuffle.partitions", "2")
              .config("spark.default.parallelism", "2")
              .config("spark.sql.session.timeZone", "UTC")
              .config(
                  "spark.sql.warehouse.dir",
                  System.getProperty("java.io.tmpdir") + "/loraquant-test-warehouse");
      StatsSchema.PARQUET_SPARK_CONF.forEach(builder::config);
      spark = builder.getOrCreate();
    }
    return spark;
  }
}
