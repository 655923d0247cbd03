package org.loraquant.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.loraquant.spark.JobFixtures.day;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.loraquant.codec.BudgetCodec;
import org.loraquant.codec.BudgetLayerResult;
import org.loraquant.codec.BudgetScope;
import org.loraquant.codec.BudgetSettings;
import org.loraquant.codec.FleetAllocation;
import org.loraquant.codec.FleetAllocator;
import org.loraquant.codec.FleetLayer;
import org.loraquant.codec.FleetShare;
import org.loraquant.codec.LocalFleet;
import org.loraquant.codec.LoraFactors;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.format.CompressedAdapter;
import org.loraquant.format.CompressedAdapterReader;
import org.loraquant.format.CompressedAdapterWriter;
import org.loraquant.format.CompressedFormat;
import org.loraquant.io.LocalFileIO;
import org.loraquant.linalg.LinearAlgebra;
import org.loraquant.options.UsageException;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
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
    // The fleet counts each layer's record exactly as the files store it (FleetLayer.storedBits):
    // the tensor bits are the allocation's count, within 0.5% under the budget.
    assertThat(bits).isEqualTo(first.fleet().spentBits()).isLessThanOrEqualTo(budget);
    assertThat((double) bits).isGreaterThanOrEqualTo(0.995 * budget);
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

  /**
   * The input is read once (the measured layers are persisted until they are encoded), and the
   * stored bytes are those of the two-pass path it replaced: every layer measured from its
   * factors, the fleet allocated over the tables, every layer read, measured and encoded again at
   * its widths. On the mixed fleet plus an adapter with a NaN factor, which fails alone.
   */
  @ParameterizedTest
  @ValueSource(strings = {"energy", "adapter"})
  void oneReadStoresTheBytesOfTheTwoPassPath(String weight) throws Exception {
    Path in = temp.resolve("in");
    JobFixtures.copyTree(fleet, in);
    JobFixtures.writeNanAdapter(in.resolve("broken"));
    Path out = temp.resolve("out");
    JobOptions options = JobFixtures.options(in, out, temp.resolve("stats"), day(0), "--budget",
        "1.4", "--budget-scope", "fleet", "--budget-weight", weight);

    long readBefore = bytesReadFromHadoop();
    RunSummary run = JobFixtures.run(spark(), options);
    long read = bytesReadFromHadoop() - readBefore;
    assertThat(run.compressed()).isEqualTo(4);
    assertThat(run.failed()).isEqualTo(1);
    // As much as scope adapter reads, which reads every factor once (plus configs, headers,
    // pass-through tensors and what the stats phase reads); the two-pass path read them twice.
    // Scope adapter opens every adapter first here, as scope fleet does: reading small adapters
    // whole (--whole-file-bytes) would read their headers' bytes only once, which scope fleet,
    // needing every header on the driver, does not.
    readBefore = bytesReadFromHadoop();
    assertThat(JobFixtures.run(spark(), JobFixtures.options(in, temp.resolve("out-adapter"),
        temp.resolve("stats-adapter"), day(0), "--budget", "1.4", "--whole-file-bytes", "0"))
        .compressed()).isEqualTo(4);
    long readOnce = bytesReadFromHadoop() - readBefore;
    long factorBytes = loraFactorBytes(in);
    assertThat(read).as("bytes read; scope adapter %d, LoRA factors %d", readOnce, factorBytes)
        .isLessThan(readOnce + factorBytes / 4);

    Map<String, byte[]> expected = twoPassModelFiles(in, options.budget());
    assertThat(expected).hasSize(4);
    for (Map.Entry<String, byte[]> e : expected.entrySet()) {
      assertThat(Files.readAllBytes(out.resolve(e.getKey()).resolve(CompressedFormat.MODEL_FILE)))
          .as(e.getKey()).isEqualTo(e.getValue());
    }
    assertThat(out.resolve("broken")).doesNotExist();
  }

  /**
   * A failing adapter takes no bits (docs/ALGORITHM.md, "Fleet budget"): an adapter whose layers
   * are healthy but one (a NaN) fails and will not be written, so its healthy layers take no part
   * in the allocation and its parameters leave the budget. The others get what a run over them
   * alone gets: the same lambda and bits, the same model files byte for byte, within their budget.
   */
  @ParameterizedTest
  @ValueSource(strings = {"energy", "adapter"})
  void aFailingAdapterTakesNoBits(String weight) throws Exception {
    Path in = temp.resolve("in");
    JobFixtures.copyTree(fleet, in);
    String broken = writeAdapterWithOneNanLayer(in.resolve("broken"));
    String[] flags = {"--budget", "1.4", "--budget-scope", "fleet", "--budget-weight", weight};
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    RunSummary withBroken =
        JobFixtures.run(spark(), JobFixtures.options(in, out, stats, day(0), flags));
    Path outAlone = temp.resolve("out-alone");
    RunSummary alone = JobFixtures.run(spark(),
        JobFixtures.options(fleet, outAlone, temp.resolve("stats-alone"), day(0), flags));

    assertThat(withBroken.compressed()).isEqualTo(4);
    assertThat(withBroken.failed()).isEqualTo(1);
    assertThat(alone.compressed()).isEqualTo(4);
    assertThat(out.resolve(broken)).doesNotExist();
    // Its failure is the NaN layer's, alone: its healthy layers were not encoded, not failed.
    assertThat(withBroken.failures().get(broken))
        .doesNotContain("no widths", "more layers failed");
    assertThat(withBroken.fleet().share().leftOut()).containsExactly(broken);
    assertThat(withBroken.fleet().share().sharedBits())
        .isEqualTo(alone.fleet().share().sharedBits());
    assertThat(Double.doubleToRawLongBits(withBroken.fleet().lambda()))
        .isEqualTo(Double.doubleToRawLongBits(alone.fleet().lambda()));
    assertThat(withBroken.fleet().spentBits()).isEqualTo(alone.fleet().spentBits());
    Map<String, PeftAdapter> others = adapters(fleet);
    assertThat(others).hasSize(4);
    for (String adapter : others.keySet()) {
      assertThat(Files.readAllBytes(out.resolve(adapter).resolve(CompressedFormat.MODEL_FILE)))
          .as(adapter)
          .isEqualTo(
              Files.readAllBytes(outAlone.resolve(adapter).resolve(CompressedFormat.MODEL_FILE)));
    }

    List<Row> written =
        spark().read().schema(StatsSchema.ADAPTERS).parquet(stats.resolve("adapters").toString())
            .filter("status = 'compressed'").collectAsList();
    assertThat(written).hasSize(4);
    long params = written.stream().mapToLong(r -> (long) r.getAs("params")).sum();
    long bits = written.stream().mapToLong(r -> (long) r.getAs("tensor_bits")).sum();
    assertThat(bits).isEqualTo(withBroken.fleet().spentBits())
        .isLessThanOrEqualTo((long) Math.floor(1.4 * params));
    assertThat(withBroken.lines()).anyMatch(l -> l.startsWith("fleet budget")
        && l.contains("skipped adapters); 1 failed adapters left out of the allocation"));
  }

  /**
   * A generated adapter (tiny shape, rank 8) with a NaN in one layer's factors, the others
   * healthy; its relative path under the input root of {@code dir}'s parent.
   */
  private static String writeAdapterWithOneNanLayer(Path dir) throws IOException {
    JobFixtures.generateFleet(dir, 1, 8, 11);
    Map<String, PeftAdapter> generated = adapters(dir);
    assertThat(generated).hasSize(1);
    Map.Entry<String, PeftAdapter> adapter = generated.entrySet().iterator().next();
    List<LoraModule> modules = adapter.getValue().modules();
    assertThat(modules).hasSizeGreaterThan(2);
    // The last layer's A starts with 0xFFFFFFFF: a NaN whatever the dtype (F32, BF16, F16).
    LoraModule last = modules.get(modules.size() - 1);
    org.loraquant.safetensors.TensorInfo a = adapter.getValue().header().tensors()
        .stream().filter(t -> t.name().contains(last.module()) && t.name().contains("lora_A"))
        .findFirst().orElseThrow();
    Path weights = dir.resolve(adapter.getKey()).resolve("adapter_model.safetensors");
    try (java.nio.channels.FileChannel file =
        java.nio.channels.FileChannel.open(weights, java.nio.file.StandardOpenOption.WRITE)) {
      file.write(java.nio.ByteBuffer.wrap(new byte[] {-1, -1, -1, -1}), a.absoluteBegin());
    }
    return dir.getFileName() + "/" + adapter.getKey();
  }

  /**
   * The local file system, except that opening one file (a test's adapter weights) moves its
   * modification time a minute past what discovery saw: a new upload of the same bytes during
   * the run, which only the assembly's listing sees.
   */
  public static final class ReplacingLocalFileSystem extends org.apache.hadoop.fs.LocalFileSystem {
    static volatile java.nio.file.Path replaced;
    static volatile java.nio.file.attribute.FileTime uploadedAt;

    @Override
    public org.apache.hadoop.fs.FSDataInputStream open(org.apache.hadoop.fs.Path f, int bufferSize)
        throws IOException {
      java.nio.file.Path target = replaced;
      if (target != null && pathToFile(f).toPath().toAbsolutePath().equals(target)) {
        Files.setLastModifiedTime(target, uploadedAt);
      }
      return super.open(f, bufferSize);
    }
  }

  /**
   * An adapter replaced during the run (the same bytes uploaded again after discovery, seen by
   * the assembly's listing after the allocation): it is reported incomplete and nothing of it is
   * written; the others are written within the budget, which is the whole fleet's (the change
   * came too late to give its bits back, so they are under it by its share). The next run
   * compresses the new version and skips the others, and the fleet is within the budget.
   */
  @Test
  void anAdapterReplacedDuringTheRunIsIncompleteAndTheOthersStayWithinTheBudget() throws Exception {
    Path in = temp.resolve("in");
    JobFixtures.copyTree(fleet, in);
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    String[] flags = {"--budget", "1.4", "--budget-scope", "fleet"};
    String changed = adapters(in).keySet().iterator().next();
    Path weights = in.resolve(changed).resolve("adapter_model.safetensors").toAbsolutePath();
    org.apache.hadoop.conf.Configuration conf = spark().sparkContext().hadoopConfiguration();
    RunSummary first;
    try {
      ReplacingLocalFileSystem.uploadedAt = java.nio.file.attribute.FileTime.fromMillis(
          Files.getLastModifiedTime(weights).toMillis() + 60_000);
      ReplacingLocalFileSystem.replaced = weights;
      conf.set("fs.file.impl", ReplacingLocalFileSystem.class.getName());
      conf.setBoolean("fs.file.impl.disable.cache", true);
      first = JobFixtures.run(spark(), JobFixtures.options(in, out, stats, day(0), flags));
    } finally {
      conf.unset("fs.file.impl");
      conf.unset("fs.file.impl.disable.cache");
      ReplacingLocalFileSystem.replaced = null;
    }
    assertThat(Files.getLastModifiedTime(weights)).as("the run read the adapter")
        .isEqualTo(ReplacingLocalFileSystem.uploadedAt);
    assertThat(first.compressed()).isEqualTo(3);
    assertThat(first.incomplete()).isEqualTo(1);
    assertThat(first.failed()).isZero();
    // Nothing of it under the output root, no staging left behind.
    assertThat(snapshot(out).keySet())
        .noneMatch(f -> f.startsWith(changed) || f.contains("loraquant-staging"));

    List<Row> rows =
        spark().read().schema(StatsSchema.ADAPTERS).parquet(stats.resolve("adapters").toString())
            .collectAsList();
    Row incomplete = rows.stream().filter(r -> r.getAs("adapter").equals(changed)).findFirst()
        .orElseThrow();
    assertThat((String) incomplete.getAs("status")).isEqualTo("incomplete");
    assertThat((String) incomplete.getAs("message"))
        .contains("adapter_model.safetensors was rewritten", "while this run was reading");
    List<Row> written = rows.stream().filter(r -> "compressed".equals(r.getAs("status"))).toList();
    assertThat(written).hasSize(3);
    long bits = written.stream().mapToLong(r -> (long) r.getAs("tensor_bits")).sum();
    long params = 0;
    for (PeftAdapter a : adapters(in).values()) {
      for (LoraModule m : a.modules()) {
        params += m.params();
      }
    }
    // Allocated over the four; the changed one's bits are not in the files.
    assertThat(first.fleet().share().budgetBits()).isEqualTo((long) Math.floor(1.4 * params));
    assertThat(bits).isLessThan(first.fleet().spentBits())
        .isLessThanOrEqualTo(first.fleet().share().budgetBits());

    RunSummary second =
        JobFixtures.run(spark(), JobFixtures.options(in, out, stats, day(1), flags));
    assertThat(second.compressed()).isEqualTo(1);
    assertThat(second.skipped()).isEqualTo(3);
    assertThat(second.fleet().share().toCompress()).containsExactly(changed);
    // What the fleet stores now: three outputs of the first run, one of the second.
    List<Row> stored =
        spark().read().schema(StatsSchema.ADAPTERS).parquet(stats.resolve("adapters").toString())
            .filter("status = 'compressed'").collectAsList();
    assertThat(stored).hasSize(4);
    assertThat(stored.stream().mapToLong(r -> (long) r.getAs("tensor_bits")).sum())
        .isLessThanOrEqualTo((long) Math.floor(1.4 * params));
  }

  /**
   * Weight adapter's rounds that stop at their limit with adapters above their cap say so in the
   * run summary (FleetAllocation.overCap; the allocator's case is in FleetAllocatorTest).
   */
  @Test
  void aCapTheRoundsDidNotMeetIsInTheSummaryLine() {
    BudgetSettings budget = BudgetSettings.of(1.4).withScope(BudgetScope.FLEET);
    FleetShare share = FleetStage.share(budget, Map.of(), Map.of("a", 100L, "b", 100L), false);
    FleetRun stopped = new FleetRun(budget, share, 1e-6, 270, FleetAllocator.MAX_CAP_ROUNDS,
        Map.of("a", 1.25, "b", 1.5));
    assertThat(stopped.summaryLine()).endsWith("(280 budget - 0 stored by 0 skipped adapters);"
        + " weight adapter's cap NOT met: the rounds stopped at their limit of 60 with 2 adapters"
        + " above their cap (1.1x their own adapter-scope error; worst b at 1.500x its cap)");
    FleetRun met = new FleetRun(budget, share, 1e-6, 270, 12, Map.of());
    assertThat(met.summaryLine()).endsWith("(280 budget - 0 stored by 0 skipped adapters)");
  }

  /**
   * The fleet scope as it was before the input was read once, in memory: each layer measured
   * ({@link FleetLayer#measure}; an adapter with a layer that cannot be is left out, its
   * parameters too), the weighted fleet allocated within the budget of the rest, each layer
   * measured again from its factors and encoded at its widths, each adapter assembled. The model
   * file of each adapter, by relative path.
   */
  private static Map<String, byte[]> twoPassModelFiles(Path in, BudgetSettings budget)
      throws IOException {
    LocalFileIO io = new LocalFileIO();
    LinearAlgebra linalg = LinearAlgebra.current();
    Map<String, PeftAdapter> adapters = adapters(in);
    List<FleetLayer> measured = new ArrayList<>();
    long params = 0;
    for (Map.Entry<String, PeftAdapter> a : adapters.entrySet()) {
      List<FleetLayer> itsLayers = new ArrayList<>();
      long itsParams = 0;
      try {
        for (LoraModule m : a.getValue().modules()) {
          itsParams += m.params();
          itsLayers.add(FleetLayer.measure(a.getKey(), m.module(),
              PeftAdapterReader.readFactors(a.getValue(), m), budget.levels(),
              budget.groupSize(), linalg));
        }
      } catch (RuntimeException e) {
        continue; // the adapter fails: no bits, no parameters
      }
      measured.addAll(itsLayers);
      params += itsParams;
    }
    List<FleetLayer> weighted = FleetAllocator.weighted(measured, budget.weight());
    FleetAllocation allocation = FleetAllocator.allocate(LocalFleet.of(weighted),
        (long) Math.floor(budget.budgetBits() * params), budget.weight(), budget.budgetBits());
    Map<String, byte[]> files = new TreeMap<>();
    for (Map.Entry<String, PeftAdapter> a : adapters.entrySet()) {
      Map<String, BudgetLayerResult> byModule = new TreeMap<>();
      try {
        for (LoraModule m : a.getValue().modules()) {
          FleetLayer layer = weighted.stream()
              .filter(l -> l.adapter().equals(a.getKey()) && l.module().equals(m.module()))
              .findFirst().orElseThrow();
          LoraFactors factors = PeftAdapterReader.readFactors(a.getValue(), m);
          byModule.put(m.module(), BudgetCodec.encode(factors,
              BudgetCodec.measure(factors, budget, linalg), allocation.widths(layer), budget,
              linalg));
        }
      } catch (RuntimeException e) {
        continue; // the adapter fails
      }
      files.put(a.getKey(), CompressedAdapterWriter.modelBytes(
          AdapterCompressor.assembleBudget(a.getValue(), budget, byModule).adapter()));
    }
    return files;
  }

  /** Every adapter folder under {@code root} (a folder with a config), by relative path. */
  private static Map<String, PeftAdapter> adapters(Path root) throws IOException {
    Map<String, PeftAdapter> adapters = new TreeMap<>();
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        if (p.getFileName().toString().equals("adapter_config.json")) {
          adapters.put(root.relativize(p.getParent()).toString(),
              PeftAdapterReader.open(new LocalFileIO(), p.getParent().toString()));
        }
      }
    }
    return adapters;
  }

  /** Bytes of the LoRA factors of every adapter under {@code root}, from their headers. */
  private static long loraFactorBytes(Path root) throws IOException {
    long bytes = 0;
    for (PeftAdapter a : adapters(root).values()) {
      for (LoraModule m : a.modules()) {
        bytes += m.bytes();
      }
    }
    return bytes;
  }

  /** Bytes read so far through Hadoop's file systems in this JVM (the job's, on local[2]). */
  @SuppressWarnings("deprecation")
  private static long bytesReadFromHadoop() {
    long bytes = 0;
    for (org.apache.hadoop.fs.FileSystem.Statistics s :
        org.apache.hadoop.fs.FileSystem.getAllStatistics()) {
      bytes += s.getBytesRead();
    }
    return bytes;
  }

  /**
   * A budget below the smallest storable form of the layers to compress is refused from their
   * headers, before any layer is read: exit 2, one line naming the budget and the minimum,
   * nothing written, the locks released.
   */
  @Test
  void aBudgetBelowTheSmallestStorableFormExitsTwoBeforeAnyLayerIsRead() throws Exception {
    Path out = temp.resolve("out");
    Path stats = temp.resolve("stats");
    String[] fits = {"--budget", "1.4", "--budget-scope", "fleet"};
    assertThat(JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(0), fits))
        .compressed()).isEqualTo(4);
    List<FleetLayer.Shape> shapes = new ArrayList<>();
    long params = 0;
    for (PeftAdapter a : adapters(fleet).values()) {
      for (LoraModule m : a.modules()) {
        shapes.add(new FleetLayer.Shape(m.m(), m.n(), m.rank()));
        params += m.params();
      }
    }
    int layers = shapes.size();
    long smallest = FleetLayer.smallestStorableBits(shapes, BudgetSettings.DEFAULT_LEVELS,
        org.loraquant.codec.CodecSettings.DEFAULT_GROUP_SIZE);
    long budget = (long) Math.floor(0.01 * params);
    assertThat(smallest).isGreaterThan(budget);

    Map<String, String> outBefore = snapshot(out);
    Map<String, String> statsBefore = snapshot(stats);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    long readBefore = bytesReadFromHadoop();
    // A new budget: every adapter is to compress again, and the whole budget is theirs.
    int code = RecompressJob.runAndReport(spark(),
        JobFixtures.options(fleet, out, stats, day(1), "--budget", "0.01", "--budget-scope",
            "fleet"),
        JobFixtures.discard(), new PrintStream(err, true, StandardCharsets.UTF_8));
    long read = bytesReadFromHadoop() - readBefore;
    assertThat(code).isEqualTo(RecompressJob.EXIT_USAGE);
    assertThat(err.toString(StandardCharsets.UTF_8).lines()).singleElement().asString()
        .startsWith("recompress: --budget 0.01 --budget-scope fleet: the 4 adapters to compress"
            + " share " + budget + " bits")
        .contains((smallest - budget) + " bits short of the " + smallest + " bits",
            "of their " + layers + " layers",
            "the smallest budget that fits is "
                + BigDecimal.valueOf(smallest).divide(BigDecimal.valueOf(params), 4,
                    RoundingMode.CEILING).stripTrailingZeros().toPlainString()
                + " bits per parameter");
    assertThat(snapshot(out)).isEqualTo(outBefore);
    assertThat(snapshot(stats)).isEqualTo(statsBefore);

    // The locks were released: the next run goes ahead (and finds every adapter up to date).
    readBefore = bytesReadFromHadoop();
    assertThat(JobFixtures.run(spark(), JobFixtures.options(fleet, out, stats, day(2), fits))
        .skipped()).isEqualTo(4);
    long readSkipping = bytesReadFromHadoop() - readBefore;
    // No layer was read: the refused run read what a run that skips everything reads (the
    // outputs' manifests, the stats) and what opening the adapters reads (configs and headers,
    // with the file system's read-ahead most of these small files), not all of their factors.
    assertThat(read).as("bytes read by the refused run; a run reading no layer: %d", readSkipping)
        .isLessThan(readSkipping + loraFactorBytes(fleet));
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

  /**
   * The refusal from the headers counts what the skipped adapters store: the smallest budget
   * that fits must leave the smallest storable form after them.
   */
  @Test
  void theSmallestFormIsCheckedAgainstTheShareLeftAfterTheSkippedAdapters() {
    BudgetSettings budget = BudgetSettings.of(1.4).withScope(BudgetScope.FLEET);
    AdapterTotals kept = new AdapterTotals(2, 1000, 1000, 0.1, "m", 0.1, 1, 1000);
    FleetShare share = FleetStage.share(budget, Map.of("kept", kept), Map.of("new", 100L), false);
    assertThat(share.sharedBits()).isEqualTo(540);
    FleetStage.requireSmallestForm(budget, share, 540, 3);
    // (541 + 1000) / 1100 = 1.40090..., rounded up: 1.401.
    assertThatThrownBy(() -> FleetStage.requireSmallestForm(budget, share, 541, 3))
        .isInstanceOf(UsageException.class)
        .hasMessage("--budget 1.4 --budget-scope fleet: the 1 adapters to compress share 540 bits"
            + " of the fleet's budget, 1 bits short of the 541 bits the smallest storable form of"
            + " their 3 layers needs (side information and each layer's first component at 2"
            + " bits); the smallest budget that fits is 1.401 bits per parameter");
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
