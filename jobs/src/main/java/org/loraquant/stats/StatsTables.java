package org.loraquant.stats;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.sql.Date;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.loraquant.hadoop.AtOnce;
import org.loraquant.hadoop.AtomicFile;
import org.loraquant.hadoop.HadoopFileIO;

/**
 * The Parquet stats tables under {@code --stats}: {@code layers/} and {@code adapters/}, both
 * partitioned by run_date. Only ever appended to: new files in a partition folder, never a
 * rewritten one, so yesterday's rows stay as they are. The driver writes each file itself ({@link
 * StatsFile}, {@link AtomicFile}): on S3 that is one PUT per table and date, where Spark's writer
 * and the magic committer took some fifty requests per table, one after another.
 */
public final class StatsTables {
  public static final String LAYERS = "layers";
  public static final String ADAPTERS = "adapters";

  /**
   * Where a table's files wait for their rename on file systems that stage ({@link AtomicFile}):
   * the name Hadoop's committers use, which every reader skips and {@link #removeLeftovers}
   * removes.
   */
  static final String STAGING_FOLDER = "_temporary";

  /** Moment of a write: one of the table's new files was created, no row written to it yet. */
  public static final String FILE_OPEN = "-file-open";

  /** Moment of a write: every row and footer written, no file committed yet. */
  public static final String FILES_WRITTEN = "-files-written";

  /**
   * Executor rows fetched per Spark job: a layers row is some 1-2 KB on the driver's heap with its
   * singular values, so a slice is some tens of MB.
   */
  static final long ROWS_PER_FETCH = 20_000;

  /** Told each moment of a write, {@code TABLE + FILE_OPEN} and the like (the job's kill tests). */
  public interface Moments {
    void reached(String moment);
  }

  private final SparkSession spark;
  private final HadoopFileIO io;
  private final String root;
  private final Moments moments;

  public StatsTables(SparkSession spark, HadoopFileIO io, String root) {
    this(spark, io, root, moment -> {});
  }

  public StatsTables(SparkSession spark, HadoopFileIO io, String root, Moments moments) {
    this.spark = spark;
    this.io = io;
    this.root = root.endsWith("/") ? root.substring(0, root.length() - 1) : root;
    this.moments = moments;
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
  public void append(String table, StructType schema, List<Row> rows) throws IOException {
    append(table, schema, rows, null);
  }

  /**
   * Appends rows built on the driver and rows built on the executors (may be null) to {@code
   * table}: {@link #write}, then {@link Written#commit}.
   */
  public void append(String table, StructType schema, List<Row> rows, JavaRDD<Row> executorRows)
      throws IOException {
    write(table, schema, rows, executorRows).commit();
  }

  /**
   * Writes rows built on the driver and rows built on the executors (may be null) for {@code
   * table}: one new {@link StatsFile} per run_date among them, written by the driver, none
   * committed yet (each will appear whole or not at all, {@link AtomicFile}); no file at all when
   * both are empty. The executors' rows come to the driver a few thousand at a time, never all at
   * once. A failure leaves none of the files.
   *
   * @return the files, to be committed together ({@link Written#commit}, or {@link
   *     #commitAtOnce} with another table's) or aborted
   */
  public Written write(String table, StructType schema, List<Row> rows, JavaRDD<Row> executorRows)
      throws IOException {
    Iterator<Row> all = concat(rows.iterator(), fromExecutors(executorRows));
    String location = location(table);
    String staging = location + "/" + STAGING_FOLDER;
    Map<LocalDate, StatsFile.Writer> files = new TreeMap<>();
    if (!all.hasNext()) {
      return new Written(staging, files.values());
    }
    StatsFile.Rows converter = new StatsFile.Rows(schema);
    Map<String, String> settings = StatsFile.sparkSettings(spark);
    boolean written = false;
    try {
      while (all.hasNext()) {
        StatsFile.Split row = converter.split(table, all.next());
        StatsFile.Writer file = files.get(row.runDate());
        if (file == null) {
          String path =
              location + "/" + StatsFile.partitionFolder(row.runDate()) + "/"
                  + StatsFile.newFileName();
          file = StatsFile.Writer.open(io, path, staging, converter.dataSchema(), settings);
          files.put(row.runDate(), file);
          moments.reached(table + FILE_OPEN);
        }
        file.write(row.data());
      }
      for (StatsFile.Writer file : files.values()) {
        file.finish();
      }
      moments.reached(table + FILES_WRITTEN);
      written = true;
    } finally {
      if (!written) {
        new Written(staging, files.values()).abort();
      }
    }
    return new Written(staging, files.values());
  }

  /**
   * A table's new files, every row written, none committed: {@link #commit} or {@link #abort}
   * them.
   */
  public final class Written implements Commit {
    private final String staging;
    private final List<StatsFile.Writer> files;

    private Written(String staging, Collection<StatsFile.Writer> files) {
      this.staging = staging;
      this.files = List.copyOf(files);
    }

    /**
     * Commits the files (on S3, one PUT each). A failure before the first commit leaves none of
     * them; a failure between two commits, with rows of several dates, leaves the dates committed
     * so far: each date's file holds whole adapters, and the next run's reconciliation appends
     * exactly what is missing.
     */
    public void commit() throws IOException {
      boolean committed = false;
      try {
        for (StatsFile.Writer file : files) {
          file.file().commit();
        }
        committed = true;
      } finally {
        if (!committed) {
          files.forEach(StatsFile.Writer::abort);
        }
        removeStagingIfUsed();
      }
    }

    /** Deletes the files, none of which is committed. */
    public void abort() {
      files.forEach(StatsFile.Writer::abort);
      removeStagingIfUsed();
    }

    private void removeStagingIfUsed() {
      if (files.stream().anyMatch(file -> file.file().staged())) {
        removeEmptyStaging(staging);
      }
    }
  }

  /**
   * Commits tables' written files, each table's on its own thread (on S3 the PUTs wait at once,
   * not one after another), and returns when every commit has ended.
   *
   * @throws IOException the first table's failure, the others' suppressed in it: a table whose
   *     commit failed has none of its files (as {@link Written#commit}); the others' stand, and
   *     the next run's reconciliation, which checks each table on its own, appends what is missing
   */
  public static void commitAtOnce(List<? extends Commit> tables) throws IOException {
    AtOnce.throwFirstFailure(
        AtOnce.call(
            tables,
            table -> {
              table.commit();
              return null;
            }));
  }

  /** Something {@link #commitAtOnce} commits: a table's {@link Written} files. */
  public interface Commit {
    void commit() throws IOException;
  }

  /**
   * The staging folder, empty once every staged file was renamed into its partition or deleted by
   * its abort. A folder that cannot be removed is left: readers skip it and the next run's {@link
   * #removeLeftovers} removes it, so the rows just committed stand.
   */
  private void removeEmptyStaging(String staging) {
    try {
      io.delete(staging);
    } catch (IOException e) {
      // left for the next run, see above
    }
  }

  /**
   * The executors' rows as the driver reads them: in slices of about {@link #ROWS_PER_FETCH} rows
   * (one Spark job each), so its memory holds one slice at a time.
   */
  private static Iterator<Row> fromExecutors(JavaRDD<Row> rows) {
    if (rows == null || rows.getNumPartitions() == 0) {
      return java.util.Collections.emptyIterator();
    }
    long count = rows.count();
    if (count == 0) {
      return java.util.Collections.emptyIterator();
    }
    long slices = Math.min(rows.getNumPartitions(), (count + ROWS_PER_FETCH - 1) / ROWS_PER_FETCH);
    return rows.coalesce((int) Math.max(1, slices)).toLocalIterator();
  }

  private static <T> Iterator<T> concat(Iterator<T> first, Iterator<T> second) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return first.hasNext() || second.hasNext();
      }

      @Override
      public T next() {
        return first.hasNext() ? first.next() : second.next();
      }
    };
  }

  /**
   * Deletes what killed writes left inside the tables: {@code _temporary}, where this class stages
   * a file before its rename on local disks and HDFS (and where Hadoop's committers, which wrote
   * the tables before, kept task files a job never committed), and the S3A magic committer's
   * {@code __magic*} folders of those older writes. Readers never see either (docs/STATS.md). Call
   * only under the run lock: a running writer's own {@code _temporary} looks the same.
   *
   * <p>They are found by one flat listing of the whole root (on S3 one LIST per 1,000 objects; the
   * root holds the run lock's lease by now, so an otherwise empty root costs no existence probe),
   * where listing each table's folder cost one LIST each and, for a table not there yet, S3A's
   * HEAD and LIST probing for it. A leftover folder holding no file at all holds no rows and is
   * not seen: it stays, as harmless as before.
   *
   * @return the folders deleted
   */
  public List<String> removeLeftovers() throws IOException {
    Path rootPath = new Path(root);
    org.apache.hadoop.fs.FileSystem fs = io.fileSystem(rootPath);
    Path qualified = fs.makeQualified(rootPath);
    String rootPrefix = qualified.toUri().getPath();
    rootPrefix = rootPrefix.endsWith("/") ? rootPrefix : rootPrefix + "/";
    Set<Path> leftovers = new java.util.LinkedHashSet<>();
    try {
      org.apache.hadoop.fs.RemoteIterator<org.apache.hadoop.fs.LocatedFileStatus> files =
          fs.listFiles(qualified, true);
      while (files.hasNext()) {
        String path = files.next().getPath().toUri().getPath();
        if (!path.startsWith(rootPrefix)) {
          continue;
        }
        String[] parts = path.substring(rootPrefix.length()).split("/", 3);
        if (parts.length >= 2 && isLeftover(parts[0], parts[1])) {
          leftovers.add(new Path(new Path(qualified, parts[0]), parts[1]));
        }
      }
    } catch (java.io.FileNotFoundException e) {
      return List.of();
    }
    List<String> removed = new ArrayList<>();
    for (Path leftover : leftovers) {
      fs.delete(leftover, true);
      removed.add(leftover.toString());
    }
    return removed;
  }

  /** True for {@code name} directly inside a table's folder when a killed write left it. */
  private static boolean isLeftover(String table, String name) {
    return (table.equals(LAYERS) || table.equals(ADAPTERS))
        && (name.equals(STAGING_FOLDER) || name.startsWith("__magic"));
  }

  private boolean exists(String table) throws IOException {
    Path path = new Path(location(table));
    return io.fileSystem(path).exists(path);
  }
}
