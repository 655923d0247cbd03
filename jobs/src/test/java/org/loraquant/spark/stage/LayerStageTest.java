package org.loraquant.spark.stage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.CodecSettings;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.fleet.ModelShape;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.io.LocalFileIO;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.plan.LayerPlanner;
import org.loraquant.plan.LayerTask;
import org.loraquant.hadoop.AdapterDiscovery;
import org.loraquant.spark.JobOptions;
import org.loraquant.hadoop.OutputFileIO;
import org.loraquant.plan.LayerWork;
import org.loraquant.plan.RunPlanner;

/**
 * The open and layer stages without Spark, counting their requests: an adapter is opened with two
 * reads (config, header), and a task reads its layers of an adapter in merged ranges, one read per
 * range, never the config or header again.
 */
class LayerStageTest {
  @TempDir Path temp;

  @Test
  void openingReadsTheConfigAndTheHeaderOnceAndNothingElse() throws IOException {
    Fixture f = new Fixture(temp, JobOptions.DEFAULT_MAX_READ_BYTES);

    OpenOutcome opened = f.open();

    assertThat(opened.opened()).isTrue();
    // No LIST (discovery listed the folder), no HEAD (the listing gave the lengths).
    assertThat(opened.requests()).isEqualTo(
        new StorageRequests(0, 2, 0, 0, opened.requests().bytesRead()));
    assertThat(opened.layers()).isNotEmpty();
  }

  @Test
  void aTaskReadsAllItsLayersOfAnAdapterInOneRequest() throws IOException {
    Fixture f = new Fixture(temp, JobOptions.DEFAULT_MAX_READ_BYTES);
    OpenOutcome opened = f.open();
    List<LayerTask> tasks = new LayerPlanner(1, 1000, Long.MAX_VALUE).plan(opened.layers());
    assertThat(tasks).hasSize(1);

    List<LayerOutcome> outcomes = f.compress(opened, tasks.get(0));

    StorageRequests reads = StorageRequests.NONE;
    for (LayerOutcome o : outcomes) {
      assertThat(o.error()).isNull();
      reads = reads.plus(o.requests());
    }
    assertThat(reads.gets()).isEqualTo(1);
    assertThat(reads.total()).isEqualTo(1);
    long tensorBytes = opened.layers().stream().mapToLong(l -> l.bytes()).sum();
    assertThat(reads.bytesRead()).isEqualTo(tensorBytes); // the factors lie side by side
    f.assertSameAsCompressingAlone(outcomes);
  }

  @Test
  void readsAreBoundedByTheReadSize() throws IOException {
    // A read size below one tensor: every layer's two factors (side by side) are a read of their
    // own, nothing more merged.
    Fixture f = new Fixture(temp, 1);
    OpenOutcome opened = f.open();
    LayerTask task = new LayerPlanner(1, 1000, Long.MAX_VALUE).plan(opened.layers()).get(0);

    List<LayerOutcome> outcomes = f.compress(opened, task);

    long gets = outcomes.stream().mapToLong(o -> o.requests().gets()).sum();
    assertThat(gets).isEqualTo(opened.layers().size());
    f.assertSameAsCompressingAlone(outcomes);
  }

  /**
   * A read size of one and a half layers: reads must end between layers, never between a layer's
   * two factors, or reading lora_B before lora_A reloads the read before it, and then the next.
   */
  @Test
  void noByteIsReadTwiceWhenTheReadSizeFallsInsideALayer() throws IOException {
    Fixture probe = new Fixture(temp.resolve("probe"), JobOptions.DEFAULT_MAX_READ_BYTES);
    long layerBytes = probe.open().layers().get(0).bytes();
    Fixture f = new Fixture(temp.resolve("f"), layerBytes * 3 / 2);
    OpenOutcome opened = f.open();
    LayerTask task = new LayerPlanner(1, 1000, Long.MAX_VALUE).plan(opened.layers()).get(0);

    List<LayerOutcome> outcomes = f.compress(opened, task);

    long bytes = outcomes.stream().mapToLong(o -> o.requests().bytesRead()).sum();
    long tensorBytes = opened.layers().stream().mapToLong(l -> l.bytes()).sum();
    assertThat(bytes).isEqualTo(tensorBytes);
    f.assertSameAsCompressingAlone(outcomes);
  }

  /**
   * Two adapters in one task, every layer a read of its own, read ahead: the second adapter's
   * first read is made while the first's last layer compresses, yet each adapter is counted
   * exactly its own reads and bytes. Its weights file cut short after opening, the second adapter
   * fails (its layers name the file) and the first is untouched.
   */
  @Test
  void readsAheadAcrossAdaptersCountingEachItsOwnAndFailingOnlyTheOneThatCannotBeRead()
      throws IOException {
    Fixture f = new Fixture(temp, 1, 2);
    OpenOutcome first = f.open(0);
    OpenOutcome second = f.open(1);
    List<LayerWork> layers = new ArrayList<>(first.layers());
    layers.addAll(second.layers());
    List<LayerTask> tasks = new LayerPlanner(1, 1000, Long.MAX_VALUE).plan(layers);
    assertThat(tasks).hasSize(1);

    List<LayerOutcome> outcomes = f.compress(List.of(first, second), tasks.get(0));

    assertThat(outcomes).hasSize(layers.size());
    for (OpenOutcome adapter : List.of(first, second)) {
      List<LayerOutcome> mine =
          outcomes.stream().filter(o -> o.adapter().equals(adapter.adapter())).toList();
      StorageRequests reads =
          mine.stream().map(LayerOutcome::requests).reduce(StorageRequests.NONE, StorageRequests::plus);
      assertThat(reads.gets()).isEqualTo(adapter.layers().size());
      assertThat(reads.bytesRead())
          .isEqualTo(adapter.layers().stream().mapToLong(LayerWork::bytes).sum());
      f.assertSameAsCompressingAlone(f.discovered(adapter.adapter()), mine);
    }

    // The second adapter's file loses its last byte after opening.
    Path weights =
        Path.of(java.net.URI.create(f.discovered(second.adapter()).location()))
            .resolve(PeftAdapterReader.WEIGHTS_FILE);
    byte[] bytes = Files.readAllBytes(weights);
    Files.write(weights, Arrays.copyOf(bytes, bytes.length - 1));

    List<LayerOutcome> again = f.compress(List.of(first, second), tasks.get(0));

    List<LayerOutcome> failed =
        again.stream().filter(o -> o.adapter().equals(second.adapter())).toList();
    assertThat(failed).isNotEmpty();
    assertThat(failed.stream().filter(o -> o.error() != null)).isNotEmpty();
    assertThat(failed.stream().filter(o -> o.error() != null).map(LayerOutcome::error))
        .allMatch(e -> e.contains(PeftAdapterReader.WEIGHTS_FILE), "names the weights file");
    f.assertSameAsCompressingAlone(
        f.discovered(first.adapter()),
        again.stream().filter(o -> o.adapter().equals(first.adapter())).toList());
  }

  /**
   * A small adapter held whole is opened by its task: one read of its config, one of its whole
   * weights file, nothing else and no byte twice; its own outcome comes first and carries what
   * the open stage would have read, and its layers are the command line's.
   */
  @Test
  void aSmallAdapterIsOpenedInItsTaskWithOneReadOfItsConfigAndOneOfItsWholeFile()
      throws IOException {
    Fixture f = new Fixture(temp, JobOptions.DEFAULT_MAX_READ_BYTES, 2);

    List<LayerOutcome> outcomes = f.compressWhole(f.wholeTask());

    for (DiscoveredAdapter adapter : f.adapters) {
      List<LayerOutcome> mine =
          outcomes.stream().filter(o -> o.adapter().equals(adapter.relativePath())).toList();
      LayerOutcome own = mine.get(0);
      assertThat(own.isAdapterOutcome()).isTrue();
      assertThat(own.error()).isNull();
      assertThat(own.openedInTask().opened())
          .isEqualTo(f.open(f.adapters.indexOf(adapter)).openedAdapter());
      assertThat(mine.subList(1, mine.size())).noneMatch(LayerOutcome::isAdapterOutcome);
      StorageRequests reads =
          mine.stream().map(LayerOutcome::requests).reduce(StorageRequests.NONE, StorageRequests::plus);
      long fileBytes =
          adapter.file("adapter_config.json").size()
              + adapter.file(PeftAdapterReader.WEIGHTS_FILE).size();
      assertThat(reads).isEqualTo(new StorageRequests(0, 2, 0, 0, fileBytes));
      f.assertSameAsCompressingAlone(adapter, mine.subList(1, mine.size()));
    }
  }

  /**
   * Bad input in a small adapter fails that adapter alone, in its task, with the open stage's
   * message and status: a header length over the cap, a file cut short inside its header, a
   * config that is not JSON. Its task's other adapter is compressed as if alone.
   */
  @Test
  void aBrokenSmallAdapterFailsAloneWithTheOpenStagesMessageAndStatus() throws IOException {
    Fixture f = new Fixture(temp, JobOptions.DEFAULT_MAX_READ_BYTES, 4);
    Path hugeHeader = f.folder(f.adapters.get(1)).resolve(PeftAdapterReader.WEIGHTS_FILE);
    byte[] bytes = Files.readAllBytes(hugeHeader);
    Arrays.fill(bytes, 0, 8, (byte) 0x7f);
    Files.write(hugeHeader, bytes);
    Path cut = f.folder(f.adapters.get(2)).resolve(PeftAdapterReader.WEIGHTS_FILE);
    Files.write(cut, Arrays.copyOf(Files.readAllBytes(cut), 100));
    Files.writeString(f.folder(f.adapters.get(3)).resolve("adapter_config.json"), "{not json");
    f.discover();

    List<LayerOutcome> outcomes = f.compressWhole(f.wholeTask());

    for (DiscoveredAdapter broken : f.adapters.subList(1, 4)) {
      List<LayerOutcome> mine =
          outcomes.stream().filter(o -> o.adapter().equals(broken.relativePath())).toList();
      OpenOutcome openStage = OpenStage.open(f.context, broken.relativePath());
      assertThat(openStage.opened()).as("precondition: the open stage refuses it").isFalse();
      assertThat(mine).singleElement().satisfies(own -> {
        assertThat(own.isAdapterOutcome()).isTrue();
        assertThat(own.openedInTask()).isNull();
        assertThat(own.error()).isEqualTo(openStage.message());
        assertThat(own.errorStatus()).isEqualTo(openStage.status());
        assertThat(own.requests().gets()).isBetween(1L, 2L);
      });
    }
    DiscoveredAdapter good = f.adapters.get(0);
    List<LayerOutcome> mine =
        outcomes.stream().filter(o -> o.adapter().equals(good.relativePath())).toList();
    assertThat(mine.get(0).error()).isNull();
    f.assertSameAsCompressingAlone(good, mine.subList(1, mine.size()));
  }

  private static final class Fixture {
    final HadoopFileIO io = new HadoopFileIO(new Configuration());
    final Path inputRoot;
    final long maxReadBytes;
    final Path temp;
    List<DiscoveredAdapter> adapters;
    DiscoveredAdapter discovered;
    JobContext context;

    Fixture(Path temp, long maxReadBytes) throws IOException {
      this(temp, maxReadBytes, 1);
    }

    Fixture(Path temp, long maxReadBytes, int adapterCount) throws IOException {
      this.temp = temp;
      this.maxReadBytes = maxReadBytes;
      inputRoot = temp.resolve("in");
      new FleetGenerator(
              new LocalFileIO(), new FleetGenerator.Options(adapterCount, ModelShape.TINY, 8, 5))
          .generate(inputRoot.toString());
      discover();
    }

    /** Lists the input (again: after a test changed it) and makes the run's context from it. */
    void discover() throws IOException {
      adapters = AdapterDiscovery.discover(io, inputRoot.toUri().toString());
      discovered = adapters.get(0);
      Map<String, DiscoveredAdapter> byPath = new java.util.TreeMap<>();
      adapters.forEach(a -> byPath.put(a.relativePath(), a));
      context =
          new JobContext(
              io,
              OutputFileIO.forScheme(io, "file"),
              CodecSettings.defaults(),
              temp.resolve("out").toUri().toString(),
              "20261206T010000Z-0a1b2c3d",
              LocalDate.of(2026, 12, 6),
              byPath,
              maxReadBytes);
    }

    /** The small adapters of the input, each whole, all in one task. */
    LayerTask wholeTask() {
      List<LayerWork> whole = RunPlanner.readWhole(context.adapters(), 1L << 20);
      assertThat(whole).as("precondition: every adapter is small").hasSize(adapters.size());
      List<LayerTask> tasks = new LayerPlanner(1, 1000, Long.MAX_VALUE).plan(whole);
      assertThat(tasks).hasSize(1);
      return tasks.get(0);
    }

    /** A task's outcomes, its small adapters opened by itself (no header comes with it). */
    List<LayerOutcome> compressWhole(LayerTask task) {
      List<LayerOutcome> outcomes = new ArrayList<>();
      LayerStage.compress(
              context, PlannedTask.of(task, Map.of()), new LongAccumulator(), new LongAccumulator())
          .forEachRemaining(outcomes::add);
      return outcomes;
    }

    Path folder(DiscoveredAdapter d) {
      return Path.of(temp(d));
    }

    OpenOutcome open() {
      return OpenStage.open(context, discovered.relativePath());
    }

    OpenOutcome open(int adapter) {
      return OpenStage.open(context, adapters.get(adapter).relativePath());
    }

    DiscoveredAdapter discovered(String relativePath) {
      return context.adapter(relativePath);
    }

    List<LayerOutcome> compress(List<OpenOutcome> opened, LayerTask task) {
      Map<String, org.loraquant.peft.OpenedAdapter> byPath = new java.util.TreeMap<>();
      opened.forEach(o -> byPath.put(o.adapter(), o.openedAdapter()));
      List<LayerOutcome> outcomes = new ArrayList<>();
      LayerStage.compress(
              context, PlannedTask.of(task, byPath), new LongAccumulator(), new LongAccumulator())
          .forEachRemaining(outcomes::add);
      return outcomes;
    }

    List<LayerOutcome> compress(OpenOutcome opened, LayerTask task) {
      PlannedTask planned =
          PlannedTask.of(task, Map.of(opened.adapter(), opened.openedAdapter()));
      List<LayerOutcome> outcomes = new ArrayList<>();
      LayerStage.compress(context, planned, new LongAccumulator(), new LongAccumulator())
          .forEachRemaining(outcomes::add);
      return outcomes;
    }

    /** The job's layers are the command line's, bit for bit (timing aside). */
    void assertSameAsCompressingAlone(List<LayerOutcome> outcomes) {
      assertSameAsCompressingAlone(discovered, outcomes);
    }

    void assertSameAsCompressingAlone(DiscoveredAdapter discovered, List<LayerOutcome> outcomes) {
      PeftAdapter adapter = PeftAdapterReader.open(new LocalFileIO(), temp(discovered));
      assertThat(outcomes).hasSize(adapter.modules().size());
      for (LayerOutcome o : outcomes) {
        LoraModule module = adapter.module(o.module());
        assertThat(o.result().layer())
            .usingRecursiveComparison()
            .isEqualTo(AdapterCompressor.compressLayer(adapter, module, context.settings()).layer());
      }
    }

    private static String temp(DiscoveredAdapter d) {
      return Path.of(java.net.URI.create(d.location())).toString();
    }
  }
}
