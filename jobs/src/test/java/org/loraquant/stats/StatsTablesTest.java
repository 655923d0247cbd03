package org.loraquant.stats;

import static org.apache.spark.sql.functions.col;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.FileMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.spark.SparkTestBase;
import org.loraquant.testing.PythonScripts;

/**
 * The stats files the driver writes itself ({@link StatsTables#append}, {@link StatsFile}) are, to
 * every reader, what Spark's DataFrame writer (the writer before them) made of the same rows, and
 * appear whole or not at all.
 */
class StatsTablesTest extends SparkTestBase {
  private static final LocalDate DAY_ONE = LocalDate.of(2026, 11, 21);
  private static final LocalDate DAY_TWO = LocalDate.of(2026, 11, 22);
  private static final String RUN_ONE = "20261121T010000Z-aaaa";
  private static final String RUN_TWO = "20261122T010000Z-bbbb";

  @TempDir Path temp;

  /** Paper and budget rows of two dates (a run's own and a reconciled older run's). */
  private static List<Row> layerRows() {
    return List.of(
        StatsParquetTest.layer(RUN_ONE, DAY_ONE, "q_proj", new float[] {3f, 1f, 0.5f}),
        StatsParquetTest.layer(RUN_ONE, DAY_ONE, "v_proj", new float[] {2.5f}),
        StatsParquetTest.layer(RUN_TWO, DAY_TWO, "q_proj", new float[] {2f, 0.25f}),
        StatsParquetTest.budgetLayer(RUN_TWO, DAY_TWO, "v_proj"),
        StatsParquetTest.budgetLayer(RUN_TWO, DAY_TWO, "k_proj"));
  }

  private static List<Row> adapterRows() {
    return List.of(
        StatsParquetTest.adapter(RUN_ONE, DAY_ONE, "compressed"),
        StatsParquetTest.adapter(RUN_TWO, DAY_TWO, "compressed"),
        StatsParquetTest.adapter(RUN_TWO, DAY_TWO, "skipped"));
  }

  private StatsTables tables(Path root) {
    return tables(root, moment -> {});
  }

  private StatsTables tables(Path root, StatsTables.Moments moments) {
    return new StatsTables(
        spark(), HadoopFileIO.of(spark().sparkContext()), root.toUri().toString(), moments);
  }

  private static JavaSparkContext jsc() {
    return JavaSparkContext.fromSparkContext(spark().sparkContext());
  }

  /** What StatsTables.append did before it wrote the files itself: Spark's DataFrame writer. */
  private static void writeWithSpark(Path table, StructType schema, List<Row> rows) {
    spark()
        .createDataFrame(rows, schema)
        .repartition(col(StatsSchema.PARTITION_COLUMN))
        .write()
        .mode(SaveMode.Append)
        .partitionBy(StatsSchema.PARTITION_COLUMN)
        .parquet(table.toString());
  }

  /** Driver rows and executor rows, as StatsPhase gives them: half and half. */
  private void appendHalfFromExecutors(Path root, String table, StructType schema, List<Row> rows)
      throws IOException {
    int half = rows.size() / 2;
    JavaRDD<Row> fromExecutors = jsc().parallelize(rows.subList(half, rows.size()), 2);
    tables(root).append(table, schema, rows.subList(0, half), fromExecutors);
  }

  @Test
  void sparkReadsTheSameSchemaAndRowsAsFromSparksOwnWriter() throws Exception {
    Map<String, List<Row>> rowsByTable =
        Map.of(StatsTables.LAYERS, layerRows(), StatsTables.ADAPTERS, adapterRows());
    Map<String, StructType> schemas =
        Map.of(StatsTables.LAYERS, StatsSchema.LAYERS, StatsTables.ADAPTERS, StatsSchema.ADAPTERS);
    for (String table : List.of(StatsTables.LAYERS, StatsTables.ADAPTERS)) {
      Path bySpark = temp.resolve("spark").resolve(table);
      Path direct = temp.resolve("direct");
      writeWithSpark(bySpark, schemas.get(table), rowsByTable.get(table));
      appendHalfFromExecutors(direct, table, schemas.get(table), rowsByTable.get(table));

      Dataset<Row> expected = spark().read().parquet(bySpark.toString());
      Dataset<Row> actual = spark().read().parquet(direct.resolve(table).toString());
      assertThat(actual.schema()).as("schema of %s as Spark reads it", table)
          .isEqualTo(expected.schema());
      assertThat(sorted(actual.collectAsList())).as("rows of %s", table)
          .isEqualTo(sorted(expected.collectAsList()));
      // With the table's schema given, as the reconciliation reads it.
      assertThat(sorted(spark().read().schema(schemas.get(table))
              .parquet(direct.resolve(table).toString()).collectAsList()))
          .isEqualTo(sorted(spark().read().schema(schemas.get(table))
              .parquet(bySpark.toString()).collectAsList()));

      // The files themselves: one per date, with the footer Spark's writer gives them.
      Map<String, Path> sparkFiles = dataFiles(bySpark);
      Map<String, Path> directFiles = dataFiles(direct.resolve(table));
      assertThat(directFiles.keySet()).containsExactly(
          "run_date=" + DAY_ONE, "run_date=" + DAY_TWO);
      assertThat(directFiles.keySet()).isEqualTo(sparkFiles.keySet());
      for (String partition : directFiles.keySet()) {
        FileMetaData want = footer(sparkFiles.get(partition));
        FileMetaData got = footer(directFiles.get(partition));
        assertThat(got.getSchema()).as("Parquet schema of %s", table).isEqualTo(want.getSchema());
        assertThat(got.getKeyValueMetaData()).isEqualTo(want.getKeyValueMetaData());
        assertThat(got.getCreatedBy()).isEqualTo(want.getCreatedBy());
      }
      try (Stream<Path> entries = Files.list(direct.resolve(table))) {
        assertThat(entries.map(p -> p.getFileName().toString()))
            .as("the table folder holds the partitions and nothing else")
            .containsExactlyInAnyOrder("run_date=" + DAY_ONE, "run_date=" + DAY_TWO);
      }
    }
  }

  @Test
  void oldPartitionsOfSparksWriterAndNewFilesReadTogether() throws Exception {
    Path root = temp.resolve("stats");
    Path table = root.resolve(StatsTables.LAYERS);
    List<Row> rows = layerRows();
    // Yesterday's partition as the old writer left it, _SUCCESS included; today's rows, and one
    // more row for yesterday (as the reconciliation appends), from the new writer.
    writeWithSpark(table, StatsSchema.LAYERS, rows.subList(0, 1));
    appendHalfFromExecutors(root, StatsTables.LAYERS, StatsSchema.LAYERS,
        rows.subList(1, rows.size()));

    Dataset<Row> back = spark().read().parquet(table.toString());
    assertThat(back.count()).isEqualTo(rows.size());
    assertThat(back.where("run_date = DATE'2026-11-21'").count()).isEqualTo(2);
    assertThat(
            back.where("run_date = DATE'2026-11-21' AND module_kind = 'q_proj'")
                .select("singular_values")
                .first()
                .<Float>getList(0))
        .containsExactly(3f, 1f, 0.5f);
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement sql = duck.createStatement();
        ResultSet rs =
            sql.executeQuery(
                "SELECT count(*), count(*) FILTER (WHERE mode = 'budget'),"
                    + " count(DISTINCT run_date) FROM read_parquet('"
                    + table
                    + "/run_date=*/*.parquet', hive_partitioning = true)")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(rows.size());
      assertThat(rs.getLong(2)).isEqualTo(2);
      assertThat(rs.getLong(3)).isEqualTo(2);
    }
  }

  @Test
  void pandasAndDuckDbInPythonReadTheNewFiles() throws Exception {
    String python = PythonScripts.pythonOrSkip();
    Path root = temp.resolve("stats");
    appendHalfFromExecutors(root, StatsTables.LAYERS, StatsSchema.LAYERS, layerRows());
    appendHalfFromExecutors(root, StatsTables.ADAPTERS, StatsSchema.ADAPTERS, adapterRows());
    Path script = temp.resolve("read_stats.py");
    Files.writeString(
        script,
        String.join(
            "\n",
            "import json, sys",
            "import duckdb, pandas as pd",
            "root = sys.argv[1]",
            "layers = pd.read_parquet(root + '/layers')",
            "adapters = pd.read_parquet(root + '/adapters')",
            "q = layers[(layers.run_id == '" + RUN_ONE + "') & (layers.module_kind == 'q_proj')]",
            "duck = duckdb.sql(\"SELECT count(*), max(epoch(finished_at)) FROM read_parquet('\"",
            "    + root + \"/adapters/run_date=*/*.parquet', hive_partitioning = true)\").fetchone()",
            "print(json.dumps({",
            "  'layers': len(layers), 'adapters': len(adapters),",
            "  'layer_columns': sorted(layers.columns),",
            "  'singular': [float(x) for x in q.singular_values.iloc[0]],",
            "  'dates': sorted(str(d) for d in layers.run_date.unique()),",
            "  'finished_at': str(adapters.finished_at.dtype),",
            "  'duck': [duck[0], duck[1]]}))",
            ""));
    var report =
        PythonScripts.run(python, script, List.of(root.toString()), Map.of(),
            Duration.ofMinutes(2), temp);
    assertThat(report.path("layers").asInt()).isEqualTo(layerRows().size());
    assertThat(report.path("adapters").asInt()).isEqualTo(adapterRows().size());
    List<String> columns = new ArrayList<>();
    report.path("layer_columns").forEach(c -> columns.add(c.asText()));
    assertThat(columns).containsExactlyInAnyOrder(StatsSchema.LAYERS.fieldNames());
    List<Double> singular = new ArrayList<>();
    report.path("singular").forEach(v -> singular.add(v.asDouble()));
    assertThat(singular).containsExactly(3.0, 1.0, 0.5);
    assertThat(report.path("dates").toString()).contains("2026-11-21", "2026-11-22");
    assertThat(report.path("finished_at").asText()).contains("datetime64").contains("UTC");
    assertThat(report.path("duck").get(0).asLong()).isEqualTo(adapterRows().size());
    assertThat(report.path("duck").get(1).asLong())
        .isEqualTo(java.time.Instant.parse("2026-11-22T15:40:00Z").getEpochSecond());
  }

  @Test
  void noRowsWriteNothing() throws Exception {
    Path root = temp.resolve("stats");
    tables(root).append(StatsTables.ADAPTERS, StatsSchema.ADAPTERS, List.of());
    tables(root).append(StatsTables.LAYERS, StatsSchema.LAYERS, List.of(), jsc().emptyRDD());
    tables(root).append(StatsTables.LAYERS, StatsSchema.LAYERS, List.of(),
        jsc().parallelize(List.<Row>of(), 3));
    assertThat(root).doesNotExist();
  }

  @Test
  void nothingIsVisibleUntilEveryRowIsWrittenAndTheFilesCommitted() throws Exception {
    Path root = temp.resolve("stats");
    Path table = root.resolve(StatsTables.LAYERS);
    List<String> seen = new ArrayList<>();
    StatsTables.Moments watch =
        moment -> {
          try {
            seen.add(moment + ": data files " + dataFiles(table).size() + ", staged "
                + parquetFiles(table.resolve(StatsTables.STAGING_FOLDER)).size());
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        };
    List<Row> rows = layerRows();
    tables(root, watch)
        .append(StatsTables.LAYERS, StatsSchema.LAYERS, rows.subList(0, 2),
            jsc().parallelize(rows.subList(2, rows.size()), 2));
    assertThat(seen)
        .containsExactly(
            "layers-file-open: data files 0, staged 1", // the first date's file
            "layers-file-open: data files 0, staged 2", // the second date's
            "layers-files-written: data files 0, staged 2");
    assertThat(dataFiles(table)).hasSize(2);
    assertThat(table.resolve(StatsTables.STAGING_FOLDER)).as("staging, once empty").doesNotExist();
  }

  @Test
  void bothTablesWrittenThenCommittedAtOnce() throws Exception {
    Path root = temp.resolve("stats");
    StatsTables tables = tables(root);
    StatsTables.Written layers =
        tables.write(StatsTables.LAYERS, StatsSchema.LAYERS, layerRows(), null);
    StatsTables.Written adapters =
        tables.write(StatsTables.ADAPTERS, StatsSchema.ADAPTERS, adapterRows(), null);
    assertThat(dataFiles(root.resolve(StatsTables.LAYERS))).as("before the commit").isEmpty();
    assertThat(dataFiles(root.resolve(StatsTables.ADAPTERS))).as("before the commit").isEmpty();
    StatsTables.commitAtOnce(List.of(layers, adapters));
    assertThat(dataFiles(root.resolve(StatsTables.LAYERS))).hasSize(2);
    assertThat(dataFiles(root.resolve(StatsTables.ADAPTERS))).hasSize(2);
    assertThat(root.resolve(StatsTables.LAYERS).resolve(StatsTables.STAGING_FOLDER))
        .doesNotExist();
  }

  /**
   * The commits wait for each other: made one after the other, the first would wait in vain for
   * the second. A failing one is reported once the other has ended, the other's files standing.
   */
  @Test
  void commitsAreMadeAtOnceAndAFailureIsReportedAfterTheOthersEnd() throws Exception {
    java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
    List<String> ended = java.util.Collections.synchronizedList(new ArrayList<>());
    StatsTables.Commit meets =
        () -> {
          try {
            together.await(30, java.util.concurrent.TimeUnit.SECONDS);
          } catch (Exception e) {
            throw new IOException("the other commit did not come at the same time", e);
          }
          ended.add("meets");
        };
    StatsTables.Commit fails =
        () -> {
          try {
            together.await(30, java.util.concurrent.TimeUnit.SECONDS);
          } catch (Exception e) {
            throw new IOException("the other commit did not come at the same time", e);
          }
          throw new IOException("PUT refused");
        };
    StatsTables.commitAtOnce(List.of(meets, meets));
    assertThat(ended).containsExactly("meets", "meets");
    ended.clear();
    assertThatThrownBy(() -> StatsTables.commitAtOnce(List.of(fails, meets)))
        .isInstanceOf(IOException.class)
        .hasMessage("PUT refused");
    assertThat(ended).containsExactly("meets");
  }

  @Test
  void aWriteThatFailsMidwayLeavesNothing() throws Exception {
    Path root = temp.resolve("stats");
    Path table = root.resolve(StatsTables.LAYERS);
    // The executors' rows fail once the first file is open: count() has run, the rows are
    // being fetched.
    String failNow = temp.resolve("fail-now").toString();
    List<Row> rows = layerRows();
    JavaRDD<Row> failing =
        jsc().parallelize(rows.subList(2, rows.size()), 2)
            .map(
                row -> {
                  if (Files.exists(Path.of(failNow))) {
                    throw new IllegalStateException("executor lost");
                  }
                  return row;
                });
    StatsTables.Moments failAfterOpen =
        moment -> {
          try {
            Files.writeString(Path.of(failNow), moment);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        };
    assertThatThrownBy(
            () ->
                tables(root, failAfterOpen)
                    .append(StatsTables.LAYERS, StatsSchema.LAYERS, rows.subList(0, 2), failing))
        .isInstanceOf(SparkException.class);
    assertThat(Files.readString(Path.of(failNow))).isEqualTo("layers-file-open");
    assertThat(regularFiles(table)).as("files left in the table").isEmpty();
  }

  @Test
  void aNullInARequiredColumnIsRefusedAndNothingIsWritten() throws Exception {
    Path root = temp.resolve("stats");
    Row good = StatsParquetTest.adapter(RUN_ONE, DAY_ONE, "compressed");
    Object[] cells = new Object[good.length()];
    for (int i = 0; i < cells.length; i++) {
      cells[i] = good.get(i);
    }
    cells[StatsSchema.ADAPTERS.fieldIndex("status")] = null;
    assertThatThrownBy(
            () ->
                tables(root)
                    .append(StatsTables.ADAPTERS, StatsSchema.ADAPTERS,
                        List.of(good, RowFactory.create(cells))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("stats table adapters: column 'status' must not be null");
    assertThat(regularFiles(root.resolve(StatsTables.ADAPTERS))).isEmpty();
  }

  /** Rows in a fixed order, whatever order the files hold them in. */
  private static List<Row> sorted(List<Row> rows) {
    List<Row> copy = new ArrayList<>(rows);
    copy.sort(Comparator.comparing(Row::toString));
    return copy;
  }

  /** The one data file of each partition folder, by folder name. */
  private static Map<String, Path> dataFiles(Path table) throws IOException {
    Map<String, Path> files = new TreeMap<>();
    if (!Files.isDirectory(table)) {
      return files;
    }
    try (Stream<Path> partitions = Files.list(table)) {
      for (Path partition : partitions.filter(p -> p.getFileName().toString()
          .startsWith(StatsSchema.PARTITION_COLUMN + "=")).toList()) {
        try (Stream<Path> inside = Files.list(partition)) {
          List<Path> data =
              inside.filter(p -> p.getFileName().toString().endsWith(".parquet")).toList();
          assertThat(data).as("data files in %s", partition).hasSize(1);
          files.put(partition.getFileName().toString(), data.get(0));
        }
      }
    }
    return files;
  }

  private static List<Path> regularFiles(Path folder) throws IOException {
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (Stream<Path> files = Files.walk(folder)) {
      return files.filter(Files::isRegularFile).toList();
    }
  }

  /** Parquet files in a folder, without the local file system's hidden checksum files. */
  private static List<Path> parquetFiles(Path folder) throws IOException {
    return regularFiles(folder).stream()
        .filter(p -> p.getFileName().toString().endsWith(".parquet"))
        .filter(p -> !p.getFileName().toString().startsWith("."))
        .toList();
  }

  private static FileMetaData footer(Path file) throws IOException {
    try (ParquetFileReader reader =
        ParquetFileReader.open(
            HadoopInputFile.fromPath(
                new org.apache.hadoop.fs.Path(file.toUri()), new Configuration()))) {
      return reader.getFooter().getFileMetaData();
    }
  }
}
