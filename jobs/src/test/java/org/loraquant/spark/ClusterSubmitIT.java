package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.launcher.JavaModuleOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.cli.Main;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.fleet.ModelShape;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.LocalFileIO;
import org.loraquant.testing.StandaloneCluster;
import org.loraquant.testing.StandaloneCluster.DeployMode;
import org.loraquant.testing.StandaloneCluster.SubmitResult;
import org.loraquant.testing.TestPaths;
import org.loraquant.stats.StatsTables;

/**
 * The shaded job jar on a real Spark standalone cluster (master and two workers on 127.0.0.1,
 * started from the Maven-resolved Spark jars), submitted with spark-submit in client and in
 * cluster deploy mode, gives the same compressed adapters, byte for byte, and the same stats rows
 * as a local[2] run of the same fleet ({@code bin/loraquant recompress}, in this JVM). The local
 * run uses Java serialisation, the client-mode run Kryo without further settings, the cluster-mode
 * run Kryo with {@link LoraQuantKryoRegistrator} named explicitly, as
 * conf/spark-defaults.conf.cluster.example sets it: the comparison covers the serialisers too.
 * A fourth submission, in client mode, runs one bit budget over the fleet ({@code --budget-scope
 * fleet}, issue 20: the rate-distortion tables and the allocator's aggregations cross the
 * executors) and must write what a local[2] run with the same flags writes. Nothing the cluster
 * started may outlive the test.
 */
class ClusterSubmitIT {
  private static final int ADAPTERS = 4;
  private static final Duration SUBMIT_TIMEOUT = Duration.ofMinutes(3);

  /** Columns that say when and in which run a row was written, not what was computed. */
  private static final Set<String> RUN_SPECIFIC_COLUMNS =
      Set.of("run_id", "run_date", "finished_at", "seconds", "output_run_id");

  /**
   * Adapter columns that count the output folder or its JSON files, whose manifest holds the run's
   * id, date and timings: a few bytes apart between runs. Checked against each run's own folder
   * instead (bytes_out here; fixed_file_bytes in RecompressJobTest).
   */
  private static final Set<String> OUTPUT_SIZE_COLUMNS =
      Set.of(
          "bytes_out",
          "effective_bits",
          "compression_ratio",
          "effective_bits_per_param",
          "overhead_bytes",
          "fixed_file_bytes");

  /** Manifest fields of the same kind: the run map and the per-layer timings. */
  private static final Set<String> RUN_SPECIFIC_MANIFEST_FIELDS =
      Set.of("run", "seconds", "nanos");

  /** Kryo as a cluster may turn it on for every application: the job adds its registrator. */
  private static final Map<String, String> CLIENT_CONF =
      Map.of("spark.serializer", "org.apache.spark.serializer.KryoSerializer");

  /**
   * Kryo as conf/spark-defaults.conf.cluster.example configures it, and the driver options that
   * file asks for in standalone cluster mode: a driver started through spark://HOST:PORT gets no
   * Java module options from Spark 4.0.1, and Kryo cannot start without them.
   */
  private static final Map<String, String> CLUSTER_CONF =
      Map.of(
          "spark.serializer", "org.apache.spark.serializer.KryoSerializer",
          "spark.kryo.registrationRequired", "false",
          "spark.kryo.registrator", LoraQuantKryoRegistrator.class.getName(),
          "spark.driver.extraJavaOptions",
          StandaloneCluster.QUICK_JVM + " " + JavaModuleOptions.defaultModuleOptions());

  private final ObjectMapper json = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void clientAndClusterModeWriteWhatALocalRunWrites() throws Exception {
    Path jar = shadedJar();
    Path fleet = dir.resolve("fleet");
    new FleetGenerator(new LocalFileIO(), new FleetGenerator.Options(ADAPTERS, ModelShape.TINY, 8, 7))
        .generate(fleet.toString());

    Run local = new Run(dir.resolve("local"));
    runLocally(local, fleet);
    Run fleetBudgetLocal = new Run(dir.resolve("fleet-budget-local"), FLEET_BUDGET);
    runLocally(fleetBudgetLocal, fleet);

    Run client = new Run(dir.resolve("client"));
    Run cluster = new Run(dir.resolve("cluster"));
    Run fleetBudgetClient = new Run(dir.resolve("fleet-budget-client"), FLEET_BUDGET);
    try (StandaloneCluster spark = StandaloneCluster.start(dir.resolve("spark"))) {
      for (Run run : List.of(client, cluster, fleetBudgetClient)) {
        DeployMode mode = run == cluster ? DeployMode.CLUSTER : DeployMode.CLIENT;
        SubmitResult result =
            spark.submit(mode, jar, RecompressJob.class.getName(), run.jobArgs(fleet),
                mode == DeployMode.CLIENT ? CLIENT_CONF : CLUSTER_CONF, SUBMIT_TIMEOUT);
        assertThat(result.succeeded()).as("%s mode: %s", mode, result.describe()).isTrue();
        if (mode == DeployMode.CLUSTER) {
          assertThat(result.driverState()).isEqualTo("FINISHED");
        }
      }
    }
    assertThat(childProcessesLeft()).as("processes the cluster left running").isEmpty();

    assertSameOutputs(local, List.of(client, cluster));
    assertSameOutputs(fleetBudgetLocal, List.of(fleetBudgetClient));
    for (Run run : List.of(local, client, cluster, fleetBudgetLocal, fleetBudgetClient)) {
      assertThat(bytesOut(run.stats)).as("bytes_out under %s", run.stats)
          .isEqualTo(folderSizes(run.output));
    }
    assertThat(statsRows(local.stats, StatsTables.ADAPTERS)).hasSize(ADAPTERS);
    assertThat(statsRows(fleetBudgetClient.stats, StatsTables.ADAPTERS))
        .hasSize(ADAPTERS)
        .allSatisfy(row -> assertThat(row).contains("budget_scope=fleet ", "budget_weight=energy ")
            .doesNotContain("budget_lambda=null"));
  }

  /** {@code bin/loraquant recompress --master local[2]} of the run, in this JVM. */
  private static void runLocally(Run run, Path fleet) {
    ByteArrayOutputStream localLog = new ByteArrayOutputStream();
    List<String> localArgs = new ArrayList<>(List.of("recompress", "--master", "local[2]"));
    localArgs.addAll(run.jobArgs(fleet));
    int localExit;
    try (PrintStream log = new PrintStream(localLog, true, StandardCharsets.UTF_8)) {
      localExit = Main.run(localArgs, log, log);
    }
    assertThat(localExit).as("local run %s:\n%s", run.output, localLog).isZero();
  }

  /** Each run's files and stats rows are the local run's, run info aside. */
  private void assertSameOutputs(Run local, List<Run> runs) throws IOException, SQLException {
    Map<String, byte[]> expected = outputFiles(local.output);
    assertThat(expected.keySet().stream().filter(n -> n.endsWith(CompressedFormat.MODEL_FILE)))
        .as("compressed models of the local run")
        .hasSize(ADAPTERS);
    for (Run run : runs) {
      Map<String, byte[]> actual = outputFiles(run.output);
      assertThat(actual.keySet()).as("files under %s", run.output).isEqualTo(expected.keySet());
      for (String name : expected.keySet()) {
        if (name.endsWith(CompressedFormat.MANIFEST_FILE)) {
          assertThat(withoutRunInfo(actual.get(name)))
              .as("%s under %s, run info aside", name, run.output)
              .isEqualTo(withoutRunInfo(expected.get(name)));
        } else {
          assertThat(actual.get(name)).as("%s under %s", name, run.output)
              .isEqualTo(expected.get(name));
        }
      }
      for (String table : List.of(StatsTables.LAYERS, StatsTables.ADAPTERS)) {
        assertThat(statsRows(run.stats, table))
            .as("%s rows under %s", table, run.stats)
            .isEqualTo(statsRows(local.stats, table))
            .isNotEmpty();
      }
    }
  }

  /** One bit budget over the fleet's 4 adapters. */
  private static final List<String> FLEET_BUDGET = List.of("--budget", "1.4", "--budget-scope", "fleet");

  /** Output and stats locations of one run, and its codec flags. */
  private record Run(Path output, Path stats, List<String> codecFlags) {
    Run(Path root) {
      this(root, List.of());
    }

    Run(Path root, List<String> codecFlags) {
      this(root.resolve("compressed"), root.resolve("stats"), codecFlags);
    }

    List<String> jobArgs(Path fleet) {
      // Small tasks, so the two executors share the layers of one adapter.
      List<String> args = new ArrayList<>(List.of(
          "--input", fleet.toUri().toString(),
          "--output", output.toUri().toString(),
          "--stats", stats.toUri().toString(),
          "--max-layers-per-task", "6"));
      args.addAll(codecFlags);
      return args;
    }
  }

  /** Descendants of this JVM still alive after a grace period for the kill to land. */
  private static List<ProcessHandle> childProcessesLeft() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    List<ProcessHandle> alive = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
        .toList();
    while (!alive.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(200);
      alive = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
    }
    return alive;
  }

  private static Path shadedJar() throws IOException {
    try (Stream<Path> files = Files.list(TestPaths.jobsTarget())) {
      List<Path> jars =
          files.filter(p -> p.getFileName().toString().matches("loraquant-jobs-.*-spark\\.jar"))
              .toList();
      assertThat(jars).as("the shaded job jar (mvn package builds it)").hasSize(1);
      return jars.get(0);
    }
  }

  /** Every file under {@code root} by relative path, hidden ones (Hadoop's .crc) left out. */
  private static Map<String, byte[]> outputFiles(Path root) throws IOException {
    Map<String, byte[]> files = new TreeMap<>();
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.filter(Files::isRegularFile).toList()) {
        String name = path.getFileName().toString();
        if (!name.startsWith(".") && !name.startsWith("_")) {
          files.put(root.relativize(path).toString(), Files.readAllBytes(path));
        }
      }
    }
    return files;
  }

  /** bytes_out of the adapters table, by adapter. */
  private static Map<String, Long> bytesOut(Path stats) throws SQLException {
    Map<String, Long> sizes = new TreeMap<>();
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = duck.createStatement();
        ResultSet rows = statement.executeQuery(
            "SELECT adapter, bytes_out FROM " + parquet(stats, StatsTables.ADAPTERS))) {
      while (rows.next()) {
        sizes.put(rows.getString(1), rows.getLong(2));
      }
    }
    return sizes;
  }

  /** Bytes of each adapter's output folder, by adapter. */
  private static Map<String, Long> folderSizes(Path output) throws IOException {
    Map<String, Long> sizes = new TreeMap<>();
    for (Map.Entry<String, byte[]> file : outputFiles(output).entrySet()) {
      String adapter = Path.of(file.getKey()).getParent().toString();
      sizes.merge(adapter, (long) file.getValue().length, Long::sum);
    }
    return sizes;
  }

  private static String parquet(Path stats, String table) {
    String files = stats.resolve(table).toString().replace("'", "''") + "/run_date=*/*.parquet";
    return "read_parquet('" + files + "', hive_partitioning = true)";
  }

  private JsonNode withoutRunInfo(byte[] manifest) throws IOException {
    JsonNode tree = json.readTree(manifest);
    strip(tree);
    return tree;
  }

  private static void strip(JsonNode node) {
    if (node instanceof ObjectNode object) {
      for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
        if (RUN_SPECIFIC_MANIFEST_FIELDS.contains(names.next())) {
          names.remove();
        }
      }
    }
    node.forEach(ClusterSubmitIT::strip);
  }

  /** The table's rows as text, run-specific columns left out, sorted. */
  private static List<String> statsRows(Path stats, String table) throws SQLException {
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = duck.createStatement();
        ResultSet rows = statement.executeQuery("SELECT * FROM " + parquet(stats, table))) {
      ResultSetMetaData columns = rows.getMetaData();
      List<String> result = new ArrayList<>();
      while (rows.next()) {
        StringBuilder row = new StringBuilder();
        for (int i = 1; i <= columns.getColumnCount(); i++) {
          String column = columns.getColumnName(i);
          boolean runSpecific = RUN_SPECIFIC_COLUMNS.contains(column)
              || (table.equals(StatsTables.ADAPTERS) && OUTPUT_SIZE_COLUMNS.contains(column));
          if (!runSpecific) {
            row.append(column).append('=').append(rows.getString(i)).append(' ');
          }
        }
        result.add(row.toString());
      }
      result.sort(null);
      return result;
    }
  }
}
