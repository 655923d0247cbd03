package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.loraquant.spark.JobFixtures.day;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.cli.Main;
import org.loraquant.format.CompressedFormat;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.peft.LoraModule;
import org.loraquant.plan.LayerTask;
import org.loraquant.safetensors.DType;
import org.loraquant.testing.SyntheticAdapter;
import org.loraquant.stats.AdapterStatus;
import org.loraquant.stats.StatsSchema;
import org.loraquant.stats.StatsTables;

/** The nightly job end to end on local[2], on a generated tiny fleet. */
class RecompressJobTest extends SparkTestBase {
  private static final int SMALL = 6;
  @TempDir static Path shared;
  @TempDir Path temp;
  private static Path fleet;

  @BeforeAll
  static void generateFleet() throws IOException {
    fleet = shared.resolve("fleet");
    JobFixtures.writeFleet(fleet, SMALL);
    JobFixtures.writeIncompleteAdapter(fleet.resolve("uploading/adapter-new"));
  }

  @Test
  void compressesTheFleetWritesStatsAndMatchesTheCommandLine() throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    JobOptions options = JobFixtures.options(fleet, out, stats, JobFixtures.DAY_ONE);
    ProcessedRun processed = CompressionPhase.run(spark(), options);
    // The straggler is cut into its layers and shared out (asserted on the plan the run used).
    Map<String, Long> bytesByAdapter = new TreeMap<>();
    processed
        .tasks()
        .forEach(
            t -> t.layers().forEach(l -> bytesByAdapter.merge(l.adapter(), l.bytes(), Long::sum)));
    long big = bytesByAdapter.get(JobFixtures.BIG);
    long median = bytesByAdapter.values().stream().sorted().toList().get(bytesByAdapter.size() / 2);
    assertThat(big)
        .as("precondition: the big adapter dwarfs the others")
        .isGreaterThan(50 * median);
    long tasksWithBig =
        processed.tasks().stream()
            .filter(t -> t.layers().stream().anyMatch(l -> l.adapter().equals(JobFixtures.BIG)))
            .count();
    assertThat(tasksWithBig).isGreaterThanOrEqualTo(4);
    assertThat(processed.tasks().stream().mapToLong(LayerTask::bytes).max().getAsLong())
        .isLessThan(big / 3);
    // The driver holds each adapter's totals, not its layer reports: those stay on the executors
    // until the stats phase writes the layers rows from them.
    assertThat(processed.outcomes()).allSatisfy(o -> assertThat(o.layers()).isEmpty());
    assertThat(processed.outcomes())
        .filteredOn(o -> o.status() == AdapterStatus.COMPRESSED)
        .hasSize(SMALL + 1)
        .allSatisfy(o -> assertThat(o.totals().layers()).isPositive());
    StatsPhase.run(spark(), options, processed);
    processed.release();

    // Every adapter but the upload in progress has a complete output at the same relative path.
    List<String> adapters =
        processed.inputs().stream().map(DiscoveredAdapter::relativePath).toList();
    assertThat(adapters).hasSize(SMALL + 2).contains(JobFixtures.BIG, "uploading/adapter-new");
    for (String adapter : adapters) {
      boolean complete = Files.exists(out.resolve(adapter).resolve(CompressedFormat.MANIFEST_FILE));
      assertThat(complete).as(adapter).isEqualTo(!adapter.startsWith("uploading"));
    }
    try (Stream<Path> files = Files.walk(out)) {
      assertThat(files.filter(Files::isDirectory).map(p -> p.getFileName().toString()))
          .as("no staging folders left")
          .noneMatch(name -> name.startsWith("."));
    }

    // Byte for byte what `loraquant compress` writes (the manifest differs: run information).
    for (String adapter : List.of(JobFixtures.BIG, adapters.get(1))) {
      Path cli = temp.resolve("cli").resolve(adapter);
      int code =
          Main.run(
              List.of("compress", fleet.resolve(adapter).toString(), cli.toString()),
              JobFixtures.discard(),
              JobFixtures.discard());
      assertThat(code).isZero();
      for (String file : List.of(CompressedFormat.MODEL_FILE, CompressedFormat.CONFIG_FILE)) {
        assertThat(Files.readAllBytes(out.resolve(adapter).resolve(file)))
            .as(adapter + "/" + file)
            .isEqualTo(Files.readAllBytes(cli.resolve(file)));
      }
    }

    // Spark SQL reads the tables back with partition discovery.
    spark().read().parquet(stats.resolve("layers").toString()).createOrReplaceTempView("t_layers");
    spark()
        .read()
        .parquet(stats.resolve("adapters").toString())
        .createOrReplaceTempView("t_adapters");
    List<Row> byStatus =
        spark()
            .sql(
                "SELECT status, count(*), count(DISTINCT run_id), min(recorded_from),"
                    + " max(recorded_from) FROM t_adapters GROUP BY status ORDER BY status")
            .collectAsList();
    assertThat(byStatus.stream().map(Row::toString).toList())
        .containsExactly("[compressed," + (SMALL + 1) + ",1,run,run]", "[incomplete,1,1,run,run]");
    List<LoraModule> compressedLayers =
        JobFixtures.modules(fleet, JobFixtures.compressed(processed));
    long layerCount = compressedLayers.size();
    Row sums =
        spark()
            .sql(
                "SELECT count(*), sum(params), sum(bytes_in), sum(bytes_out), sum(payload_bits),"
                    + " min(CAST(run_date AS STRING)), min(run_id), max(run_id) FROM t_layers")
            .first();
    Row adapterSums =
        spark()
            .sql(
                "SELECT sum(layers), sum(params), sum(payload_bits),"
                    + " sum(bytes_out) FROM t_adapters WHERE status = 'compressed'")
            .first();
    assertThat(sums.getLong(0)).isEqualTo(layerCount);
    assertThat(adapterSums.getLong(0)).isEqualTo(layerCount);
    assertThat(sums.getLong(1)).isEqualTo(adapterSums.getLong(1));
    assertThat(sums.getLong(2))
        .isEqualTo(compressedLayers.stream().mapToLong(LoraModule::bytes).sum());
    assertThat(sums.getLong(4)).isEqualTo(adapterSums.getLong(2));
    assertThat(sums.getString(5)).isEqualTo("2026-03-01");
    assertThat(sums.getString(6)).isEqualTo(options.runId()).isEqualTo(sums.getString(7));
    long outputBytes;
    try (Stream<Path> files = Files.walk(out)) {
      // Hadoop's local file system adds hidden .crc checksum files; they are not the output.
      outputBytes =
          files
              .filter(Files::isRegularFile)
              .filter(p -> !p.getFileName().toString().startsWith("."))
              .mapToLong(p -> p.toFile().length())
              .sum();
    }
    assertThat(adapterSums.getLong(3)).isEqualTo(outputBytes);
    // fixed_file_bytes: exactly the config and manifest files written
    long fixedFileBytes;
    try (Stream<Path> files = Files.walk(out)) {
      fixedFileBytes =
          files
              .filter(
                  p ->
                      p.getFileName().toString().equals(CompressedFormat.CONFIG_FILE)
                          || p.getFileName().toString().equals(CompressedFormat.MANIFEST_FILE))
              .mapToLong(p -> p.toFile().length())
              .sum();
    }
    assertThat(
            spark()
                .sql("SELECT sum(fixed_file_bytes) FROM t_adapters WHERE status = 'compressed'")
                .first()
                .getLong(0))
        .isEqualTo(fixedFileBytes);
    // tensor_bits: the layer records (the layers' effective_bits); overhead_bytes: the rest
    Row tensor =
        spark()
            .sql(
                "SELECT count(*), count_if(a.tensor_bits = l.bits"
                    + " AND a.overhead_bytes = a.bytes_out - a.tensor_bits DIV 8"
                    + " AND a.overhead_bytes > a.fixed_file_bytes"
                    + " AND a.fixed_file_bytes > 0"
                    + " AND abs(a.tensor_bits_per_param - a.tensor_bits / a.params) < 1e-12)"
                    + " FROM t_adapters a JOIN (SELECT adapter, sum(effective_bits) AS bits"
                    + " FROM t_layers GROUP BY adapter) l USING (adapter)"
                    + " WHERE a.status = 'compressed'")
            .first();
    assertThat(tensor.getLong(1)).isEqualTo(tensor.getLong(0)).isEqualTo(SMALL + 1);
    Row incomplete =
        spark()
            .sql(
                "SELECT message, output_run_id, layers, bytes_out FROM t_adapters"
                    + " WHERE status = 'incomplete'")
            .first();
    assertThat(incomplete.getString(0)).contains("adapter_model.safetensors", "upload in progress");
    assertThat(incomplete.isNullAt(1) && incomplete.isNullAt(2) && incomplete.isNullAt(3)).isTrue();

    // DuckDB reads the same files with standard types.
    try (StatsCheck duck = new StatsCheck(stats)) {
      duck.assertInvariants();
      assertThat(duck.count("SELECT count(*) FROM layers")).isEqualTo(layerCount);
      assertThat(duck.rows("SELECT DISTINCT typeof(run_date), typeof(finished_at) FROM adapters"))
          .containsExactly(List.of("DATE", "TIMESTAMP WITH TIME ZONE"));
      assertThat(
              duck.rows(
                  "SELECT typeof(singular_values), typeof(layer_index), typeof(params)"
                      + " FROM layers LIMIT 1"))
          .containsExactly(List.of("FLOAT[]", "INTEGER", "BIGINT"));
      assertThat(duck.count("SELECT count(*) FROM layers WHERE len(singular_values) <> k"))
          .isZero();
    }
  }

  @Test
  void rerunSkipsForceRecompressesAReplacedAdapterIsRedoneAndBadOnesFail() throws Exception {
    Path in = temp.resolve("in");
    JobFixtures.copyTree(fleet, in);
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    int good = SMALL + 1;

    RunSummary first = JobFixtures.run(spark(), JobFixtures.options(in, out, stats, day(0)));
    assertThat(first.compressed()).isEqualTo(good);
    assertThat(first.incomplete()).isEqualTo(1);
    assertThat(first.exitCode()).as("an upload in progress is not a failure").isZero();
    Map<Path, FileTime> dayOneFiles = files(stats);
    assertThat(dayOneFiles).hasSize(2);

    RunSummary second = JobFixtures.run(spark(), JobFixtures.options(in, out, stats, day(1)));
    assertThat(second.skipped()).isEqualTo(good);
    assertThat(second.compressed() + second.failed() + second.reconciled()).isZero();
    try (StatsCheck duck = new StatsCheck(stats)) {
      assertThat(duck.count("SELECT count(DISTINCT run_id) FROM layers")).isEqualTo(1);
      assertThat(
              duck.count(
                  "SELECT count(*) FROM adapters WHERE status = 'skipped'"
                      + " AND output_run_id = '"
                      + first.runId()
                      + "' AND layers IS NOT NULL"))
          .isEqualTo(good);
      // up to date: the config and manifest sizes come from the output listing
      assertThat(
              duck.count(
                  "SELECT count(*) FROM adapters s JOIN adapters c USING (adapter)"
                      + " WHERE s.status = 'skipped' AND c.status = 'compressed'"
                      + " AND s.fixed_file_bytes = c.fixed_file_bytes"
                      + " AND s.fixed_file_bytes > 0"))
          .isEqualTo(good);
      duck.assertInvariants();
    }

    RunSummary forced =
        JobFixtures.run(spark(), JobFixtures.options(in, out, stats, day(2), "--force"));
    assertThat(forced.compressed()).isEqualTo(good);

    // A new upload of one adapter (same bytes, new time) changes its fingerprint.
    Path replaced = in.resolve(JobFixtures.BIG).resolve("adapter_model.safetensors");
    Files.setLastModifiedTime(
        replaced, FileTime.from(Files.getLastModifiedTime(replaced).toInstant().plusSeconds(3600)));
    JobFixtures.writeNanAdapter(in.resolve("tenant-09/adapter-nan"));
    // A head-only adapter (modules_to_save, no LoRA pair) takes the job's path without layer tasks.
    new SyntheticAdapter(7, 8)
        .passThrough("base_model.model.score.weight", DType.F32, 3, 24)
        .writeTo(in.resolve("tenant-09/adapter-head-only"));
    RunSummary fourth = JobFixtures.run(spark(), JobFixtures.options(in, out, stats, day(3)));
    assertThat(fourth.compressed()).isEqualTo(2);
    assertThat(fourth.skipped()).isEqualTo(good - 1);
    assertThat(fourth.failed()).isEqualTo(1);
    assertThat(fourth.exitCode()).isEqualTo(1);
    assertThat(fourth.failures().get("tenant-09/adapter-nan"))
        .contains("lora_A.weight", "1 of 16 values are NaN or infinite");
    assertThat(Files.exists(out.resolve("tenant-09/adapter-nan"))).isFalse();
    assertThat(Files.exists(out.resolve(JobFixtures.BIG).resolve(CompressedFormat.MANIFEST_FILE)))
        .isTrue();
    assertThat(
            Files.exists(
                out.resolve("tenant-09/adapter-head-only").resolve(CompressedFormat.MANIFEST_FILE)))
        .isTrue();

    try (StatsCheck duck = new StatsCheck(stats)) {
      duck.assertInvariants();
      assertThat(duck.rows("SELECT run_id, count(*) FROM layers GROUP BY run_id ORDER BY run_id"))
          .extracting(r -> r.get(0))
          .containsExactly(first.runId(), forced.runId(), fourth.runId());
      assertThat(
              duck.rows(
                  "SELECT output_run_id FROM current_adapters WHERE adapter = '"
                      + JobFixtures.BIG
                      + "'"))
          .containsExactly(List.of(fourth.runId()));
      assertThat(duck.rows("SELECT DISTINCT run_date::VARCHAR FROM adapters ORDER BY 1"))
          .extracting(r -> r.get(0))
          .containsExactly("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04");
      assertThat(
              duck.count(
                  "SELECT count(*) FROM current_adapters WHERE status = 'failed'"
                      + " AND message LIKE '%NaN%' AND output_run_id IS NULL"))
          .isEqualTo(1);
      assertThat(
              duck.count(
                  "SELECT count(*) FROM current_adapters WHERE adapter ="
                      + " 'tenant-09/adapter-head-only' AND status = 'compressed' AND layers = 0"
                      + " AND output_run_id = '"
                      + fourth.runId()
                      + "'"))
          .isEqualTo(1);
    }
    // History is kept: the first day's files are exactly as the first run left them.
    Map<Path, FileTime> now = files(stats);
    dayOneFiles.forEach(
        (file, time) -> assertThat(now.get(file)).as(file.toString()).isEqualTo(time));
  }

  @Test
  void aRunKilledBetweenItsLayersAndAdaptersRowsGetsOnlyTheAdaptersRowsLater() throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    JobOptions killed = JobFixtures.options(fleet, out, stats, day(0));
    ProcessedRun written = CompressionPhase.run(spark(), killed);
    long layers = JobFixtures.modules(fleet, JobFixtures.compressed(written)).size();
    // The layers rows made it, the adapters rows did not (the order StatsPhase appends in).
    new StatsTables(spark(), HadoopFileIO.of(spark().sparkContext()), killed.stats())
        .append(StatsTables.LAYERS, StatsSchema.LAYERS, List.of(), written.layerRows());
    written.release();

    RunSummary next = JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(1)));
    assertThat(next.skipped()).isEqualTo(SMALL + 1);
    assertThat(next.reconciled()).isEqualTo(SMALL + 1);
    try (StatsCheck duck = new StatsCheck(stats)) {
      duck.assertInvariants();
      assertThat(duck.count("SELECT count(*) FROM layers WHERE run_id = '" + killed.runId() + "'"))
          .as("no layers row twice")
          .isEqualTo(layers);
      assertThat(
              duck.count(
                  "SELECT count(*) FROM adapters WHERE run_id = '"
                      + killed.runId()
                      + "' AND recorded_from = 'sidecar' AND status = 'compressed'"))
          .isEqualTo(SMALL + 1);
    }
  }

  @Test
  void aRunKilledBeforeItsStatsIsReconciledFromTheSidecars() throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    JobOptions killed = JobFixtures.options(fleet, out, stats, day(0));
    ProcessedRun written = CompressionPhase.run(spark(), killed);
    long layers = JobFixtures.modules(fleet, JobFixtures.compressed(written)).size();
    // One adapter's write was cut short: its folder is there, its manifest is not.
    String cut = written.inputs().get(0).relativePath();
    long cutLayers = JobFixtures.modules(fleet, List.of(cut)).size();
    Files.delete(out.resolve(cut).resolve(CompressedFormat.MANIFEST_FILE));

    RunSummary next = JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(1)));
    assertThat(next.compressed()).isEqualTo(1);
    assertThat(next.skipped()).isEqualTo(SMALL);
    assertThat(next.reconciled()).isEqualTo(SMALL);
    try (StatsCheck duck = new StatsCheck(stats)) {
      duck.assertInvariants();
      assertThat(
              duck.rows(
                  "SELECT recorded_from, status, run_date::VARCHAR, count(*)"
                      + " FROM adapters WHERE run_id = '"
                      + killed.runId()
                      + "' GROUP BY ALL"))
          .containsExactly(List.of("sidecar", "compressed", "2026-03-01", (long) SMALL));
      assertThat(duck.count("SELECT count(*) FROM layers WHERE run_id = '" + killed.runId() + "'"))
          .isEqualTo(layers - cutLayers);
      assertThat(
              duck.count(
                  "SELECT count(*) FROM layers l JOIN current_adapters a"
                      + " ON l.adapter = a.adapter AND l.run_id = a.output_run_id"))
          .isEqualTo(layers);
    }

    RunSummary third = JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(2)));
    assertThat(third.reconciled()).as("nothing left to reconcile").isZero();
    try (StatsCheck duck = new StatsCheck(stats)) {
      duck.assertInvariants();
      assertThat(duck.count("SELECT count(*) FROM layers")).isEqualTo(layers);
    }
  }

  /**
   * The two tables are committed at once: a run killed or failing between the two commits leaves
   * one table's rows without the other's, in either order. The next run completes the missing
   * table from the sidecars.
   */
  @Test
  void oneTableCommittedWithoutTheOtherIsCompletedByTheNextRun() throws Exception {
    for (String lost : List.of(StatsTables.LAYERS, StatsTables.ADAPTERS)) {
      Path out = temp.resolve(lost + "-out");
      Path stats = temp.resolve(lost + "-stats");
      RunSummary first = JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(0)));
      try (Stream<Path> files = Files.walk(stats.resolve(lost))) {
        for (Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(file);
        }
      }
      RunSummary next = JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(1)));
      assertThat(next.reconciled()).as("reconciled, %s lost", lost).isEqualTo(first.compressed());
      try (StatsCheck duck = new StatsCheck(stats)) {
        duck.assertInvariants();
      }
    }
  }

  @Test
  void refusesAnOutputThatWouldLandAmongTheInputs() {
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    int code =
        RecompressJob.runAndReport(
            spark(),
            JobFixtures.options(fleet, fleet, temp.resolve("stats"), day(0)),
            JobFixtures.discard(),
            new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(RecompressJob.EXIT_USAGE);
    assertThat(err.toString(java.nio.charset.StandardCharsets.UTF_8))
        .contains("is the same as, or inside,", "must be outside the input");
    assertThat(Files.exists(temp.resolve("stats"))).isFalse();
  }

  private static Map<Path, FileTime> files(Path root) throws IOException {
    try (Stream<Path> files = Files.walk(root)) {
      // Data files only: the tables' folders themselves change with every append.
      return files
          .filter(p -> p.getFileName().toString().startsWith("part-"))
          .collect(
              Collectors.toMap(
                  p -> p,
                  p -> {
                    try {
                      return Files.getLastModifiedTime(p);
                    } catch (IOException e) {
                      throw new java.io.UncheckedIOException(e);
                    }
                  }));
    }
  }
}
