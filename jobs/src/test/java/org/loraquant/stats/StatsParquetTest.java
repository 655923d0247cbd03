package org.loraquant.stats;

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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.spark.SparkTestBase;

/**
 * The stats tables as the job writes them ({@link StatsTables}) read back as-is in Spark and in
 * DuckDB, beside partitions Spark's own writer wrote before the budget columns existed.
 */
class StatsParquetTest extends SparkTestBase {
  @TempDir Path temp;

  /** A paper-mode layers row, by column name. */
  private static Map<String, Object> layerValues(
      String runId, LocalDate date, String module, float[] singular) {
    Map<String, Object> v = new HashMap<>();
    v.put("run_id", runId);
    v.put("run_date", Date.valueOf(date));
    v.put("adapter", "tenant-00/adapter-00000");
    v.put("input_fingerprint", "ab12");
    v.put("module", "base_model.model.model.layers.3.self_attn." + module);
    v.put("module_kind", module);
    v.put("layer_index", 3);
    v.put("m", 4096);
    v.put("n", 4096);
    v.put("rank", 16);
    v.put("k", 16);
    v.put("h", 4);
    v.put("rho", 0.9);
    v.put("bits_high", 2);
    v.put("group_size", 128);
    v.put("split_rule", "prefix");
    v.put("refine", "none");
    v.put("singular_values", singular);
    v.put("energy_high", 0.91);
    v.put("payload_bits", 131072L);
    v.put("effective_bits", 140000L);
    v.put("params", 131072L);
    v.put("bytes_in", 262144L);
    v.put("bytes_out", 17500L);
    v.put("rel_error", 0.12);
    v.put("error_high", 0.05);
    v.put("error_low", 0.11);
    v.put("seconds", 0.25);
    v.put("status", "compressed");
    return v;
  }

  static Row layer(String runId, LocalDate date, String module, float[] singular) {
    Map<String, Object> v = layerValues(runId, date, module, singular);
    v.put("mode", "paper");
    v.put("levels", "uniform");
    v.put("bits_per_component", new int[] {2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
    v.put("components_kept", 16);
    return StatsRows.row(StatsSchema.LAYERS, v);
  }

  /** A budget-mode layers row: the paper mode's columns are null. */
  static Row budgetLayer(String runId, LocalDate date, String module) {
    Map<String, Object> v = layerValues(runId, date, module, null);
    for (String paperOnly :
        List.of(
            "h", "rho", "bits_high", "split_rule", "refine", "singular_values", "energy_high",
            "error_high", "error_low")) {
      v.remove(paperOnly);
    }
    v.put("mode", "budget");
    v.put("budget_bits", 1.4);
    v.put("budget_scope", "adapter");
    v.put("levels", "lloyd-max");
    v.put("refit", 2);
    v.put("bits_per_component", new int[] {3, 2, 1, 0});
    v.put("components_kept", 3);
    return StatsRows.row(StatsSchema.LAYERS, v);
  }

  static Row adapter(String runId, LocalDate date, String status) {
    Map<String, Object> v = new HashMap<>();
    v.put("run_id", runId);
    v.put("run_date", Date.valueOf(date));
    v.put("adapter", "tenant-00/adapter-00000");
    v.put("input_fingerprint", "ab12");
    v.put("status", status);
    v.put("output_run_id", runId);
    v.put("rho", 0.9);
    v.put("bits_high", 2);
    v.put("group_size", 128);
    v.put("split_rule", "prefix");
    v.put("refine", "none");
    v.put("layers", 2);
    v.put("params", 262144L);
    v.put("bytes_in", 1_000_000L);
    v.put("bytes_out", 40_000L);
    v.put("compression_ratio", 25.0);
    v.put("payload_bits", 262144L);
    v.put("effective_bits", 320000L);
    v.put("payload_bits_per_param", 1.0);
    v.put("effective_bits_per_param", 1.22);
    v.put("weighted_rel_error", 0.12);
    v.put("worst_layer", "base_model.model.model.layers.3.self_attn.q_proj");
    v.put("worst_rel_error", 0.13);
    v.put("seconds", 1.5);
    v.put("recorded_from", "run");
    v.put("finished_at", Timestamp.from(Instant.parse("2026-11-22T15:40:00Z")));
    v.put("requests", 6L);
    v.put("bytes_read", 1_000_000L);
    v.put("mode", "paper");
    v.put("levels", "uniform");
    v.put("tensor_bits_per_param", 1.07);
    return StatsRows.row(StatsSchema.ADAPTERS, v);
  }

  /**
   * The schema of a table before issue 18: without the columns it added, and with the paper
   * mode's columns not nullable, as those partitions were written.
   */
  private static StructType beforeIssue18(StructType schema, List<String> added) {
    List<String> paperColumns =
        List.of(
            "h", "rho", "bits_high", "split_rule", "refine", "singular_values", "energy_high",
            "error_high", "error_low");
    List<StructField> fields = new ArrayList<>();
    for (StructField f : schema.fields()) {
      if (added.contains(f.name())) {
        continue;
      }
      fields.add(paperColumns.contains(f.name()) ? f.copy(f.name(), f.dataType(), false, f.metadata()) : f);
    }
    return new StructType(fields.toArray(new StructField[0]));
  }

  private static final List<String> LAYER_COLUMNS_OF_ISSUE_18 =
      List.of(
          "mode", "budget_bits", "budget_scope", "levels", "refit", "bits_per_component",
          "components_kept");

  @Test
  void partitionsWrittenBeforeTheBudgetColumnsReadWithNullsBesideBudgetRows() throws Exception {
    String dir = temp.resolve("stats/layers").toString();
    StructType old = beforeIssue18(StatsSchema.LAYERS, LAYER_COLUMNS_OF_ISSUE_18);
    Map<String, Object> oldValues =
        layerValues("20261121T010000Z-aaaa", LocalDate.of(2026, 11, 21), "q_proj", new float[] {1f});
    Object[] oldCells = new Object[old.fields().length];
    for (int i = 0; i < oldCells.length; i++) {
      oldCells[i] = oldValues.get(old.fields()[i].name());
    }
    spark()
        .createDataFrame(List.of(RowFactory.create(oldCells)), old)
        .write()
        .partitionBy(StatsSchema.PARTITION_COLUMN)
        .parquet(dir);
    tables().append(StatsTables.LAYERS, StatsSchema.LAYERS,
        List.of(budgetLayer("20261122T010000Z-bbbb", LocalDate.of(2026, 11, 22), "v_proj")));

    List<Row> back =
        spark()
            .read()
            .schema(StatsSchema.LAYERS)
            .parquet(dir)
            .orderBy("run_date")
            .select("mode", "bits_per_component", "rho", "components_kept")
            .collectAsList();
    assertThat(back.get(0).toString()).isEqualTo("[null,null,0.9,null]");
    assertThat(back.get(1).getString(0)).isEqualTo("budget");
    assertThat(back.get(1).<Integer>getList(1)).containsExactly(3, 2, 1, 0);
    assertThat(back.get(1).isNullAt(2)).isTrue();
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement sql = duck.createStatement();
        ResultSet rs =
            sql.executeQuery(
                "SELECT count(*) FILTER (WHERE mode IS NULL), count(*) FILTER (WHERE mode ="
                    + " 'budget') FROM read_parquet('"
                    + dir
                    + "/run_date=*/*.parquet', hive_partitioning = true, union_by_name = true)")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(1);
      assertThat(rs.getLong(2)).isEqualTo(1);
    }
  }

  @Test
  void rowsAreBuiltByColumnNameAndRefuseUnknownOrMissingColumns() {
    Map<String, Object> v =
        layerValues("20261121T010000Z-aaaa", LocalDate.of(2026, 11, 21), "q_proj", null);
    Row row = StatsRows.row(StatsSchema.LAYERS, v);
    assertThat(row.length()).isEqualTo(StatsSchema.LAYERS.fields().length);
    assertThat(row.get(StatsSchema.LAYERS.fieldIndex("rel_error"))).isEqualTo(0.12);
    assertThat(row.get(StatsSchema.LAYERS.fieldIndex("mode"))).isNull();
    v.put("refinement", "none");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> StatsRows.row(StatsSchema.LAYERS, v))
        .hasMessage("stats row: no column 'refinement' in the table");
    v.remove("refinement");
    v.remove("rel_error");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> StatsRows.row(StatsSchema.LAYERS, v))
        .hasMessage("stats row: column 'rel_error' must not be null");
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
    tables().append(StatsTables.LAYERS, StatsSchema.LAYERS, rows);

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
    tables().append(StatsTables.ADAPTERS, StatsSchema.ADAPTERS,
        List.of(adapter("20261122T154000Z-cccc", day, "compressed")));

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

  /** The tables under {@code temp/stats}, as the job writes them. */
  private StatsTables tables() {
    return new StatsTables(spark(), org.loraquant.hadoop.HadoopFileIO.of(spark().sparkContext()),
        temp.resolve("stats").toUri().toString());
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
