package org.loraquant.spark.stage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.loraquant.codec.CodecSettings;
import org.loraquant.compress.AdapterCompressor;
import org.loraquant.fleet.FleetGenerator;
import org.loraquant.format.CompressedAdapterWriter;
import org.loraquant.fleet.ModelShape;
import org.loraquant.hadoop.HadoopFileIO;
import org.loraquant.io.LocalFileIO;
import org.loraquant.io.OwnedFolder;
import org.loraquant.hadoop.StorageRequests;
import org.loraquant.peft.LoraModule;
import org.loraquant.peft.OpenedAdapter;
import org.loraquant.peft.PeftAdapter;
import org.loraquant.peft.PeftAdapterReader;
import org.loraquant.plan.DiscoveredAdapter;
import org.loraquant.hadoop.AdapterDiscovery;
import org.loraquant.stats.AdapterOutcome;
import org.loraquant.stats.AdapterStatus;
import org.loraquant.hadoop.OutputFileIO;

/**
 * The assembly stage without Spark: layers compressed as the layer stage does, then assembled.
 * What matters here is an adapter replaced between the layer stage and the assembly (a drop-folder
 * upload during the run): its layers and pass-through tensors could come from two versions.
 */
class AssembleStageTest {
  @TempDir Path temp;

  @Test
  void writesTheAdapterWhenItsFilesAreAsDiscovered() throws IOException {
    Fixture f = new Fixture(temp);
    List<LayerOutcome> layers = f.compressLayers();

    AdapterOutcome outcome = f.assemble(layers);

    assertThat(outcome.status()).isEqualTo(AdapterStatus.COMPRESSED);
    assertThat(outcome.message()).isNull();
    assertThat(Files.exists(f.outputFolder().resolve("loraquant_manifest.json"))).isTrue();
    // Open once: the config and header came with the plan, so assembly reads nothing of the
    // input (the adapter has no pass-through tensors) and lists its folder once, for changes.
    // Its two HEADs are the writer's, asking what the output folder holds (OwnedFolder).
    assertThat(outcome.requests().gets()).isZero();
    assertThat(outcome.requests().heads()).isEqualTo(2);
    assertThat(outcome.requests().lists()).isEqualTo(1);
    assertThat(outcome.requests().writes()).isPositive();
  }

  @Test
  void aWriterThatKnowsItsFolderFromTheRunsListingAsksTheStoreNothing() throws IOException {
    Fixture f = new Fixture(temp);
    List<LayerOutcome> layers = f.compressLayers();
    // As on an object store (in place, no staging), with the output root's listing made by the
    // driver: the folder is absent.
    JobContext known = f.withOutputFolder(OwnedFolder.Contents.ABSENT, false);

    AdapterOutcome outcome =
        AssembleStage.assemble(
            known, f.discovered.relativePath(), layers, f.opened, new LongAccumulator());

    assertThat(outcome.status()).isEqualTo(AdapterStatus.COMPRESSED);
    assertThat(f.outputFolder()).isDirectoryContaining("glob:**/loraquant_manifest.json");
    // Three files, three writes; the one listing is the input's change check.
    assertThat(outcome.requests().heads()).isZero();
    assertThat(outcome.requests().lists()).isEqualTo(1);
    assertThat(outcome.requests().writes()).isEqualTo(3);
  }

  @Test
  void aWriterReplacingItsOwnOutputInPlaceDeletesTheManifestFirst() throws IOException {
    Fixture f = new Fixture(temp);
    List<LayerOutcome> layers = f.compressLayers();
    f.assemble(layers);
    OwnedFolder.Contents before =
        OwnedFolder.inspect(f.io, f.outputFolder().toString(), CompressedAdapterWriter.LAYOUT);
    Path manifest = f.outputFolder().resolve("loraquant_manifest.json");
    Files.writeString(manifest, "{}");

    AdapterOutcome outcome =
        AssembleStage.assemble(
            f.withOutputFolder(before, false),
            f.discovered.relativePath(),
            layers,
            f.opened,
            new LongAccumulator());

    assertThat(outcome.status()).isEqualTo(AdapterStatus.COMPRESSED);
    assertThat(Files.readString(manifest)).isNotEqualTo("{}");
    assertThat(outcome.requests().heads()).isZero();
    assertThat(outcome.requests().writes()).isEqualTo(4); // the manifest's DELETE, three PUTs
  }

  @Test
  void aKnownForeignFileWithOurNameIsRefusedWithNothingWritten() throws IOException {
    Fixture f = new Fixture(temp);
    List<LayerOutcome> layers = f.compressLayers();
    Path config = Files.createDirectories(f.outputFolder()).resolve("adapter_config.json");
    Files.writeString(config, "{\"a user's\": true}");
    OwnedFolder.Contents users =
        OwnedFolder.inspect(f.io, f.outputFolder().toString(), CompressedAdapterWriter.LAYOUT);

    AdapterOutcome outcome =
        AssembleStage.assemble(
            f.withOutputFolder(users, false),
            f.discovered.relativePath(),
            layers,
            f.opened,
            new LongAccumulator());

    assertThat(outcome.status()).isEqualTo(AdapterStatus.FAILED);
    assertThat(outcome.message()).contains("not an output of compress");
    assertThat(Files.readString(config)).isEqualTo("{\"a user's\": true}");
    assertThat(outcome.requests().writes()).isZero();
  }

  @Test
  void refusesAnAdapterReplacedAfterItsLayersWereRead() throws IOException {
    Fixture f = new Fixture(temp);
    List<LayerOutcome> layers = f.compressLayers();
    // A new upload of the same size: the readers' size checks cannot see it, the listing can.
    f.touch("adapter_model.safetensors");

    AdapterOutcome outcome = f.assemble(layers);

    assertThat(outcome.status()).isEqualTo(AdapterStatus.INCOMPLETE);
    assertThat(outcome.message())
        .startsWith(f.discovered.location() + ": adapter_model.safetensors was rewritten (was ")
        .endsWith(
            " while this run was reading the adapter; nothing was written, and the next run"
                + " compresses the new version");
    assertThat(outcome.layers()).isEmpty();
    assertThat(f.outputRoot).doesNotExist();
  }

  @Test
  void refusesAnAdapterReplacedByAnotherValidVersionDuringTheRun() throws IOException {
    Fixture f = new Fixture(temp);
    List<LayerOutcome> layers = f.compressLayers();
    // A retrained version uploaded over it: every file valid, the assembly would read the new
    // one's header and pass-through tensors next to the old one's layers.
    Path other = temp.resolve("other");
    new FleetGenerator(new LocalFileIO(), new FleetGenerator.Options(1, ModelShape.TINY, 8, 6))
        .generate(other.toString());
    String otherAdapter =
        AdapterDiscovery.discover(f.io, other.toUri().toString()).get(0).relativePath();
    Path otherFolder = other.resolve(otherAdapter);
    try (Stream<Path> files = Files.list(otherFolder)) {
      for (Path file : files.toList()) {
        Path target = f.adapterFolder().resolve(file.getFileName());
        Files.copy(file, target, StandardCopyOption.REPLACE_EXISTING);
      }
    }

    AdapterOutcome outcome = f.assemble(layers);

    assertThat(outcome.status()).isEqualTo(AdapterStatus.INCOMPLETE);
    assertThat(outcome.message()).contains(" was rewritten (was ", " while this run was reading");
    assertThat(f.outputRoot).doesNotExist();
  }

  @Test
  void aFailedLayerIsReportedAsTheChangeWhenTheAdapterChanged() throws IOException {
    Fixture f = new Fixture(temp);
    List<LayerOutcome> layers = new ArrayList<>(f.compressLayers());
    LayerOutcome first = layers.get(0);
    layers.set(
        0,
        LayerOutcome.failed(
            first.adapter(),
            first.module(),
            f.discovered.location() + " no longer has module " + first.module() + " (replaced?)",
            AdapterStatus.FAILED,
            StorageRequests.NONE));

    AdapterOutcome unchanged = f.assemble(layers);
    assertThat(unchanged.status()).isEqualTo(AdapterStatus.FAILED);
    assertThat(unchanged.message()).endsWith("(replaced?)");

    f.touch("adapter_config.json");
    AdapterOutcome changed = f.assemble(layers);
    assertThat(changed.status()).isEqualTo(AdapterStatus.INCOMPLETE);
    assertThat(changed.message())
        .startsWith(f.discovered.location() + ": adapter_config.json was rewritten (was ");
    assertThat(f.outputRoot).doesNotExist();
  }

  /** One generated adapter, discovered as the driver does, and a job context for it. */
  private static final class Fixture {
    final Path inputRoot;
    final Path outputRoot;
    final HadoopFileIO io = new HadoopFileIO(new Configuration());
    final DiscoveredAdapter discovered;
    final JobContext context;
    final OpenedAdapter opened; // what the open stage read, travelling with the plan

    Fixture(Path temp) throws IOException {
      inputRoot = temp.resolve("in");
      outputRoot = temp.resolve("out");
      new FleetGenerator(new LocalFileIO(), new FleetGenerator.Options(1, ModelShape.TINY, 8, 5))
          .generate(inputRoot.toString());
      discovered = AdapterDiscovery.discover(io, inputRoot.toUri().toString()).get(0);
      String out = outputRoot.toUri().toString();
      context =
          new JobContext(
              io,
              OutputFileIO.forScheme(io, "file"),
              CodecSettings.defaults(),
              out.endsWith("/") ? out.substring(0, out.length() - 1) : out,
              "20261122T210000Z-0a1b2c3d",
              LocalDate.of(2026, 11, 22),
              Map.of(discovered.relativePath(), discovered));
      opened = OpenStage.open(context, discovered.relativePath()).openedAdapter();
    }

    Path adapterFolder() {
      return inputRoot.resolve(discovered.relativePath());
    }

    /** Moves a file's modification time a minute on, as a new upload of the same bytes would. */
    void touch(String file) throws IOException {
      Path path = adapterFolder().resolve(file);
      Files.setLastModifiedTime(
          path, FileTime.fromMillis(Files.getLastModifiedTime(path).toMillis() + 60_000));
    }

    Path outputFolder() {
      return outputRoot.resolve(discovered.relativePath());
    }

    /** The context with the output folder as the driver's listing saw it. */
    JobContext withOutputFolder(OwnedFolder.Contents contents, boolean atomicRename) {
      return new JobContext(
          context.io(),
          new OutputFileIO(context.io(), atomicRename),
          context.settings(),
          context.outputRoot(),
          context.runId(),
          context.runDate(),
          context.adapters(),
          context.maxReadBytes(),
          context.budget(),
          Map.of(discovered.relativePath(), contents),
          context.readAheadBytes(),
          context.storageThreads());
    }

    List<LayerOutcome> compressLayers() {
      PeftAdapter adapter = PeftAdapterReader.open(io, discovered.location());
      List<LayerOutcome> layers = new ArrayList<>();
      for (LoraModule module : adapter.modules()) {
        layers.add(
            LayerOutcome.paper(
                discovered.relativePath(),
                module.module(),
                AdapterCompressor.compressLayer(adapter, module, context.settings()),
                StorageRequests.NONE));
      }
      assertThat(layers).isNotEmpty();
      return layers;
    }

    AdapterOutcome assemble(List<LayerOutcome> layers) throws IOException {
      LongAccumulator done = new LongAccumulator();
      AdapterOutcome outcome =
          AssembleStage.assemble(context, discovered.relativePath(), layers, opened, done);
      assertThat(done.value()).isEqualTo(1);
      try (Stream<Path> inputs = Files.list(adapterFolder())) {
        assertThat(inputs.count()).isPositive(); // the input is never touched
      }
      return outcome;
    }
  }
}
