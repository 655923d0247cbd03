package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.loraquant.spark.JobFixtures.day;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.loraquant.cli.Main;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.testing.UpdateError;
import org.loraquant.stats.StatsSchema;

/** The nightly job in the budget mode (issue 18): outputs, stats and what decides a rerun. */
class RecompressJobBudgetTest extends SparkTestBase {
  private static final int ADAPTERS = 3;
  private static final String BUDGET = "1.4";
  @TempDir static Path shared;
  @TempDir Path temp;
  private static Path fleet;

  @BeforeAll
  static void generateFleet() throws IOException {
    fleet = shared.resolve("fleet");
    JobFixtures.generateFleet(fleet, ADAPTERS, 8, 5);
  }

  private static List<String> adapters(ProcessedRun run) {
    return run.inputs().stream().map(DiscoveredAdapter::relativePath).toList();
  }

  @ParameterizedTest(name = "scope {0}")
  @ValueSource(strings = {"adapter", "layer"})
  void writesWhatCompressWritesAndStatsSayWhatIsStored(String scope) throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    String[] flags = {"--budget", BUDGET, "--budget-scope", scope, "--refit", "1"};
    JobOptions options = JobFixtures.options(fleet, out, stats, day(0), flags);
    ProcessedRun processed = CompressionPhase.run(spark(), options);
    if (scope.equals("adapter")) {
      // One budget over each adapter: each task holds whole adapters (no adapter in two tasks),
      // small ones packed several to a task.
      List<String> adapterOfEachTask =
          processed.tasks().stream()
              .flatMap(t -> t.layers().stream().map(l -> l.adapter()).distinct())
              .toList();
      assertThat(adapterOfEachTask).doesNotHaveDuplicates().hasSize(ADAPTERS);
      assertThat(processed.tasks()).hasSizeLessThan(ADAPTERS);
    }
    StatsPhase.run(spark(), options, processed);
    processed.release();
    List<String> adapters = adapters(processed);
    assertThat(adapters).hasSize(ADAPTERS);

    // Byte for byte what `loraquant compress` writes with the same flags (the manifest differs:
    // run information, timings).
    for (String adapter : adapters) {
      Path cli = temp.resolve("cli").resolve(adapter);
      List<String> args =
          new ArrayList<>(
              List.of("compress", fleet.resolve(adapter).toString(), cli.toString()));
      args.addAll(List.of(flags));
      assertThat(Main.run(args, JobFixtures.discard(), JobFixtures.discard())).isZero();
      for (String file : List.of(CompressedFormat.MODEL_FILE, CompressedFormat.CONFIG_FILE)) {
        assertThat(Files.readAllBytes(out.resolve(adapter).resolve(file)))
            .as(adapter + "/" + file)
            .isEqualTo(Files.readAllBytes(cli.resolve(file)));
      }
    }

    // The measured error of every stored layer (decoded from the output) is what the stats say.
    List<Row> layerRows =
        spark()
            .read()
            .schema(StatsSchema.LAYERS)
            .parquet(stats.resolve("layers").toString())
            .collectAsList();
    Map<String, Row> byLayer = new HashMap<>();
    for (Row row : layerRows) {
      byLayer.put(
          row.getAs("adapter") + " " + row.getAs("module"), row);
    }
    LocalFileIO io = new LocalFileIO();
    int checked = 0;
    for (String adapter : adapters) {
      PeftAdapter source =
          PeftAdapterReader.open(io, fleet.resolve(adapter).toString());
      CompressedAdapter stored =
          CompressedAdapterReader.read(io, out.resolve(adapter).toString()).adapter();
      assertThat(stored.formatVersion()).isEqualTo(CompressedFormat.BUDGET_FORMAT_VERSION);
      for (CompressedAdapter.Layer layer : stored.layers()) {
        Row row = byLayer.get(adapter + " " + layer.module());
        assertThat(row).as(adapter + " " + layer.module()).isNotNull();
        LoraModule module = source.module(layer.module());
        double measured =
            UpdateError.of(
                    PeftAdapterReader.readFactors(source, module), layer.decode().toLoraFactors())
                .relative();
        double said = row.getAs("rel_error");
        assertThat(measured).as(layer.module()).isCloseTo(said, within(1e-6 + 1e-4 * said));
        List<Integer> widths = row.getList(row.fieldIndex("bits_per_component"));
        assertThat(widths).containsExactlyElementsOf(boxed(layer.budget().widths()));
        assertThat((int) row.getAs("components_kept"))
            .isEqualTo((int) widths.stream().filter(w -> w > 0).count());
        assertThat((String) row.getAs("mode")).isEqualTo("budget");
        assertThat((double) row.getAs("budget_bits")).isEqualTo(1.4);
        assertThat((String) row.getAs("budget_scope")).isEqualTo(scope);
        assertThat((String) row.getAs("levels")).isEqualTo("lloyd-max");
        assertThat((int) row.getAs("refit")).isEqualTo(1);
        assertThat((Object) row.getAs("rho")).isNull();
        assertThat((Object) row.getAs("h")).isNull();
        assertThat((Object) row.getAs("singular_values")).isNull();
        checked++;
      }
    }
    assertThat(checked).isEqualTo(layerRows.size()).isPositive();

    // The adapters rows: the budget and what the layers achieved, never above it.
    List<Row> adapterRows =
        spark()
            .read()
            .schema(StatsSchema.ADAPTERS)
            .parquet(stats.resolve("adapters").toString())
            .collectAsList();
    assertThat(adapterRows).hasSize(ADAPTERS);
    for (Row row : adapterRows) {
      assertThat((String) row.getAs("mode")).isEqualTo("budget");
      assertThat((double) row.getAs("budget_bits")).isEqualTo(1.4);
      assertThat((Object) row.getAs("rho")).isNull();
      double achieved = row.getAs("tensor_bits_per_param");
      long layerBits =
          layerRows.stream()
              .filter(l -> l.getAs("adapter").equals(row.getAs("adapter")))
              .mapToLong(l -> l.getAs("effective_bits"))
              .sum();
      assertThat(achieved)
          .isEqualTo((double) layerBits / (long) row.getAs("params"))
          .isLessThanOrEqualTo(1.4)
          .isLessThan((double) row.getAs("effective_bits_per_param"));
    }
    try (StatsCheck duck = new StatsCheck(stats)) {
      duck.assertInvariants();
      assertThat(duck.rows("SELECT typeof(bits_per_component) FROM layers LIMIT 1"))
          .containsExactly(List.of("INTEGER[]"));
    }
  }

  @Test
  void theBudgetIsPartOfTheFingerprintAndPaperOutputsStayCurrent() throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    RunSummary paper = JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(0)));
    assertThat(paper.compressed()).isEqualTo(ADAPTERS);
    // A paper-mode output keeps its fingerprint: the same run again leaves it alone.
    RunSummary paperAgain =
        JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(1)));
    assertThat(paperAgain.skipped()).isEqualTo(ADAPTERS);

    RunSummary budget =
        JobFixtures.run(
            spark(), JobFixtures.options(fleet, out, stats, day(2), "--budget", BUDGET));
    assertThat(budget.compressed()).as("the mode changed").isEqualTo(ADAPTERS);
    RunSummary budgetAgain =
        JobFixtures.run(
            spark(), JobFixtures.options(fleet, out, stats, day(3), "--budget", BUDGET));
    assertThat(budgetAgain.skipped()).as("same budget").isEqualTo(ADAPTERS);
    RunSummary otherScope =
        JobFixtures.run(
            spark(),
            JobFixtures.options(
                fleet, out, stats, day(4), "--budget", BUDGET, "--budget-scope", "layer"));
    assertThat(otherScope.compressed()).as("scope changed").isEqualTo(ADAPTERS);
    RunSummary otherBudget =
        JobFixtures.run(
            spark(),
            JobFixtures.options(
                fleet, out, stats, day(5), "--budget", "1.6", "--budget-scope", "layer"));
    assertThat(otherBudget.compressed()).as("budget changed").isEqualTo(ADAPTERS);

    try (StatsCheck duck = new StatsCheck(stats)) {
      duck.assertInvariants();
      // The skipped rows of a budget run describe the budget outputs they kept.
      assertThat(
              duck.rows(
                  "SELECT status, mode, budget_bits, tensor_bits_per_param <= 1.4 FROM adapters"
                      + " WHERE run_date = DATE '2026-03-04' GROUP BY ALL"))
          .containsExactly(List.of("skipped", "budget", 1.4, true));
      assertThat(
              duck.rows(
                  "SELECT mode, levels, budget_bits IS NULL, bits_high FROM layers"
                      + " WHERE run_date = DATE '2026-03-01' GROUP BY ALL"))
          .containsExactly(List.of("paper", "uniform", true, 2));
    }
  }

  @Test
  void statsOfABudgetRunKilledBeforeItsStatsAreRebuiltFromItsSidecars() throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    JobOptions killed =
        JobFixtures.options(fleet, out, stats, day(0), "--budget", BUDGET, "--levels", "uniform");
    ProcessedRun written = CompressionPhase.run(spark(), killed);
    long layers = JobFixtures.modules(fleet, JobFixtures.compressed(written)).size();
    written.release();

    RunSummary next =
        JobFixtures.run(
            spark(),
            JobFixtures.options(
                fleet, out, stats, day(1), "--budget", BUDGET, "--levels", "uniform"));
    assertThat(next.skipped()).isEqualTo(ADAPTERS);
    assertThat(next.reconciled()).isEqualTo(ADAPTERS);
    try (StatsCheck duck = new StatsCheck(stats)) {
      duck.assertInvariants();
      assertThat(
              duck.rows(
                  "SELECT recorded_from, mode, levels, tensor_bits_per_param <= 1.4, count(*)"
                      + " FROM adapters WHERE run_id = '"
                      + killed.runId()
                      + "' GROUP BY ALL"))
          .containsExactly(List.of("sidecar", "budget", "uniform", true, (long) ADAPTERS));
      assertThat(
              duck.count(
                  "SELECT count(*) FROM layers WHERE mode = 'budget' AND levels = 'uniform'"
                      + " AND budget_scope = 'adapter' AND len(bits_per_component) = k"
                      + " AND run_id = '"
                      + killed.runId()
                      + "'"))
          .isEqualTo(layers);
    }
  }

  @Test
  void aBudgetTooSmallForAnAdapterFailsItWithOneLineNamingItsFile() throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    RunSummary run =
        JobFixtures.run(
            spark(),
            JobFixtures.options(
                fleet, out, stats, day(0), "--budget", "0.01", "--max-failed", "10"));
    assertThat(run.failed()).isEqualTo(ADAPTERS);
    List<Row> failed =
        spark()
            .read()
            .schema(StatsSchema.ADAPTERS)
            .parquet(stats.resolve("adapters").toString())
            .where("status = 'failed'")
            .collectAsList();
    assertThat(failed).hasSize(ADAPTERS);
    for (Row row : failed) {
      assertThat((String) row.getAs("message"))
          .contains("adapter_model.safetensors", "budget mode (--budget 0.01): ")
          .contains("bits the smallest storable form needs")
          .doesNotContain("\n", "Exception");
    }
    // Nothing written for them: no output folder holds a manifest.
    try (java.util.stream.Stream<Path> files = Files.walk(out)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .doesNotContain(CompressedFormat.MANIFEST_FILE);
    }
  }

  private static List<Integer> boxed(int[] values) {
    List<Integer> list = new ArrayList<>();
    for (int v : values) {
      list.add(v);
    }
    return list;
  }
}
