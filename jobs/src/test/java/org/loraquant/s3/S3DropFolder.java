package org.loraquant.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.loraquant.cli.Main;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.fleet.FleetSummary;
import org.loraquant.fleet.ModelShape;
import org.loraquant.io.LocalFileIO;
import org.loraquant.testing.S3ProxyServer;
import org.loraquant.testing.S3aSettings;

/**
 * One drop-folder deployment for a test: a bucket on an S3 store with {@code in/}, {@code out/}
 * and {@code stats/}, a private S3A client to arrange and inspect it, and the job run through
 * {@code loraquant recompress} exactly as bin/loraquant runs it (its own SparkSession, stopped at
 * the end of each run).
 *
 * <p>The job may be pointed at another endpoint than the store (a {@link
 * org.loraquant.testing.FaultInjectingProxy} in front of it); the test's own client always talks to
 * the store directly, so arranging and checking never meets an injected fault.
 */
final class S3DropFolder implements AutoCloseable {
  static final String CONFIG = "adapter_config.json";
  static final String WEIGHTS = "adapter_model.safetensors";

  private final S3ProxyServer store;
  private final String bucket;
  /** Seconds: a failed run's lease is waited out before the next run (see waitForLeasesToExpire). */
  private static final int LEASE_SECONDS = 5;

  private final FileSystem fs;
  private final java.nio.file.Path workDir;
  private int leaseSeconds = LEASE_SECONDS;

  private S3DropFolder(S3ProxyServer store, String bucket, FileSystem fs, java.nio.file.Path work) {
    this.store = store;
    this.bucket = bucket;
    this.fs = fs;
    this.workDir = work;
  }

  /** A fresh bucket on {@code store}; {@code workDir} holds local copies (fleets, stats). */
  static S3DropFolder create(S3ProxyServer store, java.nio.file.Path workDir) throws IOException {
    String bucket = S3aSettings.uniqueBucket("drop");
    store.createBucket(bucket);
    Configuration conf = store.hadoopConfiguration();
    // A private instance, apart from the cached one the job uses (see forgetJobFileSystem).
    FileSystem fs = FileSystem.newInstance(URI.create("s3a://" + bucket + "/"), conf);
    return new S3DropFolder(store, bucket, fs, workDir);
  }

  /**
   * The lock lease of the following runs, for tests whose runs are long and never fail: a lease
   * that expires unrenewed while the JVM is starved on a loaded machine fails the run.
   */
  void useLeaseSeconds(int seconds) {
    this.leaseSeconds = seconds;
  }

  String uri(String key) {
    return "s3a://" + bucket + "/" + key;
  }

  String input() {
    return uri("in");
  }

  String output() {
    return uri("out");
  }

  String stats() {
    return uri("stats");
  }

  FileSystem fs() {
    return fs;
  }

  /**
   * Generates a tiny fleet locally and uploads it to {@code in/}. Returns the adapters' relative
   * paths.
   */
  List<String> uploadFleet(int adapters, long seed) throws IOException {
    java.nio.file.Path local = Files.createTempDirectory(workDir, "fleet-");
    FleetSummary fleet =
        new FleetGenerator(
                new LocalFileIO(), new FleetGenerator.Options(adapters, ModelShape.TINY, 8, seed))
            .generate(local.resolve("fleet").toString());
    List<String> names = new ArrayList<>();
    for (FleetSummary.Adapter adapter : fleet.adapters()) {
      names.add(adapter.relativePath());
      uploadFolder(local.resolve("fleet").resolve(adapter.relativePath()), adapter.relativePath());
    }
    return names;
  }

  /** Generates one more adapter locally (not uploaded); returns its folder. */
  java.nio.file.Path generateLocally(long seed) throws IOException {
    java.nio.file.Path local = Files.createTempDirectory(workDir, "adapter-");
    FleetSummary fleet =
        new FleetGenerator(
                new LocalFileIO(), new FleetGenerator.Options(1, ModelShape.TINY, 8, seed))
            .generate(local.resolve("fleet").toString());
    return local.resolve("fleet").resolve(fleet.adapters().get(0).relativePath());
  }

  /** Uploads every file of a local adapter folder to {@code in/relativePath}. */
  void uploadFolder(java.nio.file.Path folder, String relativePath) throws IOException {
    try (var files = Files.list(folder)) {
      for (java.nio.file.Path file : files.toList()) {
        upload(Files.readAllBytes(file), "in/" + relativePath + "/" + file.getFileName());
      }
    }
  }

  void upload(byte[] bytes, String key) throws IOException {
    try (OutputStream out = fs.create(new Path(uri(key)), true)) {
      out.write(bytes);
    }
  }

  /** Every object under {@code prefix} with the SHA-256 of its bytes, by key. */
  Map<String, String> checksums(String prefix) throws IOException {
    Map<String, String> sums = new TreeMap<>();
    Path root = new Path(uri(prefix));
    if (!fs.exists(root)) {
      return sums;
    }
    RemoteIterator<LocatedFileStatus> files = fs.listFiles(root, true);
    while (files.hasNext()) {
      Path path = files.next().getPath();
      sums.put(path.toString(), sha256(path));
    }
    return sums;
  }

  /** Keys (relative to the bucket) of every object under {@code prefix}. */
  List<String> keys(String prefix) throws IOException {
    List<String> keys = new ArrayList<>();
    String base = uri("");
    checksums(prefix).keySet().forEach(k -> keys.add(k.substring(base.length())));
    return keys;
  }

  /** True once some adapter's output under {@code out/} is complete (has its manifest). */
  boolean hasCompleteOutput() {
    try {
      return keys("out").stream().anyMatch(key -> key.endsWith("/" + FleetInvariants.MANIFEST));
    } catch (IOException e) {
      return false; // the store is away: not yet
    }
  }

  byte[] read(String key) throws IOException {
    try (InputStream in = fs.open(new Path(uri(key)))) {
      return in.readAllBytes();
    }
  }

  private String sha256(Path path) throws IOException {
    try (InputStream in = fs.open(path)) {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[1 << 16];
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        digest.update(buffer, 0, n);
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** What a run of {@code loraquant recompress} returned and printed. */
  record Run(int exitCode, String out, String err) {}

  /** {@code loraquant recompress} on this bucket, with the job's S3 settings for {@code endpoint}. */
  Run recompress(URI endpoint, String... extraArgs) throws IOException {
    return recompressSignedWith(endpoint, S3ProxyServer.SECRET_KEY, extraArgs);
  }

  Run recompress(String... extraArgs) throws IOException {
    return recompress(store.endpoint(), extraArgs);
  }

  /** As {@link #recompress(URI, String...)}, signing with {@code secretKey}. */
  Run recompressSignedWith(URI endpoint, String secretKey, String... extraArgs)
      throws IOException {
    waitForLeasesToExpire();
    List<String> args = new ArrayList<>(List.of("recompress", "--input", input(), "--output",
        output(), "--stats", stats(), "--master", "local[2]",
        "--lock-lease-seconds", Integer.toString(leaseSeconds)));
    Map<String, String> conf =
        new LinkedHashMap<>(S3aSettings.spark(endpoint, S3ProxyServer.ACCESS_KEY, secretKey));
    conf.put("spark.sql.shuffle.partitions", "2");
    conf.put("spark.default.parallelism", "2");
    conf.forEach((key, value) -> args.addAll(List.of("--conf", key + "=" + value)));
    args.addAll(List.of(extraArgs));
    try {
      return run(args);
    } finally {
      forgetJobFileSystem();
    }
  }

  /**
   * A run that failed because the store went away could not delete its lease (README, "What a
   * rerun does"): the next run is refused until it expires. The tests' runs use short leases and
   * wait them out.
   */
  private void waitForLeasesToExpire() {
    java.time.Instant latest = java.time.Instant.EPOCH;
    try {
      for (String root : List.of(output(), stats())) {
        Path folder = new Path(root, org.loraquant.lock.RunLock.FOLDER);
        if (!fs.exists(folder)) {
          continue;
        }
        for (org.apache.hadoop.fs.FileStatus file : fs.listStatus(folder)) {
          try (InputStream in = fs.open(file.getPath())) {
            java.time.Instant expiry =
                org.loraquant.lock.Lease.parse(file.getPath().toString(), in.readAllBytes())
                    .expiresAt();
            latest = expiry.isAfter(latest) ? expiry : latest;
          }
        }
      }
    } catch (IOException | IllegalArgumentException e) {
      return; // the store is away or a lease is half-written: the run will say so itself
    }
    long millis = java.time.Duration.between(java.time.Instant.now(), latest).toMillis() + 200;
    if (millis > 0) {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static Run run(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(args, o, e);
    }
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /**
   * Closes the S3A instance the job left in Hadoop's per-JVM cache (stopping Spark does not), so
   * that the next run uses the endpoint and credentials it is given, as a new bin/loraquant
   * process would. The cache key is scheme, bucket and user, whatever the settings.
   */
  private void forgetJobFileSystem() throws IOException {
    Configuration conf = store.hadoopConfiguration();
    FileSystem.get(URI.create("s3a://" + bucket + "/"), conf).close();
  }

  /**
   * Copies the stats tables out of the bucket and runs {@code sql} on them with DuckDB (views
   * {@code layers} and {@code adapters}, as docs/STATS.md defines them). A reader of plain Parquet
   * files, not Spark: what an analyst's notebook sees.
   */
  List<Map<String, Object>> query(String sql) throws IOException, SQLException {
    java.nio.file.Path local = Files.createTempDirectory(workDir, "stats-");
    fs.copyToLocalFile(false, new Path(stats()), new Path(local.toUri()), true);
    java.nio.file.Path tables = local.resolve("stats");
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = duck.createStatement()) {
      for (String table : List.of("layers", "adapters")) {
        String glob = tables.resolve(table) + "/run_date=*/*.parquet"; // committed files only
        if (Files.isDirectory(tables.resolve(table))) {
          statement.execute("CREATE VIEW " + table + " AS SELECT * FROM read_parquet('" + glob
              + "', hive_partitioning = true)");
        }
      }
      List<Map<String, Object>> rows = new ArrayList<>();
      try (ResultSet result = statement.executeQuery(sql)) {
        int columns = result.getMetaData().getColumnCount();
        while (result.next()) {
          Map<String, Object> row = new LinkedHashMap<>();
          for (int i = 1; i <= columns; i++) {
            row.put(result.getMetaData().getColumnLabel(i), result.getObject(i));
          }
          rows.add(row);
        }
      }
      return rows;
    }
  }

  /** Status of every adapter in the run {@code runId}, by adapter. */
  Map<String, String> statuses(String runId) throws IOException, SQLException {
    Map<String, String> statuses = new TreeMap<>();
    for (Map<String, Object> row :
        query("SELECT adapter, status FROM adapters WHERE run_id = '" + runId + "'")) {
      statuses.put((String) row.get("adapter"), (String) row.get("status"));
    }
    return statuses;
  }

  /** The run id of the latest run (run ids sort by start time). */
  String lastRunId() throws IOException, SQLException {
    return (String) query("SELECT max(run_id) AS id FROM adapters").get(0).get("id");
  }

  @Override
  public void close() throws IOException {
    fs.close();
  }
}
