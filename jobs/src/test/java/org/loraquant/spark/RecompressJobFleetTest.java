package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.loraquant.spark.JobFixtures.day;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Base64;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.FleetShare;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.LocalFileIO;
import org.loraquant.options.UsageException;
import org.loraquant.safetensors.SafetensorsWriter;
import org.loraquant.stats.AdapterTotals;
import org.loraquant.spark.stage.FleetStage;
import org.loraquant.stats.StatsSchema;

/** The nightly job with one budget over the fleet (issue 20, {@code --budget-scope fleet}). */
class RecompressJobFleetTest extends SparkTestBase {
  @TempDir static Path shared;
  @TempDir Path temp;
  private static Path fleet;

  /** A mixed fleet: adapters of rank 4 and of rank 16 side by side. */
  @BeforeAll
  static void generateFleet() throws IOException {
    fleet = shared.resolve("fleet");
    JobFixtures.generateFleet(fleet.resolve("low"), 2, 4, 3);
    JobFixtures.generateFleet(fleet.resolve("high"), 2, 16, 4);
  }

  @Test
  void oneBudgetOverTheFleetIsSpentAlmostWholeAndRerunsSkip() throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    String[] flags = {"--budget", "1.4", "--budget-scope", "fleet"};
    RunSummary first = JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(0), flags));
    assertThat(first.compressed()).isEqualTo(4);
    assertThat(first.failed()).isZero();

    List<Row> adapters =
        spark().read().schema(StatsSchema.ADAPTERS).parquet(stats.resolve("adapters").toString())
            .collectAsList();
    assertThat(adapters).hasSize(4);
    long params = adapters.stream().mapToLong(r -> (long) r.getAs("params")).sum();
    long bits = adapters.stream().mapToLong(r -> (long) r.getAs("tensor_bits")).sum();
    long budget = (long) Math.floor(1.4 * params);
    assertThat(bits).isLessThanOrEqualTo(budget);
    // The allocator spends within 0.5% of the budget in the codec's count of stored bits (the
    // run's log line); the files hold at most that count (BudgetCompressionResult.Layer), on
    // these tiny layers about 5% less, so the stored bits are within 7% under the budget.
    assertThat((double) bits).isGreaterThanOrEqualTo(0.93 * budget);
    for (Row row : adapters) {
      assertThat((String) row.getAs("budget_scope")).isEqualTo("fleet");
      assertThat((String) row.getAs("budget_weight")).isEqualTo("energy");
      assertThat((Double) row.getAs("budget_lambda")).isPositive();
    }

    // Every stored layer decodes.
    LocalFileIO io = new LocalFileIO();
    int layers = 0;
    for (Row row : adapters) {
      CompressedAdapter stored =
          CompressedAdapterReader.read(io, out.resolve((String) row.getAs("adapter")).toString())
              .adapter();
      assertThat(stored.formatVersion()).isEqualTo(CompressedFormat.BUDGET_FORMAT_VERSION);
      for (CompressedAdapter.Layer layer : stored.layers()) {
        assertThat(layer.decode().toLoraFactors()).isNotNull();
        layers++;
      }
    }
    assertThat(layers).isPositive();

    // The summary's fleet line: the settings, the multiplier and the bits against the budget.
    assertThat(first.fleet().spentBits()).isBetween(bits, budget);
    assertThat(first.lines()).contains(String.format(java.util.Locale.ROOT,
        "fleet budget 1.4 bits per param (scope fleet, weight energy): lambda %.6g, %d bits"
            + " allocated of %d shared (%d budget - 0 stored by 0 skipped adapters)",
        first.fleet().lambda(), first.fleet().spentBits(), budget, budget));

    RunSummary again = JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(1), flags));
    assertThat(again.skipped()).isEqualTo(4);
    assertThat(again.compressed()).isZero();
    assertThat(again.fleet()).isNull();
    assertThat(again.lines()).noneMatch(l -> l.startsWith("fleet budget"));
  }

  /**
   * The incremental rule's refusal, end to end: the adapter that got the most bits per parameter
   * is kept unchanged, the others leave the fleet and a small adapter joins it, so the kept one
   * alone stores more than the budget of the new fleet. The run exits 2 with one line saying by
   * how much, writes nothing and releases its locks.
   */
  @Test
  void unchangedAdaptersOverTheBudgetExitTwoAndWriteNothing() throws Exception {
    Path in = temp.resolve("in");
    JobFixtures.copyTree(fleet, in);
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    String[] flags = {"--budget", "3", "--budget-scope", "fleet"};
    assertThat(JobFixtures.run(spark(), JobFixtures.options(in, out, stats, day(0), flags))
        .compressed()).isEqualTo(4);
    List<Row> rows =
        spark().read().schema(StatsSchema.ADAPTERS).parquet(stats.resolve("adapters").toString())
            .collectAsList();
    Row richest = rows.stream().max(Comparator.comparingDouble(
        r -> (double) (long) r.getAs("tensor_bits") / (long) r.getAs("params"))).orElseThrow();
    String kept = richest.getAs("adapter");
    long keptBits = richest.getAs("tensor_bits");
    long keptParams = richest.getAs("params");
    for (Row r : rows) {
      if (!r.getAs("adapter").equals(kept)) {
        deleteTree(in.resolve((String) r.getAs("adapter")));
      }
    }
    long newParams = writeSmallAdapter(in.resolve("new"));
    long budget = (long) Math.floor(3.0 * (keptParams + newParams));
    assertThat(keptBits).as("the fixture needs the kept adapter over the new budget")
        .isGreaterThan(budget);

    Map<String, String> outBefore = snapshot(out);
    Map<String, String> statsBefore = snapshot(stats);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = RecompressJob.runAndReport(spark(), JobFixtures.options(in, out, stats, day(1), flags),
        JobFixtures.discard(), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(RecompressJob.EXIT_USAGE);
    assertThat(err.toString(StandardCharsets.UTF_8).lines()).singleElement().asString()
        .startsWith("recompress: ")
        .contains(budget + " bits over " + (keptParams + newParams) + " parameters) is "
            + (keptBits - budget) + " bits", "1 unchanged adapters already store (" + keptBits
            + " bits)", "--force");
    assertThat(snapshot(out)).isEqualTo(outBefore);
    assertThat(snapshot(stats)).isEqualTo(statsBefore);
    assertThat(out.resolve("new")).doesNotExist();

    // The locks were released: the next run (re-allocating the whole fleet) goes ahead.
    RunSummary forced = JobFixtures.run(spark(),
        JobFixtures.options(in, out, stats, day(2), "--budget", "3", "--budget-scope", "fleet",
            "--force"));
    assertThat(forced.compressed()).isEqualTo(2);
    assertThat(forced.failed()).isZero();
  }

  /** A valid adapter of one rank-2 q_proj layer (8 x 8): 32 parameters. */
  private static long writeSmallAdapter(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("adapter_config.json"),
        "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\"]}",
        StandardCharsets.UTF_8);
    float[] a = new float[2 * 8];
    float[] b = new float[8 * 2];
    for (int i = 0; i < a.length; i++) {
      a[i] = 0.01f * (i + 1) * (i % 3 == 0 ? -1 : 1);
      b[i] = 0.02f * (16 - i);
    }
    String module = "base_model.model.model.layers.0.self_attn.q_proj";
    Files.write(dir.resolve("adapter_model.safetensors"), new SafetensorsWriter()
        .addF32(module + ".lora_A.weight", new long[] {2, 8}, a)
        .addF32(module + ".lora_B.weight", new long[] {8, 2}, b)
        .toByteArray());
    return 2L * (8 + 8);
  }

  /** Every file under a folder, by relative path, with its bytes. */
  private static Map<String, String> snapshot(Path root) throws IOException {
    Map<String, String> files = new TreeMap<>();
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        if (Files.isRegularFile(p)) {
          files.put(root.relativize(p).toString(),
              Base64.getEncoder().encodeToString(Files.readAllBytes(p)));
        }
      }
    }
    return files;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }

  /** Unchanged adapters storing more than the fleet's budget: exit 2 before any layer is read. */
  @Test
  void aBudgetTheUnchangedAdaptersExceedIsAUsageError() {
    BudgetSettings budget = BudgetSettings.of(1.4).withScope(BudgetScope.FLEET);
    AdapterTotals heavy = new AdapterTotals(2, 1000, 1500, 0.1, "m", 0.1, 1, 1500);
    assertThatThrownBy(() -> FleetStage.share(budget, Map.of("heavy", heavy), Map.of("new", 10L), false))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("1414 bits over 1010 parameters) is 86 bits");
    FleetShare forced = FleetStage.share(budget, Map.of(), Map.of("heavy", 1000L, "new", 10L), true);
    assertThat(forced.sharedBits()).isEqualTo(1414);
    FleetShare share = FleetStage.share(budget, Map.of("heavy", heavy), Map.of("new", 100L), false);
    assertThat(share.sharedBits()).isEqualTo(40);
  }
}
