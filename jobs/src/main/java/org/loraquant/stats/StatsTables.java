package org.loraquant.stats;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.sql.Date;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.loraquant.hadoop.HadoopFileIO;

/**
 * The Parquet stats tables under {@code --stats}: {@code layers/} and {@code adapters/}, both
 * partitioned by run_date. Only ever appended to: new files in a partition folder, never a
 * rewritten one, so yesterday's rows stay as they are.
 */
public final class StatsTables {
  public static final String LAYERS = "layers";
  public static final String ADAPTERS = "adapters";

  /** A layers row with its singular values is some 200-1000 bytes. */
  private static final int ROWS_PER_SLICE = 2000;

  private final SparkSession spark;
  private final HadoopFileIO io;
  private final String root;

  public StatsTables(SparkSession spark, HadoopFileIO io, String root) {
    this.spark = spark;
    this.io = io;
    this.root = root.endsWith("/") ? root.substring(0, root.length() - 1) : root;
  }

  String location(String table) {
    return root + "/" + table;
  }

  /**
   * The (adapter, run_id) pairs of {@code table} among the given runs, as {@link #key} strings.
   * Reads only the partitions of the given dates.
   */
  public Set<String> keys(
      String table, StructType schema, Collection<String> runIds, Collection<LocalDate> runDates)
      throws IOException {
    Set<String> keys = new HashSet<>();
    if (runIds.isEmpty() || !exists(table)) {
      return keys;
    }
    List<Object> dates = new ArrayList<>();
    runDates.forEach(d -> dates.add(Date.valueOf(d)));
    List<Row> rows =
        spark
            .read()
            // The known schema: no inference, and a folder a killed first run left without data
            // files reads as empty instead of failing.
            .schema(schema)
            .parquet(location(table))
            .where(col(StatsSchema.PARTITION_COLUMN).isin(dates.toArray()))
            .where(col("run_id").isin(runIds.toArray()))
            .select("adapter", "run_id")
            .distinct()
            .collectAsList();
    for (Row row : rows) {
      keys.add(key(row.getString(0), row.getString(1)));
    }
    return keys;
  }

  public static String key(String adapter, String runId) {
    return adapter + "\u0000" + runId;
  }

  /** Appends rows to {@code table}, into the partitions of their run_date. */
  public void append(String table, StructType schema, List<Row> rows) {
    append(table, schema, rows, null);
  }

  /**
   * Appends rows built on the driver and rows built on the executors (may be null) to {@code
   * table}, into the partitions of their run_date; nothing at all when both are empty.
   */
  public void append(String table, StructType schema, List<Row> rows, JavaRDD<Row> executorRows) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    boolean noExecutorRows = executorRows == null || executorRows.isEmpty();
    if (rows.isEmpty() && noExecutorRows) {
      return;
    }
    JavaRDD<Row> all;
    if (rows.isEmpty()) {
      all = executorRows;
    } else {
      // Rows built on the driver are shipped in slices so no single task carries them all.
      int slices = (int) Math.min(1000, (rows.size() + ROWS_PER_SLICE - 1) / ROWS_PER_SLICE);
      all = jsc.parallelize(rows, slices);
      if (!noExecutorRows) {
        all = all.union(executorRows);
      }
    }
    Dataset<Row> frame = spark.createDataFrame(all, schema);
    // One shuffle on the partition column: a file per run_date rather than one per input slice.
    frame
        .repartition(col(StatsSchema.PARTITION_COLUMN))
        .write()
        .mode(SaveMode.Append)
        .partitionBy(StatsSchema.PARTITION_COLUMN)
        .parquet(location(table));
  }

  /**
   * Deletes what killed writes left inside the tables: Hadoop's {@code _temporary} (task outputs a
   * job never committed, which the next job commit of the classic committer would otherwise merge
   * as its own, duplicating rows the reconciliation rebuilds) and the S3A magic committer's {@code
   * __magic*} folders. Readers never see either (docs/STATS.md). Call only under the run lock: a
   * running writer's own {@code _temporary} looks the same.
   *
   * @return the folders deleted
   */
  public List<String> removeLeftovers() throws IOException {
    List<String> removed = new ArrayList<>();
    for (String table : List.of(LAYERS, ADAPTERS)) {
      Path location = new Path(location(table));
      org.apache.hadoop.fs.FileSystem fs = io.fileSystem(location);
      org.apache.hadoop.fs.FileStatus[] children;
      try {
        children = fs.listStatus(location);
      } catch (java.io.FileNotFoundException e) {
        continue;
      }
      for (org.apache.hadoop.fs.FileStatus child : children) {
        String name = child.getPath().getName();
        if (name.equals("_temporary") || name.startsWith("__magic")) {
          fs.delete(child.getPath(), true);
          removed.add(child.getPath().toString());
        }
      }
    }
    return removed;
  }

  private boolean exists(String table) throws IOException {
    Path path = new Path(location(table));
    return io.fileSystem(path).exists(path);
  }
}
