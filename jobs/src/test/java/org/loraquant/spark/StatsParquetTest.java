package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.types.StructField;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stats tables written by Spark read back as-is in Spark and in DuckDB. */
class StatsParquetTest extends SparkTestBase {
  @TempDir Path temp;

  private static Row layer(String runId, LocalDate date, String module, float[] singular) {
    return RowFactory.create(
        runId,
        Date.valueOf(date),
        "tenant-00/adapter-00000",
        "ab12",
        "base_model.model.model.layers.3.self_attn." + module,
        module,
        3,
        4096,
        4096,
        16,
        16,
        4,
        0.9,
        2,
        128,
        "prefix",
        "none",
        singular,
        0.91,
        131072L,
        140000L,
        131072L,
        262144L,
        17500L,
        0.12,
        0.05,
        0.11,
        0.25,
        "compressed",
        null);
  }

  private static Row adapter(String runId, LocalDate date, String status) {
    return RowFactory.create(
        runId,
        Date.valueOf(date),
        "tenant-00/adapter-00000",
        "ab12",
        status,
        null,
        runId,
        0.9,
        2,
        128,
        "prefix",
        "none",
        2,
        262144L,
        1_000_000L,
        40_000L,
        25.0,
        262144L,
        320000L,
        1.0,
        1.22,
        0.12,
        "base_model.model.model.layers.3.self_attn.q_proj",
        0.13,
        1.5,
        "run",
        Timestamp.from(Instant.parse("2026-11-22T15:40:00Z")),
        6L,
        1_000_000L);
  }

  @Test
  void layersTableRoundTripsThroughSparkAndDuckDb() throws Exception {
    LocalDate day1 = LocalDate.of(2026, 11, 21);
    LocalDate day2 = LocalDate.of(2026, 11, 22);
    List<Row> rows =
        List.of(
            layer("20261121T010000Z-aaaa", day1, "q_proj", new float[] {3f, 1f, 0.5f}),
            layer("20261122T010000Z-bbbb", day2, "q_proj", new float[] {2f, 0.25f}),
            layer("20261122T010000Z-bbbb", day2, "v_proj", new float[] {1f}));
    String dir = temp.resolve("stats/layers").toString();
    spark()
        .createDataFrame(rows, StatsSchema.LAYERS)
        .write()
        .partitionBy(StatsSchema.PARTITION_COLUMN)
        .mode(SaveMode.Append)
        .parquet(dir);

    Dataset<Row> back = spark().read().schema(StatsSchema.LAYERS).parquet(dir);
    assertThat(back.count()).isEqualTo(3);
    assertThat(
            back.where("run_date = DATE'2026-11-22' AND module_kind = 'q_proj'")
                .select("singular_values")
                .first()
                .<Float>getList(0))
        .containsExactly(2f, 0.25f);

    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement sql = duck.createStatement()) {
      String source = "read_parquet('" + dir + "/run_date=*/*.parquet', hive_partitioning = true)";
      try (ResultSet rs = sql.executeQuery("SELECT count(*) FROM " + source)) {
        rs.next();
        assertThat(rs.getLong(1)).isEqualTo(3);
      }
      Map<String, String> types = duckTypes(sql, source);
      assertThat(types)
          .containsEntry("singular_values", "FLOAT[]")
          .containsEntry("run_date", "DATE")
          .containsEntry("payload_bits", "BIGINT")
          .containsEntry("layer_index", "INTEGER")
          .containsEntry("rel_error", "DOUBLE")
          .containsEntry("module", "VARCHAR");
      assertThat(types.keySet())
          .containsExactlyInAnyOrderElementsOf(List.of(StatsSchema.LAYERS.fieldNames()));
      try (ResultSet rs =
          sql.executeQuery(
              "SELECT list_sum(singular_values) FROM "
                  + source
                  + " WHERE run_date = DATE '2026-11-21'")) {
        rs.next();
        assertThat(rs.getDouble(1)).isEqualTo(4.5);
      }
    }
  }

  @Test
  void adaptersTableTimestampsAreStandardInt64() throws Exception {
    LocalDate day = LocalDate.of(2026, 11, 22);
    String dir = temp.resolve("stats/adapters").toString();
    spark()
        .createDataFrame(
            List.of(adapter("20261122T154000Z-cccc", day, "compressed")), StatsSchema.ADAPTERS)
        .write()
        .partitionBy(StatsSchema.PARTITION_COLUMN)
        .parquet(dir);

    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement sql = duck.createStatement()) {
      String source = "read_parquet('" + dir + "/run_date=*/*.parquet', hive_partitioning = true)";
      Map<String, String> types = duckTypes(sql, source);
      assertThat(types)
          .containsEntry("finished_at", "TIMESTAMP WITH TIME ZONE")
          .containsEntry("run_date", "DATE");
      assertThat(types.keySet())
          .containsExactlyInAnyOrderElementsOf(List.of(StatsSchema.ADAPTERS.fieldNames()));
      try (ResultSet rs =
          sql.executeQuery("SELECT epoch(finished_at), status, output_run_id FROM " + source)) {
        rs.next();
        assertThat(rs.getLong(1)).isEqualTo(Instant.parse("2026-11-22T15:40:00Z").getEpochSecond());
        assertThat(rs.getString(2)).isEqualTo("compressed");
        assertThat(rs.getString(3)).isEqualTo("20261122T154000Z-cccc");
      }
      // The physical type in the file, not just DuckDB's view of it: INT64, never INT96.
      try (ResultSet rs =
          sql.executeQuery(
              "SELECT type, logical_type FROM parquet_schema('"
                  + dir
                  + "/run_date=*/*.parquet') WHERE name = 'finished_at'")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("INT64");
      }
    }
    for (StructField f : spark().read().parquet(dir).schema().fields()) {
      assertThat(StatsSchema.ADAPTERS.apply(f.name()).dataType())
          .as(f.name())
          .isEqualTo(f.dataType());
    }
  }

  private static Map<String, String> duckTypes(Statement sql, String source) throws Exception {
    Map<String, String> types = new HashMap<>();
    try (ResultSet rs = sql.executeQuery("DESCRIBE SELECT * FROM " + source)) {
      while (rs.next()) {
        types.put(rs.getString("column_name"), rs.getString("column_type"));
      }
    }
    return types;
  }
}
