package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.cli.Main;
import org.loraquant.fleet.AdapterSpec;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.fleet.ModelShape;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.LocalFileIO;
import org.loraquant.lock.Lease;
import org.loraquant.lock.RunLock;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.ChildProcess;
import org.loraquant.testing.TestPaths;
import org.loraquant.spark.stage.OutputState;

/**
 * Kill windows and concurrent runs (issue 16, items 4 to 6): {@code bin/loraquant recompress} as a
 * child JVM, stopped with the equivalent of {@code kill -9} ({@code Runtime.halt}, see {@link
 * KillPoints}) at each moment of a run, then run again; and two runs at once. Afterwards every
 * adapter has one complete output, byte for byte what an uninterrupted run writes, and exactly one
 * current set of stats rows. The children run the real launcher, so its JVM options are tested
 * too (without Spark's --add-opens every run that reconciles stats fails).
 */
class KillAndConcurrencyIT {
  private static final List<String> ADAPTERS = List.of("team-a/a1", "team-a/a2", "team-b/b1");
  private static final int LEASE_SECONDS = 5;
  private static final Duration CHILD_TIMEOUT = Duration.ofMinutes(6);
  private static final int HALTED = 137;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path shared;
  private static Path fleet;
  private static Path reference;

  @BeforeAll
  static void fleetAndReference() throws IOException {
    fleet = shared.resolve("fleet");
    FleetGenerator generator =
        new FleetGenerator(
            new LocalFileIO(), new FleetGenerator.Options(ADAPTERS.size(), ModelShape.TINY, 8, 5));
    for (int i = 0; i < ADAPTERS.size(); i++) {
      // Four small layers each: the runs are about starting JVMs and Spark, not compressing.
      generator.write(
          fleet.toString(),
          new AdapterSpec(
              ADAPTERS.get(i),
              ModelShape.TINY,
              4,
              8,
              DType.F16,
              List.of("q_proj", "v_proj"),
              List.of(0, 1),
              false,
              0.7,
              40 + i));
    }
    // The uninterrupted outputs: what `loraquant compress` writes, which the job matches byte for
    // byte (RecompressJobTest).
    reference = shared.resolve("reference");
    for (String adapter : ADAPTERS) {
      int code =
          Main.run(
              List.of(
                  "compress",
                  fleet.resolve(adapter).toString(),
                  reference.resolve(adapter).toString()),
              JobFixtures.discard(),
              JobFixtures.discard());
      assertThat(code).isZero();
    }
  }

  @Test
  void aRunKilledAtAnyMomentLeavesNothingARerunCannotRecover(@TempDir Path temp)
      throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    // Each run recovers from the previous kill and is itself killed one moment later.
    List<String> moments =
        List.of(
            KillPoints.BEFORE_OUTPUTS, // lock taken, nothing written
            KillPoints.OUTPUT_COMMITTED, // one output written, no stats
            "layers" + KillPoints.FILE_OPEN, // the first-ever stats write: a staged file, empty
            "layers" + KillPoints.FILES_WRITTEN, // every row written, no file renamed into place
            KillPoints.BETWEEN_TABLES); // layers' files written, adapters' not; none committed
    int step = 0;
    for (String moment : moments) {
      Child killed = recompress(temp, "kill-" + (++step) + "-" + moment, out, stats, moment);
      assertThat(killed.exitCode()).as("exit of the run killed at %s; log:\n%s", moment,
          killed.log()).isEqualTo(HALTED);
      assertOutputsCompleteOrAbsent(out);
      if (moment.startsWith("layers")) {
        // The windows are real: the killed write left its staged file under _temporary, and
        // nothing in the table's partitions (the first stats write ever).
        try (Stream<Path> files = Files.walk(stats.resolve("layers/_temporary"))) {
          assertThat(files.map(f -> f.getFileName().toString()))
              .as("staged files under layers/_temporary after a kill at %s", moment)
              .anyMatch(name -> name.startsWith("part-") && name.endsWith(".parquet"));
        }
        try (Stream<Path> entries = Files.list(stats.resolve("layers"))) {
          assertThat(entries.map(f -> f.getFileName().toString()))
              .as("layers/ after a kill at %s", moment)
              .containsExactly("_temporary");
        }
      }
      waitForLeasesToExpire(out, stats);
    }
    Child rerun = recompress(temp, "rerun", out, stats, null);
    assertThat(rerun.exitCode()).as("rerun; log:\n%s", rerun.log()).isZero();
    assertEveryAdapterOnce(out, stats);

    // A --force run killed while replacing outputs, then a rerun.
    Child force = recompress(temp, "force-killed", out, stats, KillPoints.OUTPUT_COMMITTED,
        "--force");
    assertThat(force.exitCode()).as("--force run; log:\n%s", force.log()).isEqualTo(HALTED);
    assertOutputsCompleteOrAbsent(out);
    waitForLeasesToExpire(out, stats);
    Child afterForce = recompress(temp, "rerun-after-force", out, stats, null);
    assertThat(afterForce.exitCode()).as("rerun; log:\n%s", afterForce.log()).isZero();
    assertEveryAdapterOnce(out, stats);
  }

  @Test
  void aSecondRunIsRefusedWhileTheFirstHoldsTheLock(@TempDir Path temp) throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    Path go = temp.resolve("go");
    ChildProcess first =
        start(
            temp,
            "first",
            out,
            stats,
            "-D" + KillPoints.PAUSE_AT + "=" + KillPoints.BEFORE_OUTPUTS
                + " -D" + KillPoints.PAUSE_UNTIL + "=" + go);
    try {
      Path locks = out.resolve(RunLock.FOLDER);
      Instant deadline = Instant.now().plus(CHILD_TIMEOUT);
      while (leases(out).size() + leases(stats).size() < 2) {
        assertThat(first.isAlive() && Instant.now().isBefore(deadline))
            .as("the first run is alive and takes its locks; log:\n%s", first.logText())
            .isTrue();
        Thread.sleep(100);
      }

      // The second run, with logging off: all it prints is its one line.
      Path quiet = temp.resolve("log4j2-off.properties");
      // An appender is needed: without one Spark installs its own logging profile.
      Files.writeString(
          quiet,
          String.join(
              "\n",
              "rootLogger.level = off",
              "rootLogger.appenderRef.console.ref = console",
              "appender.console.type = Console",
              "appender.console.name = console",
              "appender.console.target = SYSTEM_ERR",
              "appender.console.layout.type = PatternLayout",
              "appender.console.layout.pattern = %m%n",
              ""));
      ChildProcess second =
          ChildProcess.start(
              "second",
              command(out, stats, List.of()),
              environment("", quiet),
              temp.resolve("second.log"));
      int code = second.waitFor(CHILD_TIMEOUT);
      String log = second.logText();
      assertThat(code).as("exit of the second run; log:\n%s", log).isEqualTo(2);
      assertThat(log.lines().toList())
          .as("what the second run printed")
          .singleElement()
          .asString()
          .startsWith("recompress: run ")
          .contains(" not started: " + locks + " is locked by run ")
          .contains("pid " + first.pid() + ")")
          .contains("lease expires at ");
      assertThat(Files.exists(out.resolve(ADAPTERS.get(0)))).as("written while paused").isFalse();
      assertThat(Files.exists(stats.resolve("layers"))).isFalse();

      Files.createFile(go);
      assertThat(first.waitFor(CHILD_TIMEOUT)).as("first run; log:\n%s", first.logText())
          .isZero();
    } finally {
      first.close();
    }
    assertThat(leases(out)).as("released at the end").isEmpty();
    assertEveryAdapterOnce(out, stats);

    Child rerun = recompress(temp, "rerun", out, stats, null);
    assertThat(rerun.exitCode()).as("rerun; log:\n%s", rerun.log()).isZero();
    assertThat(rerun.log()).contains("compressed=0 skipped=3 failed=0 incomplete=0");
    assertEveryAdapterOnce(out, stats);
  }

  /** A finished child: exit code and everything it printed. */
  private record Child(int exitCode, String log) {}

  private static Child recompress(
      Path temp, String name, Path out, Path stats, String haltAt, String... flags) {
    String options = haltAt == null ? "" : "-D" + KillPoints.HALT_AT + "=" + haltAt;
    ChildProcess child = start(temp, name, out, stats, options, flags);
    try {
      return new Child(child.waitFor(CHILD_TIMEOUT), child.logText());
    } finally {
      child.close();
    }
  }

  private static ChildProcess start(
      Path temp, String name, Path out, Path stats, String javaOptions, String... flags) {
    Path log4j = Path.of(projectRoot(), "conf", "log4j2.properties");
    return ChildProcess.start(
        name,
        command(out, stats, List.of(flags)),
        environment(javaOptions, log4j),
        temp.resolve(name + ".log"));
  }

  /** {@code bin/loraquant recompress} on local[2] with a short lease, as an operator runs it. */
  private static List<String> command(Path out, Path stats, List<String> flags) {
    List<String> command = new ArrayList<>();
    command.add("bash");
    command.add(Path.of(projectRoot(), "bin", "loraquant").toString());
    command.addAll(
        List.of(
            "recompress",
            "--input",
            fleet.toString(),
            "--output",
            out.toString(),
            "--stats",
            stats.toString(),
            "--master",
            "local[2]",
            "--conf",
            "spark.sql.shuffle.partitions=2",
            "--lock-lease-seconds",
            Integer.toString(LEASE_SECONDS)));
    command.addAll(flags);
    return command;
  }

  private static Map<String, String> environment(String javaOptions, Path log4j) {
    return Map.of(
        "LORAQUANT_SKIP_BUILD", "1",
        // C1 and the serial collector start a short-lived JVM faster (docs/TEST-HARNESS.md).
        "LORAQUANT_JAVA_OPTS",
        "-Xmx768m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC " + javaOptions,
        "LORAQUANT_LOG4J2", log4j.toString(),
        "SPARK_LOCAL_IP", "127.0.0.1");
  }

  private static String projectRoot() {
    String root = System.getProperty("loraquant.project.root");
    return root != null ? root : TestPaths.jobsModule().getParent().toString();
  }

  private static List<Lease> leases(Path root) throws IOException {
    Path folder = root.resolve(RunLock.FOLDER);
    List<Lease> leases = new ArrayList<>();
    if (!Files.isDirectory(folder)) {
      return leases;
    }
    try (Stream<Path> files = Files.list(folder)) {
      for (Path file : files.filter(f -> f.getFileName().toString().startsWith("lease-")).toList()) {
        leases.add(Lease.parse(file.toString(), Files.readAllBytes(file)));
      }
    }
    return leases;
  }

  /** A killed run's leases stay until they expire; the next run takes them over after that. */
  private static void waitForLeasesToExpire(Path out, Path stats) throws Exception {
    Instant latest = Instant.EPOCH;
    for (Path root : List.of(out, stats)) {
      for (Lease lease : leases(root)) {
        latest = lease.expiresAt().isAfter(latest) ? lease.expiresAt() : latest;
      }
    }
    long millis = Duration.between(Instant.now(), latest).toMillis() + 200;
    if (millis > 0) {
      Thread.sleep(millis);
    }
  }

  /**
   * Every adapter folder in the output that has its manifest is complete and byte for byte the
   * uninterrupted output; one without it holds only what an interrupted writer leaves; staging
   * and lock folders (hidden) aside, nothing else is there.
   */
  private static Map<String, String> assertOutputsCompleteOrAbsent(Path out) throws IOException {
    Map<String, List<String>> filesByFolder = new TreeMap<>();
    if (Files.isDirectory(out)) {
      try (Stream<Path> paths = Files.walk(out)) {
        for (Path p : paths.filter(Files::isRegularFile).toList()) {
          String relative = out.relativize(p).toString().replace('\\', '/');
          if (org.loraquant.plan.RunPlanner.isHidden(relative)) {
            continue;
          }
          int slash = relative.lastIndexOf('/');
          filesByFolder
              .computeIfAbsent(slash < 0 ? "" : relative.substring(0, slash), k -> new ArrayList<>())
              .add(relative.substring(slash + 1));
        }
      }
    }
    Map<String, String> runIdByAdapter = new TreeMap<>();
    for (Map.Entry<String, List<String>> folder : filesByFolder.entrySet()) {
      String adapter = folder.getKey();
      assertThat(ADAPTERS).as("output folders").contains(adapter);
      if (!folder.getValue().contains(CompressedFormat.MANIFEST_FILE)) {
        // A replacement killed after it deleted the old manifest (always first) and before the
        // new folder was renamed into place, or a write in place killed before its manifest: what
        // docs/FORMAT.md calls incomplete. Readers and the job treat it as absent, and the next
        // run writes it again.
        assertThat(List.of(CompressedFormat.CONFIG_FILE, CompressedFormat.MODEL_FILE))
            .as("files of the incomplete %s", adapter)
            .containsAll(folder.getValue());
        continue;
      }
      assertThat(folder.getValue())
          .as("files of %s", adapter)
          .containsExactlyInAnyOrder(
              CompressedFormat.CONFIG_FILE,
              CompressedFormat.MODEL_FILE,
              CompressedFormat.MANIFEST_FILE);
      for (String file : List.of(CompressedFormat.CONFIG_FILE, CompressedFormat.MODEL_FILE)) {
        assertThat(Files.readAllBytes(out.resolve(adapter).resolve(file)))
            .as("%s/%s", adapter, file)
            .isEqualTo(Files.readAllBytes(reference.resolve(adapter).resolve(file)));
      }
      runIdByAdapter.put(
          adapter,
          JSON.readTree(
                  Files.readString(
                      out.resolve(adapter).resolve(CompressedFormat.MANIFEST_FILE),
                      StandardCharsets.UTF_8))
              .path("run")
              .path(OutputState.RUN_ID)
              .asText());
    }
    return runIdByAdapter;
  }

  /**
   * Every adapter has its output, and the stats hold exactly one current set of rows per adapter:
   * the latest adapters row names the run that wrote the output that exists, and that run's layers
   * rows are there once each; no duplicates anywhere and nothing uncommitted left in the tables.
   */
  private static void assertEveryAdapterOnce(Path out, Path stats) throws Exception {
    Map<String, String> runIds = assertOutputsCompleteOrAbsent(out);
    assertThat(runIds.keySet()).containsExactlyElementsOf(ADAPTERS);
    for (String table : List.of("layers", "adapters")) {
      try (Stream<Path> children = Files.list(stats.resolve(table))) {
        assertThat(children.map(p -> p.getFileName().toString()))
            .as("left in %s", table)
            .noneMatch(name -> name.equals("_temporary") || name.startsWith("__magic"));
      }
    }
    try (StatsCheck check = new StatsCheck(stats)) {
      check.assertInvariants();
      for (String adapter : ADAPTERS) {
        List<List<Object>> current =
            check.rows(
                "SELECT output_run_id, layers FROM current_adapters WHERE adapter = '"
                    + adapter
                    + "'");
        assertThat(current).as("current row of %s", adapter).hasSize(1);
        assertThat(current.get(0).get(0)).as("output run of %s", adapter)
            .isEqualTo(runIds.get(adapter));
        assertThat(
                check.count(
                    "SELECT count(*) FROM layers WHERE adapter = '"
                        + adapter
                        + "' AND run_id = '"
                        + runIds.get(adapter)
                        + "'"))
            .as("current layer rows of %s", adapter)
            .isEqualTo(4);
      }
    }
  }
}
