package org.loraquant.spark.stage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
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

  private static final class Fixture {
    final HadoopFileIO io = new HadoopFileIO(new Configuration());
    final DiscoveredAdapter discovered;
    final JobContext context;

    Fixture(Path temp, long maxReadBytes) throws IOException {
      Path inputRoot = temp.resolve("in");
      new FleetGenerator(new LocalFileIO(), new FleetGenerator.Options(1, ModelShape.TINY, 8, 5))
          .generate(inputRoot.toString());
      discovered = AdapterDiscovery.discover(io, inputRoot.toUri().toString()).get(0);
      context =
          new JobContext(
              io,
              OutputFileIO.forScheme(io, "file"),
              CodecSettings.defaults(),
              temp.resolve("out").toUri().toString(),
              "20261206T010000Z-0a1b2c3d",
              LocalDate.of(2026, 12, 6),
              Map.of(discovered.relativePath(), discovered),
              maxReadBytes);
    }

    OpenOutcome open() {
      return OpenStage.open(context, discovered.relativePath());
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
